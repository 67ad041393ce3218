#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type PgBoss from 'pg-boss';
import pino from 'pino';
import type { KeyWrapper } from '@kyc/compliance';
import { openAuditLog } from './audit-setup.js';
import { loadConfigOrExit, type AppConfig } from './config/load.js';
import { createPool } from './db/database.js';
import { MediaTools } from './recording/media-tools.js';
import { SealBusyError, failureReason, recordFailure, sealRecording, type SealContext } from './recording/seal-job.js';
import { SEAL_QUEUE, createJobBoss, jobSqlSettled, reconcileSeals, type SealJobData } from './recording/seal-queue.js';
import { ensureDataDir } from './recording/spool-dirs.js';
import { ensureFirstKek, openKeyring } from './recording/keyring.js';
import { RETENTION_QUEUE, enqueueRetentionRun, type RetentionJobData } from './recording/retention-queue.js';
import { RetentionShredder } from './recording/shred-job.js';
import { retentionRepository } from './repositories/retention.repository.js';
import { join } from 'node:path';
import type { AuditSink } from './services/audit.js';

/**
 * The worker: pg-boss jobs of the appliance (sealing recordings, retention runs). Runs as its own process (`kyc-worker`,
 * possibly on other hosts) or inside the appliance on a single-host install, through `startWorker`. Export jobs are
 * not here: the appliance process runs them (services/export.service.ts), as it alone holds the exports folder, the
 * PII key and the signing key.
 */

/** Secrets the worker never reads: a worker host does not need them. */
export const WORKER_UNUSED_SECRETS = [
  'KYC_OIDC_CLIENT_SECRET_FILE',
  'KYC_SESSION_KEY_FILE',
  'KYC_PII_KEY_FILE',
  'KYC_BLIND_INDEX_KEY_FILE',
  'KYC_TLS_KEY_FILE',
  'KYC_JANUS_ADMIN_SECRET_FILE',
  'KYC_JANUS_ROOM_KEY_FILE',
] as const;

export interface WorkerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WorkerOptions {
  pool: pg.Pool;
  config: AppConfig;
  audit: AuditSink;
  log: WorkerLog;
  /** the process's keyring (the appliance's, when the worker runs inside it); else the worker builds its own */
  keyring?: KeyWrapper;
  /** pg-boss polling interval (default 2 s) */
  pollingIntervalSeconds?: number;
}

export interface RunningWorker {
  /** seals now instead of waiting for the next reconcile round (tests, admin retry) */
  reconcile(): Promise<void>;
  stop(): Promise<void>;
}

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const { pool, config, audit, log } = opts;
  const rec = config.recording;
  const devRecordings = await ensureDataDir(rec.dir, rec.groupAccess);
  const devArchive = await ensureDataDir(rec.archiveDir, rec.groupAccess);
  if (devRecordings !== devArchive) {
    throw new Error('KYC_RECORDINGS_DIR and KYC_ARCHIVE_DIR must be on the same filesystem (a seal must never copy plaintext across devices)');
  }
  // The worker creates the first KEK; the keyring then follows rotation (`kyc-archive rotate-kek` from another process).
  const own = opts.keyring ? null : await openKeyring(config, { createFirstKek: true });
  const created = own ? own.createdKek : await ensureFirstKek(config);
  const keyring = opts.keyring ?? own!.keyring;
  if (created) log.warn({ kid: created, kekDir: rec.kekDir }, 'created the first key-encryption key: back it up offline; without it sealed recordings cannot be decrypted');

  const ctx: SealContext = {
    pool,
    audit,
    keyring,
    tools: new MediaTools(rec.tools),
    recordingsDir: rec.dir,
    archiveDir: rec.archiveDir,
    settleMs: rec.seal.settleSeconds * 1000,
    groupReadable: rec.groupAccess,
    log,
  };
  const policy = { retryLimit: rec.seal.retryLimit, retryDelaySeconds: rec.seal.retryDelaySeconds };
  const boss: PgBoss = createJobBoss(pool, { supervise: true });
  boss.on('error', (err) => log.error({ err: err.message }, 'job queue error'));
  await boss.start();

  const handle = async (job: PgBoss.JobWithMetadata<SealJobData>): Promise<void> => {
    const id = job.data.recordingId;
    try {
      const r = await sealRecording(ctx, id);
      log.info({ recordingId: id, result: r, attempt: job.retryCount + 1 }, 'seal job done');
    } catch (err) {
      if (err instanceof SealBusyError) throw err;
      const reason = failureReason(err);
      const willRetry = job.retryCount < job.retryLimit;
      log.error({ recordingId: id, reason, attempt: job.retryCount + 1, willRetry, err: (err as Error).message }, 'seal job failed');
      await recordFailure(ctx, id, reason, willRetry).catch((e: unknown) => log.error({ err: (e as Error).message }, 'could not record the failure'));
      throw new Error(reason, { cause: err });
    }
  };
  const workerIds: string[] = [];
  for (let i = 0; i < rec.seal.concurrency; i++) {
    workerIds.push(
      await boss.work<SealJobData>(SEAL_QUEUE, { includeMetadata: true, batchSize: 1, pollingIntervalSeconds: opts.pollingIntervalSeconds ?? 2 }, async ([job]) => {
        if (job) await handle(job);
      }),
    );
  }

  // Retention: one run at a time (queue policy and the shredder's lock); the schedule queues one when none started
  // within KYC_RETENTION_RUN_HOURS.
  const shredder = new RetentionShredder({ pool, audit, archiveDir: rec.archiveDir, recordingsDir: rec.dir, exportsDir: join(config.dataDir, 'exports') });
  workerIds.push(
    await boss.work<RetentionJobData>(RETENTION_QUEUE, { batchSize: 1, pollingIntervalSeconds: opts.pollingIntervalSeconds ?? 2 }, async ([job]) => {
      if (!job) return;
      const r = await shredder.run(new Date(), job.data.requestedBy);
      log.info({ runId: r.runId, busy: r.busy, cases: r.cases, shredded: r.shredded }, 'retention run done');
    }),
  );
  const scheduleRetention = async (atStart = false): Promise<void> => {
    const last = await retentionRepository.lastRunStartedAt(pool);
    if (!atStart && last && Date.now() - last.getTime() < rec.retentionRunHours * 3_600_000) return;
    await enqueueRetentionRun(boss, pool, { requestedBy: 'schedule' });
  };
  const retentionTimer =
    rec.retentionRunHours > 0
      ? setInterval(() => void scheduleRetention().catch((err: unknown) => log.error({ err: (err as Error).message }, 'retention schedule failed')), 3_600_000)
      : null;
  retentionTimer?.unref();
  // Also at every start: after a database backup was restored, whatever expired since is shredded again at once.
  if (rec.retentionRunHours > 0) await scheduleRetention(true).catch((err: unknown) => log.error({ err: (err as Error).message }, 'retention schedule failed'));

  let reconciling: Promise<void> | null = null;
  const reconcile = (): Promise<void> => {
    reconciling ??= reconcileSeals(pool, { boss, audit, policy, orphanAfterSeconds: rec.seal.orphanSeconds })
      .then((r) => {
        if (r.requested || r.orphansFailed || r.requeued) log.info(r, 'seal reconcile');
      })
      .catch((err: unknown) => log.error({ err: (err as Error).message }, 'seal reconcile failed'))
      .finally(() => {
        reconciling = null;
      });
    return reconciling;
  };
  await reconcile();
  const timer = setInterval(() => void reconcile(), rec.seal.reconcileSeconds * 1000);
  timer.unref();

  return {
    reconcile,
    async stop() {
      clearInterval(timer);
      if (retentionTimer) clearInterval(retentionTimer);
      await reconciling;
      for (const id of workerIds) await boss.offWork({ id });
      await boss.stop({ graceful: true, wait: true, close: false, timeout: 30_000 });
      await jobSqlSettled(boss);
      await own?.keyring.close();
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfigOrExit({ allowMissingGeneratedSecrets: true, unusedSecrets: WORKER_UNUSED_SECRETS });
  const log = pino({ level: config.logLevel, base: { service: 'kyc-worker' } });
  const pool = createPool({ url: config.db.url, passwordFile: config.db.passwordFile, max: Math.max(4, config.recording.seal.concurrency * 2 + 2), applicationName: 'kyc-worker' });
  const auditLog = await openAuditLog(pool, config, 'worker', (what, err) => log.error({ err: (err as Error).message }, `${what} error`));
  const worker = await startWorker({ pool, config, audit: auditLog, log });
  log.info({ queue: SEAL_QUEUE, concurrency: config.recording.seal.concurrency }, 'worker started');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'worker stopping');
    const force = setTimeout(() => process.exit(1), 40_000);
    force.unref();
    worker
      .stop()
      .then(() => auditLog.close())
      .then(() => pool.end())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err: (err as Error).message }, 'error while stopping');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

// Run as a program (not imported by the appliance). Compared as real paths: under systemd the worker is started
// through the /opt/kyc/current symlink, while import.meta.url names the resolved file.
if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main().catch((err: unknown) => {
    process.stderr.write(`worker failed to start: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
