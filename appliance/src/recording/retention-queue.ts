import type PgBoss from 'pg-boss';
import type { Queryable } from '../db/database.js';
import { executorFor } from './seal-queue.js';

/** The pg-boss queue of retention runs (created by migration 0012 with policy `stately`). */
export const RETENTION_QUEUE = 'retention.run';

export interface RetentionJobData {
  /** who asked: an administrator's user name, or `schedule` for the daily run */
  requestedBy: string;
}

/** Enqueues a retention run inside the caller's transaction; null when one is already waiting. */
export async function enqueueRetentionRun(boss: PgBoss, db: Queryable, data: RetentionJobData): Promise<string | null> {
  return boss.send(RETENTION_QUEUE, data, {
    retryLimit: 3,
    retryDelay: 300,
    retryBackoff: true,
    db: executorFor(db),
  });
}
