import type { Queryable } from '../db/database.js';

/** Figures for the operators' metrics, each one cheap query (indexed or a single row). */
export interface OpsSnapshot {
  sessionsActive: number;
  /** recordings not sealed yet that a worker will still work on (queued, processing, failed with a retry due) */
  sealQueueDepth: number;
  /** every `recording.seal_failed` audit event so far (the worker writes them) */
  sealFailures: number;
  /** the audit log's sequenced size */
  auditLogSize: number;
  /** creation time of the latest signed checkpoint, null before the first */
  lastCheckpointAt: Date | null;
  /** tree size the latest checkpoint covers (0 before the first) */
  lastCheckpointSize: number;
  /** bytes sealed into the archive in the last 24 hours (the ingest rate) */
  archivedBytesLastDay: number;
}

export const opsRepository = {
  async snapshot(db: Queryable): Promise<OpsSnapshot> {
    const r = await db.query<{ live: string; queue: string; failures: string; audit: string | null; checkpoint: Date | null; checkpoint_size: string | null; day_bytes: string | null }>(
      `SELECT
         (SELECT count(*) FROM call_sessions WHERE state = 'live') AS live,
         (SELECT count(*) FROM recordings WHERE (status <> 'sealed' OR plaintext_removed_at IS NULL)
                                            AND status IN ('queued', 'processing', 'failed')
                                            AND (status <> 'failed' OR will_retry)) AS queue,
         (SELECT count(*) FROM audit_event WHERE action = 'recording.seal_failed') AS failures,
         (SELECT max(tree_size) FROM audit_tree_head) AS audit,
         (SELECT created_at FROM audit_checkpoint ORDER BY id DESC LIMIT 1) AS checkpoint,
         (SELECT tree_size FROM audit_checkpoint ORDER BY id DESC LIMIT 1) AS checkpoint_size,
         (SELECT sum(f.ciphertext_bytes) FROM recordings r JOIN recording_files f ON f.recording_id = r.id
           WHERE r.status = 'sealed' AND r.sealed_at > now() - interval '1 day') AS day_bytes`,
    );
    const row = r.rows[0]!;
    return {
      sessionsActive: Number(row.live),
      sealQueueDepth: Number(row.queue),
      sealFailures: Number(row.failures),
      auditLogSize: Number(row.audit ?? 0),
      lastCheckpointAt: row.checkpoint,
      lastCheckpointSize: Number(row.checkpoint_size ?? 0),
      archivedBytesLastDay: Number(row.day_bytes ?? 0),
    };
  },

  /** Seal durations (request → sealed, seconds) and media A/V skews (ms) of recordings sealed after `since`, oldest first. */
  async sealedSince(db: Queryable, since: Date): Promise<{ sealedAt: Date; seconds: number; avSkewsMs: number[] }[]> {
    const r = await db.query<{ sealed_at: Date; seconds: number; skews: number[] | null }>(
      `SELECT r.sealed_at, extract(epoch FROM r.sealed_at - r.created_at)::float8 AS seconds,
              (SELECT array_agg(f.av_skew_ms) FROM recording_files f WHERE f.recording_id = r.id AND f.av_skew_ms IS NOT NULL) AS skews
         FROM recordings r WHERE r.status = 'sealed' AND r.sealed_at > $1 ORDER BY r.sealed_at LIMIT 10000`,
      [since],
    );
    return r.rows.map((x) => ({ sealedAt: x.sealed_at, seconds: Number(x.seconds), avSkewsMs: (x.skews ?? []).map(Number) }));
  },
};
