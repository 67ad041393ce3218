// SQL of the identity evidence (migration 0009). Images and the number read from a card arrive here encrypted.
import type { Queryable } from '../db/database.js';

export const CAPTURE_PURPOSES = ['id-front', 'id-back', 'face', 'liveness'] as const;
export type CapturePurpose = (typeof CAPTURE_PURPOSES)[number];

export interface CaptureRequestRow {
  id: string;
  case_id: string;
  session_id: string;
  purpose: CapturePurpose;
  liveness_id: string | null;
  challenge_pos: number | null;
  frames: number;
  requested_by: string;
  status: 'pending' | 'fulfilled' | 'superseded';
  created_at: Date;
  fulfilled_at: Date | null;
}

export interface StillRow {
  id: string;
  case_id: string;
  session_id: string;
  request_id: string;
  kind: CapturePurpose;
  frame_index: number;
  media_type: string;
  width: number;
  height: number;
  size: number;
  sha256: Buffer;
  decision: 'accepted' | 'retake' | null;
  decided_by: string | null;
  decided_at: Date | null;
  created_at: Date;
}

export interface SessionStillRow extends Pick<StillRow, 'id' | 'kind' | 'frame_index' | 'media_type' | 'width' | 'height' | 'size' | 'sha256' | 'decision' | 'created_at'> {
  liveness_id: string | null;
  challenge_pos: number | null;
  face_reference: boolean;
  face_probe: boolean;
}

export interface FaceCheckRow {
  id: string;
  case_id: string;
  session_id: string;
  reference_id: string;
  probe_id: string | null;
  probe_count: number;
  score: number;
  decision: 'match' | 'review' | 'no_match';
  engine: string;
  model_version: string;
  threshold_match: number;
  threshold_review: number;
  faces_reference: number;
  faces_probe: number;
  override_decision: 'match' | 'no_match' | null;
  override_reason: string | null;
  override_by: string | null;
  override_at: Date | null;
  created_at: Date;
}

export interface LivenessCheckRow {
  id: string;
  case_id: string;
  session_id: string;
  reference_id: string;
  requested_by: string;
  status: 'running' | 'passed' | 'failed';
  created_at: Date;
  finished_at: Date | null;
}

export interface LivenessChallengeRow {
  liveness_id: string;
  position: number;
  kind: string;
  digits: string | null;
  passed: boolean | null;
  reason: string | null;
  same_face: boolean | null;
  measurements: Record<string, number> | null;
  frames: number | null;
  answered_at: Date | null;
}

export interface IdNumberCheckRow {
  id: string;
  case_id: string;
  still_id: string;
  id_number_enc: Buffer | null;
  checksum_valid: boolean;
  matches: boolean;
  created_at: Date;
}

const REQUEST_COLUMNS = 'id, case_id, session_id, purpose, liveness_id, challenge_pos, frames, requested_by, status, created_at, fulfilled_at';
const STILL_COLUMNS = 'id, case_id, session_id, request_id, kind, frame_index, media_type, width, height, size, sha256, decision, decided_by, decided_at, created_at';
const FACE_COLUMNS =
  'id, case_id, session_id, reference_id, probe_id, probe_count, score, decision, engine, model_version, threshold_match, threshold_review, faces_reference, faces_probe, override_decision, override_reason, override_by, override_at, created_at';
const LIVENESS_COLUMNS = 'id, case_id, session_id, reference_id, requested_by, status, created_at, finished_at';

function one<T>(rows: T[]): T {
  const row = rows[0];
  if (!row) throw new Error('statement returned no row');
  return row;
}

export const identityRepository = {
  // ---- capture requests ----------------------------------------------------------------------------------

  async insertRequest(
    db: Queryable,
    r: { id: string; caseId: string; sessionId: string; purpose: CapturePurpose; frames: number; requestedBy: string; livenessId?: string; challengePos?: number },
  ): Promise<CaptureRequestRow> {
    const res = await db.query<CaptureRequestRow>(
      `INSERT INTO identity_capture_requests (id, case_id, session_id, purpose, liveness_id, challenge_pos, frames, requested_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${REQUEST_COLUMNS}`,
      [r.id, r.caseId, r.sessionId, r.purpose, r.livenessId ?? null, r.challengePos ?? null, r.frames, r.requestedBy],
    );
    return one(res.rows);
  },

  /** An open request of the session is replaced by a newer one (the teller asked again). */
  async supersedePending(db: Queryable, sessionId: string): Promise<number> {
    const r = await db.query(`UPDATE identity_capture_requests SET status = 'superseded' WHERE session_id = $1 AND status = 'pending'`, [sessionId]);
    return r.rowCount ?? 0;
  },

  async findRequestForUpdate(db: Queryable, id: string): Promise<CaptureRequestRow | null> {
    return (await db.query<CaptureRequestRow>(`SELECT ${REQUEST_COLUMNS} FROM identity_capture_requests WHERE id = $1 FOR UPDATE`, [id])).rows[0] ?? null;
  },

  async findRequest(db: Queryable, id: string): Promise<CaptureRequestRow | null> {
    return (await db.query<CaptureRequestRow>(`SELECT ${REQUEST_COLUMNS} FROM identity_capture_requests WHERE id = $1`, [id])).rows[0] ?? null;
  },

  /** The open request of a session, or of any session of a case. */
  async pendingRequest(db: Queryable, of: { sessionId: string } | { caseId: string }): Promise<CaptureRequestRow | null> {
    const [column, id] = 'sessionId' in of ? ['session_id', of.sessionId] : ['case_id', of.caseId];
    return (
      (await db.query<CaptureRequestRow>(`SELECT ${REQUEST_COLUMNS} FROM identity_capture_requests WHERE ${column} = $1 AND status = 'pending' ORDER BY created_at DESC LIMIT 1`, [id]))
        .rows[0] ?? null
    );
  },

  async fulfilRequest(db: Queryable, id: string): Promise<void> {
    await db.query(`UPDATE identity_capture_requests SET status = 'fulfilled', fulfilled_at = now() WHERE id = $1`, [id]);
  },

  // ---- stills --------------------------------------------------------------------------------------------

  async insertStill(db: Queryable, s: Omit<StillRow, 'decision' | 'decided_by' | 'decided_at' | 'created_at'> & { contentEnc: Buffer }): Promise<StillRow> {
    const res = await db.query<StillRow>(
      `INSERT INTO identity_stills (id, case_id, session_id, request_id, kind, frame_index, media_type, width, height, size, sha256, content_enc)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ${STILL_COLUMNS}`,
      [s.id, s.case_id, s.session_id, s.request_id, s.kind, s.frame_index, s.media_type, s.width, s.height, s.size, s.sha256, s.contentEnc],
    );
    return one(res.rows);
  },

  async findStill(db: Queryable, id: string): Promise<StillRow | null> {
    return (await db.query<StillRow>(`SELECT ${STILL_COLUMNS} FROM identity_stills WHERE id = $1`, [id])).rows[0] ?? null;
  },

  async findStillForUpdate(db: Queryable, id: string): Promise<StillRow | null> {
    return (await db.query<StillRow>(`SELECT ${STILL_COLUMNS} FROM identity_stills WHERE id = $1 FOR UPDATE`, [id])).rows[0] ?? null;
  },

  async stillContent(db: Queryable, id: string): Promise<Buffer | null> {
    return (await db.query<{ content_enc: Buffer }>(`SELECT content_enc FROM identity_stills WHERE id = $1`, [id])).rows[0]?.content_enc ?? null;
  },

  async decideStill(db: Queryable, id: string, decision: 'accepted' | 'retake', by: string): Promise<StillRow> {
    const res = await db.query<StillRow>(`UPDATE identity_stills SET decision = $2, decided_by = $3, decided_at = now() WHERE id = $1 RETURNING ${STILL_COLUMNS}`, [id, decision, by]);
    return one(res.rows);
  },

  /** The newest still of an ID side, and the newest accepted one (null when none). */
  async latestSide(db: Queryable, caseId: string, kind: 'id-front' | 'id-back'): Promise<{ latest: StillRow | null; accepted: StillRow | null }> {
    const latest =
      (await db.query<StillRow>(`SELECT ${STILL_COLUMNS} FROM identity_stills WHERE case_id = $1 AND kind = $2 ORDER BY created_at DESC, id LIMIT 1`, [caseId, kind])).rows[0] ?? null;
    const accepted =
      (
        await db.query<StillRow>(`SELECT ${STILL_COLUMNS} FROM identity_stills WHERE case_id = $1 AND kind = $2 AND decision = 'accepted' ORDER BY decided_at DESC, id LIMIT 1`, [
          caseId,
          kind,
        ])
      ).rows[0] ?? null;
    return { latest, accepted };
  },

  async stillsOfRequest(db: Queryable, requestId: string): Promise<StillRow[]> {
    return (await db.query<StillRow>(`SELECT ${STILL_COLUMNS} FROM identity_stills WHERE request_id = $1 ORDER BY frame_index`, [requestId])).rows;
  },

  /**
   * Every still of a session with what it served: an ID side (and the teller's decision), the reference or probe
   * of a face check, a liveness challenge's key frame. No content: the sealed manifest lists them by hash.
   */
  async stillsOfSession(db: Queryable, sessionId: string): Promise<SessionStillRow[]> {
    const r = await db.query<SessionStillRow>(
      `SELECT s.id, s.kind, s.frame_index, s.media_type, s.width, s.height, s.size, s.sha256, s.decision, s.created_at,
              q.liveness_id, q.challenge_pos,
              EXISTS (SELECT 1 FROM face_checks f WHERE f.reference_id = s.id) AS face_reference,
              EXISTS (SELECT 1 FROM face_checks f WHERE f.probe_id = s.id) AS face_probe
         FROM identity_stills s JOIN identity_capture_requests q ON q.id = s.request_id
        WHERE s.session_id = $1 ORDER BY s.created_at, s.frame_index, s.id`,
      [sessionId],
    );
    return r.rows;
  },

  // ---- face checks ---------------------------------------------------------------------------------------

  async insertFaceCheck(db: Queryable, f: Omit<FaceCheckRow, 'override_decision' | 'override_reason' | 'override_by' | 'override_at' | 'created_at'>): Promise<FaceCheckRow> {
    const res = await db.query<FaceCheckRow>(
      `INSERT INTO face_checks (id, case_id, session_id, reference_id, probe_id, probe_count, score, decision, engine, model_version,
                                threshold_match, threshold_review, faces_reference, faces_probe)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING ${FACE_COLUMNS}`,
      [
        f.id,
        f.case_id,
        f.session_id,
        f.reference_id,
        f.probe_id,
        f.probe_count,
        f.score,
        f.decision,
        f.engine,
        f.model_version,
        f.threshold_match,
        f.threshold_review,
        f.faces_reference,
        f.faces_probe,
      ],
    );
    return one(res.rows);
  },

  async latestFaceCheck(db: Queryable, caseId: string): Promise<FaceCheckRow | null> {
    return (await db.query<FaceCheckRow>(`SELECT ${FACE_COLUMNS} FROM face_checks WHERE case_id = $1 ORDER BY created_at DESC, id LIMIT 1`, [caseId])).rows[0] ?? null;
  },

  async findFaceCheckForUpdate(db: Queryable, id: string): Promise<FaceCheckRow | null> {
    return (await db.query<FaceCheckRow>(`SELECT ${FACE_COLUMNS} FROM face_checks WHERE id = $1 FOR UPDATE`, [id])).rows[0] ?? null;
  },

  async overrideFaceCheck(db: Queryable, id: string, o: { decision: 'match' | 'no_match'; reason: string; by: string }): Promise<FaceCheckRow> {
    const res = await db.query<FaceCheckRow>(
      `UPDATE face_checks SET override_decision = $2, override_reason = $3, override_by = $4, override_at = now() WHERE id = $1 RETURNING ${FACE_COLUMNS}`,
      [id, o.decision, o.reason, o.by],
    );
    return one(res.rows);
  },

  // ---- liveness ------------------------------------------------------------------------------------------

  async insertLiveness(
    db: Queryable,
    l: { id: string; caseId: string; sessionId: string; referenceId: string; requestedBy: string; challenges: Array<{ kind: string; digits: string | null }> },
  ): Promise<LivenessCheckRow> {
    const res = await db.query<LivenessCheckRow>(
      `INSERT INTO liveness_checks (id, case_id, session_id, reference_id, requested_by) VALUES ($1, $2, $3, $4, $5) RETURNING ${LIVENESS_COLUMNS}`,
      [l.id, l.caseId, l.sessionId, l.referenceId, l.requestedBy],
    );
    for (const [position, c] of l.challenges.entries()) {
      await db.query(`INSERT INTO liveness_challenges (liveness_id, position, kind, digits) VALUES ($1, $2, $3, $4)`, [l.id, position, c.kind, c.digits]);
    }
    return one(res.rows);
  },

  /** A liveness check still running in the session ends as failed when the teller asks for something else. */
  async abandonRunningLiveness(db: Queryable, sessionId: string): Promise<string[]> {
    const r = await db.query<{ id: string }>(`UPDATE liveness_checks SET status = 'failed', finished_at = now() WHERE session_id = $1 AND status = 'running' RETURNING id`, [sessionId]);
    return r.rows.map((x) => x.id);
  },

  async findLivenessForUpdate(db: Queryable, id: string): Promise<LivenessCheckRow | null> {
    return (await db.query<LivenessCheckRow>(`SELECT ${LIVENESS_COLUMNS} FROM liveness_checks WHERE id = $1 FOR UPDATE`, [id])).rows[0] ?? null;
  },

  async latestLiveness(db: Queryable, caseId: string): Promise<LivenessCheckRow | null> {
    return (await db.query<LivenessCheckRow>(`SELECT ${LIVENESS_COLUMNS} FROM liveness_checks WHERE case_id = $1 ORDER BY created_at DESC, id LIMIT 1`, [caseId])).rows[0] ?? null;
  },

  async challenges(db: Queryable, livenessId: string): Promise<LivenessChallengeRow[]> {
    return (
      await db.query<LivenessChallengeRow>(
        `SELECT liveness_id, position, kind, digits, passed, reason, same_face, measurements, frames, answered_at
           FROM liveness_challenges WHERE liveness_id = $1 ORDER BY position`,
        [livenessId],
      )
    ).rows;
  },

  async answerChallenge(
    db: Queryable,
    a: { livenessId: string; position: number; passed: boolean; reason: string | null; sameFace: boolean | null; measurements: Record<string, number>; frames: number },
  ): Promise<void> {
    await db.query(
      `UPDATE liveness_challenges SET passed = $3, reason = $4, same_face = $5, measurements = $6, frames = $7, answered_at = now()
        WHERE liveness_id = $1 AND position = $2 AND answered_at IS NULL`,
      [a.livenessId, a.position, a.passed, a.reason, a.sameFace, JSON.stringify(a.measurements), a.frames],
    );
  },

  async finishLiveness(db: Queryable, id: string, status: 'passed' | 'failed'): Promise<void> {
    await db.query(`UPDATE liveness_checks SET status = $2, finished_at = now() WHERE id = $1`, [id, status]);
  },

  // ---- ID number cross-check -----------------------------------------------------------------------------

  async insertIdNumberCheck(db: Queryable, c: Omit<IdNumberCheckRow, 'created_at'>): Promise<IdNumberCheckRow> {
    const res = await db.query<IdNumberCheckRow>(
      `INSERT INTO id_number_checks (id, case_id, still_id, id_number_enc, checksum_valid, matches) VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING id, case_id, still_id, id_number_enc, checksum_valid, matches, created_at`,
      [c.id, c.case_id, c.still_id, c.id_number_enc, c.checksum_valid, c.matches],
    );
    return one(res.rows);
  },

  /** The check of that still when given (the accepted front), else the newest of the case. */
  async latestIdNumberCheck(db: Queryable, caseId: string, stillId?: string): Promise<IdNumberCheckRow | null> {
    return (
      (
        await db.query<IdNumberCheckRow>(
          `SELECT id, case_id, still_id, id_number_enc, checksum_valid, matches, created_at FROM id_number_checks
          WHERE case_id = $1 AND ($2::uuid IS NULL OR still_id = $2) ORDER BY created_at DESC, id LIMIT 1`,
          [caseId, stillId ?? null],
        )
      ).rows[0] ?? null
    );
  },
};
