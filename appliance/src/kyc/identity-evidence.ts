import type { Queryable } from '../db/database.js';
import type { FaceCheckView, IdentityDetailView, IdentityStillView, LivenessView } from './identity-api-types.js';
import { identityRepository as repo, type FaceCheckRow, type StillRow } from './identity-repository.js';
import type { IdentityEvidenceView } from './kyc-api-types.js';

export type IdentityEvidence = IdentityEvidenceView;

function stillView(s: StillRow | null): IdentityStillView | null {
  if (!s || (s.kind !== 'id-front' && s.kind !== 'id-back')) return null;
  return {
    id: s.id,
    side: s.kind,
    sha256: s.sha256.toString('hex'),
    width: s.width,
    height: s.height,
    at: s.created_at.toISOString(),
    decision: s.decision,
    decidedBy: s.decided_by,
  };
}

function faceView(f: FaceCheckRow | null): FaceCheckView | null {
  if (!f) return null;
  return {
    id: f.id,
    score: f.score,
    decision: f.decision,
    effectiveDecision: f.override_decision ?? f.decision,
    engine: f.engine,
    modelVersion: f.model_version,
    thresholds: { match: f.threshold_match, review: f.threshold_review },
    referenceStillId: f.reference_id,
    probeStillId: f.probe_id,
    probeCount: f.probe_count,
    override:
      f.override_decision && f.override_reason && f.override_by && f.override_at
        ? { decision: f.override_decision, reason: f.override_reason, by: f.override_by, at: f.override_at.toISOString() }
        : null,
    at: f.created_at.toISOString(),
  };
}

/** Everything the teller's console and the auditor's review show about a case's identity checks. */
export async function loadIdentityDetail(db: Queryable, caseId: string): Promise<IdentityDetailView> {
  const front = await repo.latestSide(db, caseId, 'id-front');
  const back = await repo.latestSide(db, caseId, 'id-back');
  const ocrRow = await repo.latestIdNumberCheck(db, caseId, front.accepted?.id);
  const liveRow = await repo.latestLiveness(db, caseId);
  let liveness: LivenessView | null = null;
  if (liveRow) {
    const challenges = await repo.challenges(db, liveRow.id);
    liveness = {
      id: liveRow.id,
      status: liveRow.status,
      challenges: challenges.map((c) => ({
        kind: c.kind as LivenessView['challenges'][number]['kind'],
        digits: c.digits,
        passed: c.passed,
        reason: c.reason,
        sameFace: c.same_face,
        answeredAt: c.answered_at?.toISOString() ?? null,
      })),
      at: liveRow.created_at.toISOString(),
      finishedAt: liveRow.finished_at?.toISOString() ?? null,
    };
  }
  const pendingRow = await repo.pendingRequest(db, { caseId });
  return {
    sides: {
      'id-front': { latest: stillView(front.latest), accepted: stillView(front.accepted) },
      'id-back': { latest: stillView(back.latest), accepted: stillView(back.accepted) },
    },
    ocr: ocrRow ? { stillId: ocrRow.still_id, read: ocrRow.id_number_enc !== null, checksumValid: ocrRow.checksum_valid, idNumberMatches: ocrRow.matches } : null,
    faceCheck: faceView(await repo.latestFaceCheck(db, caseId)),
    liveness,
    pending: pendingRow ? { requestId: pendingRow.id, purpose: pendingRow.purpose, at: pendingRow.created_at.toISOString() } : null,
  };
}

/**
 * The identity evidence of a case (ID document stills, face match, liveness, OCR cross-check) as the case's KYC
 * view and the completion gate read it: only accepted ID stills count; the face match is the latest comparison with
 * the engine's decision (an officer's override is a step attempt with `result.override`); liveness is the latest
 * check, passed only when every challenge passed.
 */
export async function loadIdentityEvidence(client: Queryable, caseId: string): Promise<IdentityEvidence> {
  const d = await loadIdentityDetail(client, caseId);
  const side = (s: IdentityStillView | null) => (s ? { fileId: s.id, sha256: s.sha256 } : null);
  return {
    idDocument: { front: side(d.sides['id-front'].accepted), back: side(d.sides['id-back'].accepted) },
    faceMatch: d.faceCheck ? { score: d.faceCheck.score, decision: d.faceCheck.decision, engine: d.faceCheck.engine, threshold: d.faceCheck.thresholds.match } : null,
    liveness: d.liveness ? { challenges: d.liveness.challenges.map((c) => ({ kind: c.kind, passed: c.passed === true })), passed: d.liveness.status === 'passed' } : null,
    ocr: d.ocr && d.sides['id-front'].accepted?.id === d.ocr.stillId ? { idNumberMatches: d.ocr.idNumberMatches } : null,
  };
}
