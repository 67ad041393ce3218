import PgBoss from 'pg-boss';
import type pg from 'pg';
import type { Queryable } from '../db/database.js';
import { callSessionRepository } from '../repositories/call-session.repository.js';
import { recordingRepository, type RecordingRow } from '../repositories/recording.repository.js';
import { auditEvent, type AuditSink } from '../services/audit.js';
import { SEAL_LOCK_NAMESPACE, newRecordingId } from './seal-job.js';

/** The pg-boss queue of seal jobs (created by migration 0004 with policy `stately`). */
export const SEAL_QUEUE = 'recording.seal';
export const JOB_SCHEMA = 'pgboss';

export interface SealJobData {
  recordingId: string;
}

export interface SealRetryPolicy {
  retryLimit: number;
  retryDelaySeconds: number;
}

/** The statements each boss has running on the pool (see `jobSqlSettled`). */
const running = new WeakMap<PgBoss, Set<Promise<unknown>>>();

/** pg-boss on the appliance's pool: its schema is installed by migration, never by pg-boss at run time. */
export function createJobBoss(pool: pg.Pool, opts: { supervise: boolean }): PgBoss {
  const inFlight = new Set<Promise<unknown>>();
  const boss = new PgBoss({
    db: {
      executeSql: (text: string, values: unknown[]) => {
        const q = pool.query(text, values as unknown[]);
        inFlight.add(q);
        void q.then(
          () => inFlight.delete(q),
          () => inFlight.delete(q),
        );
        return q;
      },
    },
    schema: JOB_SCHEMA,
    migrate: false,
    schedule: false,
    supervise: opts.supervise,
  });
  running.set(boss, inFlight);
  return boss;
}

/**
 * Waits for the statements a stopped boss still has running. pg-boss completes or fails a job without awaiting it
 * (after the handler returned), so its stop() can resolve before that statement ran: the pool must not end first.
 */
export async function jobSqlSettled(boss: PgBoss): Promise<void> {
  const inFlight = running.get(boss);
  while (inFlight && inFlight.size > 0) await Promise.allSettled([...inFlight]);
}

/** pg-boss running its SQL on `db` (a transaction's client: the job commits or rolls back with it). */
export function executorFor(db: Queryable): PgBoss.Db {
  return { executeSql: (text: string, values: unknown[]) => db.query(text, values as unknown[]) };
}

/** Enqueues the seal of a recording inside the caller's transaction (`db`), once per recording and state. */
export async function enqueueSeal(boss: PgBoss, db: Queryable, recordingId: string, policy: SealRetryPolicy): Promise<string | null> {
  const data: SealJobData = { recordingId };
  return boss.send(SEAL_QUEUE, data, {
    singletonKey: recordingId,
    retryLimit: policy.retryLimit,
    retryDelay: policy.retryDelaySeconds,
    retryBackoff: true,
    db: executorFor(db),
  });
}

/**
 * Called in the transaction that ends a session (hang-up, abandonment, time-out): creates the session's
 * recording, enqueues its seal and writes `recording.seal_requested` — all or nothing. Returns null when the
 * session already has a recording.
 */
export async function requestSeal(
  client: pg.PoolClient,
  deps: { boss: PgBoss; audit: AuditSink; policy: SealRetryPolicy },
  session: { id: string; caseId: string },
): Promise<RecordingRow | null> {
  const rec = await recordingRepository.createForSession(client, { id: newRecordingId(), sessionId: session.id, caseId: session.caseId });
  if (!rec) return null;
  await enqueueSeal(deps.boss, client, rec.id, deps.policy);
  await deps.audit.appendInTx(
    client,
    auditEvent(null, { action: 'recording.seal_requested', object: { type: 'recording', id: rec.id }, result: 'success', details: { sessionId: session.id, caseId: session.caseId } }),
  );
  return rec;
}

/**
 * Makes sure no recording is forgotten, whatever crashed when:
 *  - every ended session gets its recording and seal job (a hang-up whose transaction did not request it);
 *  - a seal job left `active` by a worker that died (its advisory lock is free) is failed now, so pg-boss retries
 *    it with backoff instead of waiting for the job's expiry;
 *  - a recording with work left but no job waiting gets a new job.
 */
export async function reconcileSeals(
  pool: pg.Pool,
  deps: { boss: PgBoss; audit: AuditSink; policy: SealRetryPolicy; orphanAfterSeconds: number },
): Promise<{ requested: number; orphansFailed: number; requeued: number }> {
  let requested = 0;
  for (const s of await recordingRepository.endedSessionsWithoutRecording(pool)) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const session = await callSessionRepository.findById(client, s.id);
      if (session && (await requestSeal(client, deps, { id: session.id, caseId: session.case_id }))) requested += 1;
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
  let orphansFailed = 0;
  const active = await pool.query<{ id: string; recording_id: string }>(
    `SELECT id, data->>'recordingId' AS recording_id FROM ${JOB_SCHEMA}.job
      WHERE name = $1 AND state = 'active' AND started_on < now() - make_interval(secs => $2)`,
    [SEAL_QUEUE, deps.orphanAfterSeconds],
  );
  for (const job of active.rows) {
    if (!(await lockIsFree(pool, job.recording_id))) continue;
    await deps.boss.fail(SEAL_QUEUE, job.id, { reason: 'the worker running this job stopped' });
    orphansFailed += 1;
  }
  let requeued = 0;
  for (const r of await recordingRepository.withWorkLeft(pool)) {
    const waiting = await pool.query(`SELECT 1 FROM ${JOB_SCHEMA}.job WHERE name = $1 AND singleton_key = $2 AND state IN ('created', 'retry', 'active') LIMIT 1`, [SEAL_QUEUE, r.id]);
    if (waiting.rowCount) continue;
    if (await enqueueSeal(deps.boss, pool, r.id, deps.policy)) requeued += 1;
  }
  return { requested, orphansFailed, requeued };
}

/** True when no session holds the recording's seal lock (its worker is gone). */
async function lockIsFree(pool: pg.Pool, recordingId: string): Promise<boolean> {
  const client = await pool.connect();
  try {
    const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [SEAL_LOCK_NAMESPACE, recordingId]);
    if (r.rows[0]?.ok) await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [SEAL_LOCK_NAMESPACE, recordingId]);
    return r.rows[0]?.ok === true;
  } finally {
    client.release();
  }
}
