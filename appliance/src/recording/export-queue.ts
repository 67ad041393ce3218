import type PgBoss from 'pg-boss';
import type { Queryable } from '../db/database.js';
import { JOB_SCHEMA, executorFor } from './seal-queue.js';

/** The pg-boss queue of exports (created by migration 0020 with policy `standard`: one job per export). */
export const EXPORT_QUEUE = 'recording.export';

export interface ExportJobData {
  exportId: string;
}

/** Enqueues an export's job inside the caller's transaction (`db`): the job commits or rolls back with its row. */
export async function enqueueExport(boss: PgBoss, db: Queryable, exportId: string): Promise<string | null> {
  const data: ExportJobData = { exportId };
  return boss.send(EXPORT_QUEUE, data, { db: executorFor(db) });
}

/** True when the export has a job waiting or under way. */
export async function exportJobPending(db: Queryable, exportId: string): Promise<boolean> {
  const r = await db.query(`SELECT 1 FROM ${JOB_SCHEMA}.job WHERE name = $1 AND data->>'exportId' = $2 AND state IN ('created', 'retry', 'active') LIMIT 1`, [EXPORT_QUEUE, exportId]);
  return (r.rowCount ?? 0) > 0;
}

/**
 * Export jobs left `active` by a process that stopped without finishing them (only the appliance takes export jobs, one
 * process per box, and it calls this before taking any). Without this they would wait for pg-boss's expiry (hours).
 */
export async function activeExportJobs(db: Queryable): Promise<string[]> {
  const r = await db.query<{ id: string }>(`SELECT id FROM ${JOB_SCHEMA}.job WHERE name = $1 AND state = 'active'`, [EXPORT_QUEUE]);
  return r.rows.map((row) => row.id);
}
