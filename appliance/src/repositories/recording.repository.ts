import type { Queryable } from '../db/database.js';
import { replaceWrappedKey, wrappedNotUnder } from './wrapped-keys.js';

import type { RecordingStatus } from '../domain/vocabulary.js';

export type { RecordingStatus };

export interface RecordingRow {
  id: string;
  session_id: string;
  case_id: string;
  status: RecordingStatus;
  step: string;
  progress: number;
  attempts: number;
  failure_reason: string | null;
  failed_at: Date | null;
  will_retry: boolean;
  kek_id: string | null;
  wrapped_key: Buffer | null;
  manifest_sha256: Buffer | null;
  complete: boolean | null;
  issues: unknown[];
  created_at: Date;
  updated_at: Date;
  sealed_at: Date | null;
  plaintext_removed_at: Date | null;
  /** its data key, ciphertext and archive folder were destroyed when the case's retention ended */
  shredded_at: Date | null;
}

export interface RecordingFileRow {
  recording_id: string;
  name: string;
  kind: 'media' | 'manifest';
  party: 'teller' | 'customer' | null;
  segment: number | null;
  duration_ms: number | null;
  plaintext_bytes: string;
  plaintext_sha256: Buffer;
  ciphertext_bytes: string;
  ciphertext_sha256: Buffer;
}

export interface NewRecordingFile {
  name: string;
  kind: 'media' | 'manifest';
  party: 'teller' | 'customer' | null;
  segment: number | null;
  durationMs: number | null;
  plaintextBytes: number;
  plaintextSha256: string;
  ciphertextBytes: number;
  ciphertextSha256: string;
  /** media files: audio-vs-video start after post-processing minus the intended offset (ms); null when not both */
  avSkewMs?: number | null;
}

const COLUMNS = `id, session_id, case_id, status, step, progress, attempts, failure_reason, failed_at, will_retry, kek_id,
  wrapped_key, manifest_sha256, complete, issues, created_at, updated_at, sealed_at, plaintext_removed_at, shredded_at`;

export const recordingRepository = {
  /** The session's recording, created once (a second call returns null). */
  async createForSession(db: Queryable, r: { id: string; sessionId: string; caseId: string }): Promise<RecordingRow | null> {
    const res = await db.query<RecordingRow>(`INSERT INTO recordings (id, session_id, case_id) VALUES ($1, $2, $3) ON CONFLICT (session_id) DO NOTHING RETURNING ${COLUMNS}`, [
      r.id,
      r.sessionId,
      r.caseId,
    ]);
    return res.rows[0] ?? null;
  },

  async findById(db: Queryable, id: string): Promise<RecordingRow | null> {
    const r = await db.query<RecordingRow>(`SELECT ${COLUMNS} FROM recordings WHERE id = $1`, [id]);
    return r.rows[0] ?? null;
  },

  async findByIdForUpdate(db: Queryable, id: string): Promise<RecordingRow | null> {
    const r = await db.query<RecordingRow>(`SELECT ${COLUMNS} FROM recordings WHERE id = $1 FOR UPDATE`, [id]);
    return r.rows[0] ?? null;
  },

  async findBySession(db: Queryable, sessionId: string): Promise<RecordingRow | null> {
    const r = await db.query<RecordingRow>(`SELECT ${COLUMNS} FROM recordings WHERE session_id = $1`, [sessionId]);
    return r.rows[0] ?? null;
  },

  async listForSessions(db: Queryable, sessionIds: string[]): Promise<RecordingRow[]> {
    if (sessionIds.length === 0) return [];
    const r = await db.query<RecordingRow>(`SELECT ${COLUMNS} FROM recordings WHERE session_id = ANY($1::uuid[])`, [sessionIds]);
    return r.rows;
  },

  /** The sealed manifest as stored with the recording (null before the seal). */
  async manifestOf(db: Queryable, id: string): Promise<Record<string, unknown> | null> {
    const r = await db.query<{ manifest: Record<string, unknown> | null }>('SELECT manifest FROM recordings WHERE id = $1', [id]);
    return r.rows[0]?.manifest ?? null;
  },

  async files(db: Queryable, recordingId: string): Promise<RecordingFileRow[]> {
    const r = await db.query<RecordingFileRow>(
      `SELECT recording_id, name, kind, party, segment, duration_ms, plaintext_bytes, plaintext_sha256, ciphertext_bytes, ciphertext_sha256
         FROM recording_files WHERE recording_id = $1 ORDER BY kind DESC, party, segment, name`,
      [recordingId],
    );
    return r.rows;
  },

  /** A new attempt starts: the row says so (and why the last one failed is cleared). */
  async startAttempt(db: Queryable, id: string): Promise<void> {
    await db.query(
      `UPDATE recordings SET status = 'processing', attempts = attempts + 1, failure_reason = NULL, failed_at = NULL, will_retry = false,
              updated_at = now() WHERE id = $1 AND status <> 'sealed'`,
      [id],
    );
  },

  async setStep(db: Queryable, id: string, step: string, progress: number): Promise<void> {
    await db.query(`UPDATE recordings SET step = $2, progress = $3, updated_at = now() WHERE id = $1 AND status <> 'sealed'`, [id, step, Math.min(1, Math.max(0, progress))]);
  },

  /** Stores the recording's wrapped data key once; returns the stored one (ours or an earlier attempt's). */
  async setKeyOnce(db: Queryable, id: string, kid: string, wrapped: Buffer): Promise<{ kek_id: string; wrapped_key: Buffer }> {
    await db.query(`UPDATE recordings SET kek_id = $2, wrapped_key = $3, updated_at = now() WHERE id = $1 AND wrapped_key IS NULL`, [id, kid, wrapped]);
    const r = await db.query<{ kek_id: string; wrapped_key: Buffer }>('SELECT kek_id, wrapped_key FROM recordings WHERE id = $1', [id]);
    const row = r.rows[0];
    if (!row?.wrapped_key) throw new Error('recording vanished');
    return row;
  },

  async replaceFiles(db: Queryable, recordingId: string, files: NewRecordingFile[]): Promise<void> {
    await db.query('DELETE FROM recording_files WHERE recording_id = $1', [recordingId]);
    for (const f of files) {
      await db.query(
        `INSERT INTO recording_files (recording_id, name, kind, party, segment, duration_ms, plaintext_bytes, plaintext_sha256, ciphertext_bytes, ciphertext_sha256, av_skew_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          recordingId,
          f.name,
          f.kind,
          f.party,
          f.segment,
          f.durationMs,
          f.plaintextBytes,
          Buffer.from(f.plaintextSha256, 'hex'),
          f.ciphertextBytes,
          Buffer.from(f.ciphertextSha256, 'hex'),
          f.avSkewMs ?? null,
        ],
      );
    }
  },

  /** The one transition to sealed; false when the row was sealed already. */
  async markSealed(db: Queryable, id: string, s: { manifest: Record<string, unknown>; manifestSha256: string; complete: boolean; issues: unknown[] }): Promise<boolean> {
    const r = await db.query(
      `UPDATE recordings SET status = 'sealed', step = 'sealed', progress = 1, manifest = $2, manifest_sha256 = $3, complete = $4,
              issues = $5, sealed_at = now(), failure_reason = NULL, failed_at = NULL, will_retry = false, updated_at = now()
        WHERE id = $1 AND status <> 'sealed'`,
      [id, JSON.stringify(s.manifest), Buffer.from(s.manifestSha256, 'hex'), s.complete, JSON.stringify(s.issues)],
    );
    return (r.rowCount ?? 0) > 0;
  },

  async markFailed(db: Queryable, id: string, reason: string, willRetry: boolean): Promise<void> {
    await db.query(
      `UPDATE recordings SET status = 'failed', failure_reason = $2, failed_at = now(), will_retry = $3, updated_at = now()
        WHERE id = $1 AND status <> 'sealed'`,
      [id, reason, willRetry],
    );
  },

  /** Marks a sealed recording's plaintext as removed; false when it already was. */
  async markPlaintextRemoved(db: Queryable, id: string): Promise<boolean> {
    const r = await db.query(
      `UPDATE recordings SET step = 'cleaned', plaintext_removed_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'sealed' AND plaintext_removed_at IS NULL`,
      [id],
    );
    return (r.rowCount ?? 0) > 0;
  },

  /** Ended sessions that have no recording yet (hang-ups whose seal was never requested, e.g. after a crash). */
  async endedSessionsWithoutRecording(db: Queryable, limit = 100): Promise<Array<{ id: string; case_id: string }>> {
    const r = await db.query<{ id: string; case_id: string }>(
      `SELECT s.id, s.case_id FROM call_sessions s
        WHERE s.state = 'ended' AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.session_id = s.id)
        ORDER BY s.ended_at LIMIT $1`,
      [limit],
    );
    return r.rows;
  },

  /** Recordings with work left: not sealed and not finally failed, or sealed with plaintext not yet removed. */
  async withWorkLeft(db: Queryable, limit = 100): Promise<Array<{ id: string }>> {
    const r = await db.query<{ id: string }>(
      `SELECT id FROM recordings
        WHERE (status IN ('queued', 'processing') OR (status = 'failed' AND will_retry) OR (status = 'sealed' AND plaintext_removed_at IS NULL))
        ORDER BY created_at LIMIT $1`,
      [limit],
    );
    return r.rows;
  },

  /**
   * The admin status list, newest first: one status, or (none given) every recording the pipeline still owes
   * something: not sealed, or sealed with its plaintext not yet removed.
   */
  async listForStatus(db: Queryable, status: Exclude<RecordingStatus, 'sealed'> | null, limit = 100): Promise<RecordingRow[]> {
    // Two statements rather than one with a CASE, so the default list can use the partial index recordings_open_idx.
    const r =
      status === null
        ? await db.query<RecordingRow>(`SELECT ${COLUMNS} FROM recordings WHERE status <> 'sealed' OR plaintext_removed_at IS NULL ORDER BY created_at DESC, id LIMIT $1`, [limit])
        : await db.query<RecordingRow>(`SELECT ${COLUMNS} FROM recordings WHERE status = $1 ORDER BY created_at DESC, id LIMIT $2`, [status, limit]);
    return r.rows;
  },

  /** Rows whose data key is wrapped under another KEK than `kid` (what `kyc-archive rewrap` moves). */
  wrappedNotUnder: (db: Queryable, kid: string, limit = 500) => wrappedNotUnder(db, 'recordings', kid, limit),

  replaceKey: (db: Queryable, id: string, from: string, to: { kid: string; wrapped: Buffer }) => replaceWrappedKey(db, 'recordings', id, from, to),
};
