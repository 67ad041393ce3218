import type { Queryable } from '../db/database.js';
import { replaceWrappedKey, wrappedNotUnder } from './wrapped-keys.js';

export type ExportStatus = 'queued' | 'running' | 'done' | 'failed';

export interface ExportRow {
  id: string;
  recording_id: string;
  requested_by: string;
  /** the requesting auditor's identity-provider subject: the export is theirs alone */
  requester_subject: string | null;
  reason: string;
  status: ExportStatus;
  progress: number;
  failure_reason: string | null;
  sha256: Buffer | null;
  bytes: string | null;
  kek_id: string | null;
  wrapped_key: Buffer | null;
  signature: Buffer | null;
  created_at: Date;
  finished_at: Date | null;
  /** its data key and files were destroyed when the case's retention ended */
  shredded_at: Date | null;
}

const COLUMNS = `id, recording_id, requested_by, requester_subject, reason, status, progress, failure_reason, sha256, bytes, kek_id, wrapped_key, signature, created_at, finished_at, shredded_at`;

export const exportRepository = {
  async create(db: Queryable, e: { id: string; recordingId: string; requestedBy: string; requesterSubject: string; reason: string }): Promise<ExportRow> {
    const r = await db.query<ExportRow>(`INSERT INTO recording_exports (id, recording_id, requested_by, requester_subject, reason) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`, [
      e.id,
      e.recordingId,
      e.requestedBy,
      e.requesterSubject,
      e.reason,
    ]);
    return r.rows[0]!;
  },

  /** for the worker side (the job runner): any export */
  async findById(db: Queryable, id: string): Promise<ExportRow | null> {
    const r = await db.query<ExportRow>(`SELECT ${COLUMNS} FROM recording_exports WHERE id = $1`, [id]);
    return r.rows[0] ?? null;
  },

  /** for the API: only the requester's own export (by subject, which a renamed account keeps) */
  async findOwn(db: Queryable, id: string, requesterSubject: string): Promise<ExportRow | null> {
    const r = await db.query<ExportRow>(`SELECT ${COLUMNS} FROM recording_exports WHERE id = $1 AND requester_subject = $2`, [id, requesterSubject]);
    return r.rows[0] ?? null;
  },

  /** queued → running; false when another run took it or it is no longer queued */
  async start(db: Queryable, id: string): Promise<boolean> {
    const r = await db.query(`UPDATE recording_exports SET status = 'running' WHERE id = $1 AND status = 'queued'`, [id]);
    return r.rowCount === 1;
  },

  async setProgress(db: Queryable, id: string, progress: number): Promise<void> {
    await db.query(`UPDATE recording_exports SET progress = $2 WHERE id = $1 AND status = 'running'`, [id, progress]);
  },

  async markDone(db: Queryable, id: string, d: { sha256: string; bytes: number; kekId: string; wrappedKey: Buffer; signature: Buffer }): Promise<boolean> {
    const r = await db.query(
      `UPDATE recording_exports SET status = 'done', progress = 1, sha256 = $2, bytes = $3, kek_id = $4, wrapped_key = $5, signature = $6, finished_at = now()
        WHERE id = $1 AND status = 'running'`,
      [id, Buffer.from(d.sha256, 'hex'), d.bytes, d.kekId, d.wrappedKey, d.signature],
    );
    return r.rowCount === 1;
  },

  async markFailed(db: Queryable, id: string, reason: string): Promise<boolean> {
    const r = await db.query(`UPDATE recording_exports SET status = 'failed', failure_reason = $2, finished_at = now() WHERE id = $1 AND status IN ('queued', 'running')`, [
      id,
      reason.slice(0, 500),
    ]);
    return r.rowCount === 1;
  },

  /** Rows whose data key is wrapped under another KEK than `kid` (what `kyc-archive rewrap` moves). */
  wrappedNotUnder: (db: Queryable, kid: string, limit = 500) => wrappedNotUnder(db, 'recording_exports', kid, limit),

  replaceKey: (db: Queryable, id: string, from: string, to: { kid: string; wrapped: Buffer }) => replaceWrappedKey(db, 'recording_exports', id, from, to),

  /** Exports a stopped process left unfinished: they run in the appliance process and are not resumed. */
  /** Shredded exports whose files the appliance has not removed yet (oldest first). */
  async shreddedWithFiles(db: Queryable, limit = 500): Promise<string[]> {
    const r = await db.query<{ id: string }>('SELECT id FROM recording_exports WHERE shredded_at IS NOT NULL AND files_removed_at IS NULL ORDER BY shredded_at LIMIT $1', [limit]);
    return r.rows.map((x) => x.id);
  },

  async markFilesRemoved(db: Queryable, id: string): Promise<boolean> {
    return ((await db.query('UPDATE recording_exports SET files_removed_at = now() WHERE id = $1 AND files_removed_at IS NULL', [id])).rowCount ?? 0) > 0;
  },

  async unfinished(db: Queryable): Promise<Array<{ id: string; recording_id: string; status: 'queued' | 'running' }>> {
    const r = await db.query<{ id: string; recording_id: string; status: 'queued' | 'running' }>(
      `SELECT id, recording_id, status FROM recording_exports WHERE status IN ('queued', 'running') ORDER BY created_at`,
    );
    return r.rows;
  },
};
