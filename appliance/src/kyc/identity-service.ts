// Identity checks inside a live session (R5, R6, R23): the teller asks the customer's browser for stills (ID front,
// ID back, live face frames, liveness key frames), the customer's browser takes them from its own camera track and
// sends them over its authenticated channel, and the appliance checks, stores (encrypted), compares and audits them.
// Completed identity steps become markers of the case's script through completeStep.
import { createHash, randomInt, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Queryable } from '../db/database.js';
import { normalizeResidentId } from '../domain/customer-identity.js';
import { CHALLENGE_KINDS, FaceImageError, type BuiltinFaceEngine, type ChallengeKind, type FaceEngine, type IdNumberReader, type LivenessChecker } from '../face/index.js';
import type { AuditWrite } from '../services/audited-transaction.js';
import { DomainError } from '../domain/errors.js';
import type { PiiCipher } from '../lib/pii-cipher.js';
import type { ServerMessage } from '../media/protocol.js';
import { caseRepository } from '../repositories/case.repository.js';
import type { CallSessionRow } from '../repositories/call-session.repository.js';
import { inspectStill, StillError, type StillInfo } from './identity-image.js';
import { identityRepository as repo, type CapturePurpose, type CaptureRequestRow, type FaceCheckRow, type StillRow } from './identity-repository.js';
import type { StepKind } from './kyc-api-types.js';
import { completableStep, completeStep, scriptOf, type StepActor } from './steps.js';

/** Frames the customer's browser takes for each kind of request. */
export const FRAMES_PER_PURPOSE: Record<CapturePurpose, number> = { 'id-front': 1, 'id-back': 1, face: 5, liveness: 6 };

const STEP_OF_PURPOSE: Record<Exclude<CapturePurpose, 'liveness'>, StepKind> = { 'id-front': 'id-capture', 'id-back': 'id-capture', face: 'face-match' };

const SYSTEM: StepActor = { party: 'system', username: 'system' };

/** Refusals of an image (ours and the engines') and the API error each becomes. */
const IMAGE_ERRORS = {
  KYC_ERR_IMAGE_INVALID: 'IMAGE_INVALID',
  KYC_ERR_NO_FACE: 'NO_FACE',
  KYC_ERR_MULTIPLE_FACES: 'MULTIPLE_FACES',
  KYC_ERR_IMAGE_TOO_LARGE: 'IMAGE_TOO_LARGE',
} as const;

/** A still or an engine refusal as the API error (400/413 with its code); anything else is rethrown. */
export function imageError(err: unknown): never {
  const code = (err as { code?: unknown }).code;
  if ((err instanceof StillError || err instanceof FaceImageError) && typeof code === 'string' && code in IMAGE_ERRORS) {
    throw new DomainError(IMAGE_ERRORS[code as keyof typeof IMAGE_ERRORS], err.message);
  }
  throw err;
}

export interface IdentityDeps {
  pii: PiiCipher;
  /** the configured engine (built-in or the institution's hook): ID photo against live frames */
  face: FaceEngine;
  /** always the local model: the ID front must show exactly one face before it is stored */
  faceFinder: Pick<BuiltinFaceEngine, 'describe'>;
  liveness: LivenessChecker;
  idReader: IdNumberReader;
  /** the kinds liveness draws from (KYC_LIVENESS_CHALLENGES); all by default */
  challengeKinds?: readonly ChallengeKind[];
  /** random integer in [0, max): crypto by default */
  rand?: (max: number) => number;
}

export interface ChallengeSpec {
  kind: ChallengeKind;
  digits: string | null;
}

/** Picks 2–3 different challenges of the allowed kinds in random order (R6: two sessions get different sequences). */
export function pickChallenges(kinds: readonly ChallengeKind[] = CHALLENGE_KINDS, rand: (max: number) => number = randomInt): ChallengeSpec[] {
  const pool = [...new Set(kinds)];
  const count = Math.min(pool.length, 2 + rand(2));
  const out: ChallengeSpec[] = [];
  for (let i = 0; i < count; i++) {
    const [kind] = pool.splice(rand(pool.length), 1) as [ChallengeKind];
    let digits: string | null = null;
    if (kind === 'read-digits') {
      const n = 4 + rand(3);
      digits = String(1 + rand(9));
      while (digits.length < n) digits += String(rand(10));
    }
    out.push({ kind, digits });
  }
  return out;
}

/** The effective decision of a face check: an officer's override wins over the engine's decision. */
export function effectiveDecision(f: Pick<FaceCheckRow, 'decision' | 'override_decision'>): 'match' | 'review' | 'no_match' {
  return f.override_decision ?? f.decision;
}

const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

export function captureMessage(r: CaptureRequestRow, challenge?: { kind: ChallengeKind; digits: string | null; position: number; of: number }): ServerMessage {
  return {
    type: 'capture-request',
    requestId: r.id,
    purpose: r.purpose,
    frames: r.frames,
    ...(challenge ? { challenge: { kind: challenge.kind, position: challenge.position, of: challenge.of, ...(challenge.digits ? { digits: challenge.digits } : {}) } } : {}),
  };
}

/** The camera steps (ID stills, face, liveness) need the customer's camera: a voice-only or text-only session has none. */
function refuseWithoutVideo(session: CallSessionRow): void {
  if (session.media_mode !== 'video') {
    throw new DomainError('NO_CUSTOMER_VIDEO', `The customer takes part by ${session.media_mode === 'audio' ? 'voice' : 'text'} only: there is no camera to capture from.`);
  }
}

export class IdentityService {
  readonly #rand: (max: number) => number;

  constructor(private readonly deps: IdentityDeps) {
    this.#rand = deps.rand ?? randomInt;
  }

  /** The first script step of a kind in the case's product version (null for a case without a script or that step). */
  async #stepOf(db: Queryable, caseId: string, kind: StepKind): Promise<string | null> {
    const script = await scriptOf(db, caseId);
    return script?.steps.find((s) => s.kind === kind)?.id ?? null;
  }

  /** Refuses starting an identity step whose earlier required steps are not done (the script's order). */
  async #checkOrder(client: Queryable, caseId: string, kind: StepKind): Promise<void> {
    const stepId = await this.#stepOf(client, caseId, kind);
    if (stepId) await completableStep(client, caseId, stepId);
  }

  async #decrypt(still: StillRow, db: Queryable): Promise<Buffer> {
    const enc = await repo.stillContent(db, still.id);
    // the row exists (the caller found it): no content means it was shredded
    if (!enc) throw new DomainError('SHREDDED');
    return this.deps.pii.decryptBytes(still.id, 'identity_still', enc);
  }

  /** A still's image for display (the caller checked who may see it and audits the view). */
  async stillImage(db: Queryable, id: string): Promise<{ still: StillRow; content: Buffer }> {
    const still = await repo.findStill(db, id);
    if (!still) throw new DomainError('NOT_FOUND', 'No such still.');
    return { still, content: await this.#decrypt(still, db) };
  }

  // ---- the teller asks ----------------------------------------------------------------------------------

  /** The teller asks the customer's browser for an ID side or live face frames. Send `message` after commit. */
  async requestCapture(
    client: pg.PoolClient,
    audit: AuditWrite,
    session: CallSessionRow,
    teller: string,
    purpose: Exclude<CapturePurpose, 'liveness'>,
  ): Promise<{ request: CaptureRequestRow; message: ServerMessage }> {
    if (session.state !== 'live') throw new DomainError('SESSION_NOT_LIVE', 'Stills can only be taken during the live session.');
    refuseWithoutVideo(session);
    await this.#checkOrder(client, session.case_id, STEP_OF_PURPOSE[purpose]);
    if (purpose === 'face' && !(await repo.latestSide(client, session.case_id, 'id-front')).accepted) {
      throw new DomainError('CONFLICT', 'Accept a still of the ID front first: the face on it is the reference.');
    }
    await this.#supersede(client, audit, session);
    const request = await repo.insertRequest(client, {
      id: randomUUID(),
      caseId: session.case_id,
      sessionId: session.id,
      purpose,
      frames: FRAMES_PER_PURPOSE[purpose],
      requestedBy: teller,
    });
    await audit({ action: 'kyc.capture.requested', object: { type: 'case', id: session.case_id }, details: { sessionId: session.id, requestId: request.id, purpose } });
    return { request, message: captureMessage(request) };
  }

  /** Starts a liveness check: 2–3 random challenges, asked one after the other. Send `message` after commit. */
  async startLiveness(
    client: pg.PoolClient,
    audit: AuditWrite,
    session: CallSessionRow,
    teller: string,
  ): Promise<{ livenessId: string; challenges: ChallengeSpec[]; message: ServerMessage }> {
    if (session.state !== 'live') throw new DomainError('SESSION_NOT_LIVE', 'Liveness can only be checked during the live session.');
    refuseWithoutVideo(session);
    await this.#checkOrder(client, session.case_id, 'liveness');
    const face = await repo.latestFaceCheck(client, session.case_id);
    if (!face || effectiveDecision(face) !== 'match' || !face.probe_id) {
      throw new DomainError('CONFLICT', 'Run the face match first: the liveness frames must show the face that was matched.');
    }
    await this.#supersede(client, audit, session);
    const challenges = pickChallenges(this.deps.challengeKinds, this.#rand);
    const livenessId = randomUUID();
    await repo.insertLiveness(client, { id: livenessId, caseId: session.case_id, sessionId: session.id, referenceId: face.probe_id, requestedBy: teller, challenges });
    const first = await repo.insertRequest(client, {
      id: randomUUID(),
      caseId: session.case_id,
      sessionId: session.id,
      purpose: 'liveness',
      frames: FRAMES_PER_PURPOSE.liveness,
      requestedBy: teller,
      livenessId,
      challengePos: 0,
    });
    await audit({
      action: 'kyc.liveness.started',
      object: { type: 'case', id: session.case_id },
      details: { sessionId: session.id, livenessId, challenges: challenges.map((c) => c.kind).join(','), faceCheckId: face.id },
    });
    const c0 = challenges[0] as ChallengeSpec;
    return { livenessId, challenges, message: captureMessage(first, { ...c0, position: 0, of: challenges.length }) };
  }

  // ---- the customer's browser answers --------------------------------------------------------------------

  /** What the customer's browser is asked for now (after a reload or a missed message). */
  async pending(db: Queryable, session: CallSessionRow): Promise<ServerMessage | null> {
    const r = await repo.pendingRequest(db, { sessionId: session.id });
    if (!r) return null;
    if (r.purpose !== 'liveness' || !r.liveness_id || r.challenge_pos === null) return captureMessage(r);
    const all = await repo.challenges(db, r.liveness_id);
    const c = all[r.challenge_pos];
    return c ? captureMessage(r, { kind: c.kind as ChallengeKind, digits: c.digits, position: c.position, of: all.length }) : null;
  }

  /**
   * Checks the frames of an answer before anything is stored: images (type, size, dimensions), and what the engines
   * say about them. Runs outside any transaction (the engines take a while); `store` then writes in one.
   */
  async evaluate(db: Queryable, session: CallSessionRow, requestId: string, frames: Buffer[]): Promise<Evaluated> {
    const request = await repo.findRequest(db, requestId);
    if (!request || request.session_id !== session.id) throw new DomainError('NOT_FOUND', 'No such capture request.');
    if (request.status !== 'pending') throw new DomainError('CONFLICT', 'This capture request was already answered or replaced.');
    if (frames.length === 0) throw new DomainError('VALIDATION', 'No image in the request.', [{ field: 'frame', code: 'required' }]);
    if (frames.length > request.frames) throw new DomainError('VALIDATION', `At most ${request.frames} images were asked for.`, [{ field: 'frame', code: 'maxItems' }]);
    let infos: StillInfo[];
    try {
      infos = frames.map((f) => inspectStill(f));
    } catch (err) {
      imageError(err);
    }
    const base = { request, frames, infos };
    const opts = { requestId: request.id, caseId: session.case_id };
    try {
      switch (request.purpose) {
        case 'id-front': {
          const front = frames[0] as Buffer;
          // exactly one face on the card (the engine refuses none or several), then the number printed on it
          const faces = await this.deps.faceFinder.describe(front, 'reference');
          const read = await this.deps.idReader.read(front);
          return { ...base, kind: 'id-front', facesOnCard: faces.count, read };
        }
        case 'id-back':
          return { ...base, kind: 'id-back' };
        case 'face': {
          const reference = (await repo.latestSide(db, session.case_id, 'id-front')).accepted;
          if (!reference) throw new DomainError('CONFLICT', 'The ID front was not accepted.');
          const result = await this.deps.face.compareBest(await this.#decrypt(reference, db), frames, opts);
          return { ...base, kind: 'face', reference, result };
        }
        case 'liveness': {
          if (!request.liveness_id || request.challenge_pos === null) throw new Error('liveness request without its check');
          const check = (await repo.latestLiveness(db, session.case_id)) ?? null;
          if (!check || check.id !== request.liveness_id || check.status !== 'running') throw new DomainError('CONFLICT', 'This liveness check is over.');
          const challenge = (await repo.challenges(db, check.id))[request.challenge_pos];
          if (!challenge) throw new Error('liveness request names no challenge');
          const reference = await repo.findStill(db, check.reference_id);
          if (!reference) throw new Error('liveness reference missing');
          const result = await this.deps.liveness.checkChallenge(challenge.kind as ChallengeKind, frames, await this.#decrypt(reference, db));
          return { ...base, kind: 'liveness', livenessId: check.id, position: challenge.position, challenge: challenge.kind as ChallengeKind, result };
        }
      }
    } catch (err) {
      imageError(err);
    }
  }

  /** Stores an evaluated answer, its audit events and the step markers it completes, in the caller's transaction. */
  async store(client: pg.PoolClient, audit: AuditWrite, session: CallSessionRow, e: Evaluated): Promise<{ result: CaptureResult; followUp: ServerMessage | null }> {
    const locked = await repo.findRequestForUpdate(client, e.request.id);
    if (!locked || locked.status !== 'pending') throw new DomainError('CONFLICT', 'This capture request was already answered or replaced.');
    await repo.fulfilRequest(client, locked.id);
    const stills: StillRow[] = [];
    for (const [i, frame] of e.frames.entries()) {
      const info = e.infos[i] as StillInfo;
      const id = randomUUID();
      stills.push(
        await repo.insertStill(client, {
          id,
          case_id: session.case_id,
          session_id: session.id,
          request_id: locked.id,
          kind: locked.purpose,
          frame_index: i,
          media_type: info.mediaType,
          width: info.width,
          height: info.height,
          size: frame.length,
          sha256: sha256(frame),
          contentEnc: this.deps.pii.encryptForCase(session.case_id, id, 'identity_still', frame),
        }),
      );
    }
    const caseRef = { type: 'case', id: session.case_id };
    const first = stills[0] as StillRow;
    await audit({
      action: 'kyc.capture.received',
      object: caseRef,
      details: {
        sessionId: session.id,
        requestId: locked.id,
        purpose: locked.purpose,
        frames: stills.length,
        stillIds: stills.map((s) => s.id).join(','),
        sha256: stills.map((s) => s.sha256.toString('hex')).join(','),
        width: first.width,
        height: first.height,
      },
    });

    switch (e.kind) {
      case 'id-front': {
        const c = await caseRepository.findById(client, session.case_id);
        if (!c) throw new DomainError('NOT_FOUND', 'No such case.');
        if (!c.customer_id_enc) throw new DomainError('SHREDDED');
        const expected = normalizeResidentId(this.deps.pii.decrypt(c.id, 'customer_id', c.customer_id_enc));
        const number = e.read.idNumber ? normalizeResidentId(e.read.idNumber) : null;
        const matches = number !== null && e.read.checksumValid && number === expected;
        const checkId = randomUUID();
        await repo.insertIdNumberCheck(client, {
          id: checkId,
          case_id: c.id,
          still_id: first.id,
          id_number_enc: number ? this.deps.pii.encryptForCase(c.id, checkId, 'ocr_id_number', number) : null,
          checksum_valid: e.read.checksumValid,
          matches,
        });
        // The number itself stays out of the log; whether it was read, valid and the same does not.
        await audit({ action: 'kyc.ocr.checked', object: caseRef, details: { stillId: first.id, read: number !== null, checksumValid: e.read.checksumValid, matches } });
        return { result: { kind: 'id-front', stillIds: [first.id], idNumberMatches: matches }, followUp: null };
      }
      case 'id-back':
        return { result: { kind: 'id-back', stillIds: [first.id] }, followUp: null };
      case 'face': {
        const r = e.result;
        const best = stills[r.probeIndex] ?? null;
        const check = await repo.insertFaceCheck(client, {
          id: randomUUID(),
          case_id: session.case_id,
          session_id: session.id,
          reference_id: e.reference.id,
          probe_id: best?.id ?? null,
          probe_count: stills.length,
          score: r.score,
          decision: r.decision,
          engine: r.engine,
          model_version: r.modelVersion,
          threshold_match: r.thresholds.match,
          threshold_review: r.thresholds.review,
          faces_reference: r.faces.reference,
          faces_probe: r.faces.probe,
        });
        await audit({
          action: 'kyc.face.compared',
          object: caseRef,
          details: {
            faceCheckId: check.id,
            score: r.score,
            decision: r.decision,
            engine: r.engine,
            modelVersion: r.modelVersion,
            thresholdMatch: r.thresholds.match,
            thresholdReview: r.thresholds.review,
            probeStillId: best?.id ?? null,
            referenceStillId: e.reference.id,
          },
        });
        if (r.decision === 'match') await this.#complete(client, audit, session.case_id, 'face-match', SYSTEM, { faceCheckId: check.id, score: r.score, decision: r.decision });
        return { result: { kind: 'face', stillIds: stills.map((s) => s.id), faceCheckId: check.id, score: r.score, decision: r.decision }, followUp: null };
      }
      case 'liveness': {
        const r = e.result;
        // "no face" never passes; neither does a frame of another face than the one matched
        const passed = r.passed && r.sameFace !== false;
        const reason = r.passed && r.sameFace === false ? 'not the face that was matched' : (r.reason ?? null);
        await repo.answerChallenge(client, { livenessId: e.livenessId, position: e.position, passed, reason, sameFace: r.sameFace, measurements: r.measurements, frames: stills.length });
        await audit({
          action: 'kyc.liveness.challenge',
          object: caseRef,
          details: { livenessId: e.livenessId, position: e.position, challenge: e.challenge, passed, sameFace: r.sameFace, reason, stillIds: stills.map((s) => s.id).join(',') },
        });
        // each challenge is a marker in the recording: an attempt of the liveness step
        await this.#complete(client, audit, session.case_id, 'liveness', SYSTEM, { livenessId: e.livenessId, challenge: e.challenge, position: e.position, passed });
        const all = await repo.challenges(client, e.livenessId);
        const next = all.find((c) => c.answered_at === null);
        if (next && passed) {
          const req = await repo.insertRequest(client, {
            id: randomUUID(),
            caseId: session.case_id,
            sessionId: session.id,
            purpose: 'liveness',
            frames: FRAMES_PER_PURPOSE.liveness,
            requestedBy: locked.requested_by,
            livenessId: e.livenessId,
            challengePos: next.position,
          });
          return {
            result: { kind: 'liveness', stillIds: stills.map((s) => s.id), livenessId: e.livenessId, challenge: e.challenge, passed, finished: null },
            followUp: captureMessage(req, { kind: next.kind as ChallengeKind, digits: next.digits, position: next.position, of: all.length }),
          };
        }
        const status = passed && !next ? 'passed' : 'failed';
        await repo.finishLiveness(client, e.livenessId, status);
        await audit({ action: 'kyc.liveness.finished', object: caseRef, details: { livenessId: e.livenessId, passed: status === 'passed', challenges: all.length } });
        return { result: { kind: 'liveness', stillIds: stills.map((s) => s.id), livenessId: e.livenessId, challenge: e.challenge, passed, finished: status }, followUp: null };
      }
    }
  }

  // ---- the teller decides --------------------------------------------------------------------------------

  /** The teller accepts a still of an ID side or asks for another; accepting both sides completes the id-capture step. */
  async decideStill(client: pg.PoolClient, audit: AuditWrite, teller: string, stillId: string, decision: 'accepted' | 'retake'): Promise<StillRow> {
    const still = await repo.findStillForUpdate(client, stillId);
    if (!still || (still.kind !== 'id-front' && still.kind !== 'id-back')) throw new DomainError('NOT_FOUND', 'No such still.');
    const c = await caseRepository.findById(client, still.case_id);
    if (!c || c.teller !== teller) throw new DomainError('NOT_FOUND', 'No such still.');
    if (still.decision !== null) throw new DomainError('CONFLICT', 'This still was already decided; take a new one.');
    const latest = (await repo.latestSide(client, still.case_id, still.kind)).latest;
    if (latest?.id !== still.id) throw new DomainError('CONFLICT', 'A newer still of this side exists.');
    const row = await repo.decideStill(client, still.id, decision, teller);
    await audit({
      action: decision === 'accepted' ? 'kyc.id.accepted' : 'kyc.id.retake',
      object: { type: 'case', id: still.case_id },
      details: { stillId: still.id, side: still.kind, sha256: still.sha256.toString('hex') },
    });
    if (decision === 'accepted') {
      const front = still.kind === 'id-front' ? row : (await repo.latestSide(client, still.case_id, 'id-front')).accepted;
      const back = still.kind === 'id-back' ? row : (await repo.latestSide(client, still.case_id, 'id-back')).accepted;
      if (front && back) {
        await this.#complete(client, audit, still.case_id, 'id-capture', { party: 'teller', username: teller }, { front: front.sha256.toString('hex'), back: back.sha256.toString('hex') });
      }
    }
    return row;
  }

  /** An officer overrides the engine's face decision with a reason; an override to "match" completes the step. */
  async overrideFace(client: pg.PoolClient, audit: AuditWrite, teller: string, faceCheckId: string, decision: 'match' | 'no_match', reason: string): Promise<FaceCheckRow> {
    const check = await repo.findFaceCheckForUpdate(client, faceCheckId);
    const c = check ? await caseRepository.findById(client, check.case_id) : null;
    if (!check || !c || c.teller !== teller) throw new DomainError('NOT_FOUND', 'No such face check.');
    if (check.override_decision !== null) throw new DomainError('CONFLICT', 'This face check was already overridden.');
    const latest = await repo.latestFaceCheck(client, check.case_id);
    if (latest?.id !== check.id) throw new DomainError('CONFLICT', 'A newer face check exists.');
    if (check.decision === decision) throw new DomainError('CONFLICT', `The engine already decided "${decision}".`);
    const row = await repo.overrideFaceCheck(client, check.id, { decision, reason, by: teller });
    await audit({
      action: 'kyc.face.override',
      object: { type: 'case', id: check.case_id },
      reason,
      details: { faceCheckId: check.id, engineDecision: check.decision, decision, score: check.score },
    });
    if (decision === 'match') await this.#complete(client, audit, check.case_id, 'face-match', { party: 'teller', username: teller }, { override: true, faceCheckId: check.id, reason });
    return row;
  }

  /** What the customer's browser was asked and has not answered is replaced; a liveness check under way fails. */
  async #supersede(client: pg.PoolClient, audit: AuditWrite, session: CallSessionRow): Promise<void> {
    await repo.supersedePending(client, session.id);
    for (const livenessId of await repo.abandonRunningLiveness(client, session.id)) {
      await audit({ action: 'kyc.liveness.finished', object: { type: 'case', id: session.case_id }, details: { livenessId, passed: false, abandoned: true } });
    }
  }

  async #complete(client: pg.PoolClient, audit: AuditWrite, caseId: string, kind: StepKind, actor: StepActor, result: Record<string, unknown>): Promise<void> {
    const stepId = await this.#stepOf(client, caseId, kind);
    if (stepId) await completeStep(client, { caseId, stepId, actor, audit, result });
  }
}

interface EvaluatedBase {
  request: CaptureRequestRow;
  frames: Buffer[];
  infos: StillInfo[];
}

export type Evaluated = EvaluatedBase &
  (
    | { kind: 'id-front'; facesOnCard: number; read: { idNumber: string | null; checksumValid: boolean } }
    | { kind: 'id-back' }
    | { kind: 'face'; reference: StillRow; result: Awaited<ReturnType<FaceEngine['compareBest']>> }
    | { kind: 'liveness'; livenessId: string; position: number; challenge: ChallengeKind; result: Awaited<ReturnType<LivenessChecker['checkChallenge']>> }
  );

export type CaptureResult =
  | { kind: 'id-front'; stillIds: string[]; idNumberMatches: boolean }
  | { kind: 'id-back'; stillIds: string[] }
  | { kind: 'face'; stillIds: string[]; faceCheckId: string; score: number; decision: 'match' | 'review' | 'no_match' }
  | { kind: 'liveness'; stillIds: string[]; livenessId: string; challenge: ChallengeKind; passed: boolean; finished: 'passed' | 'failed' | null };
