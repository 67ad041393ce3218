import { mkdirSync } from 'node:fs';
import type { AuditLog } from '@kyc/compliance';
import { openAuditLog } from './audit-setup.js';
import type { AppConfig } from './config/load.js';
import type { AppContext, ReadinessProbe } from './app-context.js';
import { createPool } from './db/database.js';
import { systemClock, type Clock } from './lib/clock.js';
import { CaseKeyStore, PiiCipher } from './lib/pii-cipher.js';
import { ensureKeyFile, readSecretText } from './lib/secret-files.js';
import { createJobBoss, jobSqlSettled, requestSeal } from './recording/seal-queue.js';
import { openKeyring } from './recording/keyring.js';
import { enqueueRetentionRun } from './recording/retention-queue.js';
import { CallSessionService } from './services/call-session.service.js';
import { LiveMedia } from './services/live-media.js';
import { startWorker, type RunningWorker, type WorkerLog } from './worker.js';
import { CaseService } from './services/case.service.js';
import { InvitationService } from './services/invitation.service.js';
import { OidcService } from './services/oidc.js';
import { SignInSessions } from './services/sign-in-sessions.js';
import { createFaceServices } from './face/index.js';
import { OpsMetrics } from './services/ops-metrics.js';
import { OpsDashboard } from './services/ops-dashboard.js';
import { KnowledgeBase } from './services/kb.service.js';
import { ServiceDesk } from './services/service-desk.js';
import { createArchiveReplay } from './services/replay.service.js';
import { startMetricsListener } from './http/metrics-listener.js';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { startPeriodic } from './lib/periodic.js';
import { applianceNames } from './pki/certificate-authority.js';
import { ensureDocumentSigner, type DocumentSigner } from './pki/document-signing.js';
import { MediaTools } from './recording/media-tools.js';
import { ArchiveMedia } from './services/archive.service.js';
import { destroyExpiredVisitKeys, destroyShreddedCaseKeys, rekeyLegacyCases } from './services/case-keys.js';
import { ExportService } from './services/export.service.js';

export interface Runtime {
  ctx: AppContext;
  auditLog: AuditLog;
  /** the in-process worker, when KYC_WORKER_IN_PROCESS */
  worker: RunningWorker | null;
  /** the plain-HTTP /metrics listener (KYC_METRICS_LISTEN); null when off */
  metricsServer: Server | null;
  /** stops background work (audit sequencer, final checkpoint) and closes the database pool */
  close(): Promise<void>;
}

/**
 * Builds the appliance's long-lived parts from validated configuration. `clock` is the one clock of the process:
 * session expiry and re-checks, the verified-token cache and service offers read it.
 */
export async function createRuntime(
  config: AppConfig,
  onBackgroundError: (what: string, err: unknown) => void = () => undefined,
  workerLog: WorkerLog = { info: () => undefined, warn: () => undefined, error: (obj, msg) => onBackgroundError(msg, obj) },
  clock: Clock = systemClock,
): Promise<Runtime> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const sessionKey = ensureKeyFile(config.session.keyFile);
  const piiKey = ensureKeyFile(config.pii.keyFile);
  const pii = new PiiCipher(piiKey, ensureKeyFile(config.pii.blindIndexKeyFile), new CaseKeyStore(config.pii.caseKeyDir, piiKey));
  const pool = createPool({ url: config.db.url, passwordFile: config.db.passwordFile, max: config.db.poolSize, applicationName: 'kyc-appliance' });
  const auditLog = await openAuditLog(pool, config, 'appliance', onBackgroundError);
  const oidc = new OidcService({
    issuer: config.oidc.issuer,
    clientId: config.oidc.clientId,
    clientSecret: readSecretText(config.oidc.clientSecretFile),
    audience: config.oidc.audience,
    bearerClients: config.oidc.bearerClients,
    caFile: config.oidc.caFile,
    redirectUri: new URL('/auth/callback', config.publicUrl).href,
    postLogoutRedirectUri: new URL('/', config.publicUrl).href,
    clock,
  });
  const probes: ReadinessProbe[] = [
    {
      name: 'db',
      required: true,
      async check() {
        try {
          await pool.query('SELECT 1');
          return { status: 'up' };
        } catch {
          return { status: 'down', detail: 'database unreachable' };
        }
      },
    },
    { name: 'idp', required: true, check: () => oidc.probe() },
  ];
  // Jobs are enqueued in the same transaction as the change that needs them (hang-up → seal).
  const boss = createJobBoss(pool, { supervise: false });
  boss.on('error', (err) => onBackgroundError('job queue', err));
  await boss.start();
  const sealPolicy = { retryLimit: config.recording.seal.retryLimit, retryDelaySeconds: config.recording.seal.retryDelaySeconds };
  // One keyring for the process: replay, exports and the in-process worker; it re-reads the KEK directory when a
  // rotation, a rewrap or a destroyed KEK changed it, and holds the process's one PKCS#11 session when configured.
  const { keyring } = await openKeyring(config);
  // One reader of sealed media for replay and exports (its open files cached)
  const archiveMedia = new ArchiveMedia({ archiveDir: config.recording.archiveDir, keyring });
  const replay = createArchiveReplay({ sessionKey, media: archiveMedia, pool });
  const worker = config.workerInProcess ? await startWorker({ pool, config, audit: auditLog, log: workerLog, keyring }) : null;
  const invitations = new InvitationService(pii, {
    publicUrl: config.publicUrl,
    ttlMinutes: config.invitations.ttlMinutes,
    codeAttempts: config.invitations.codeAttempts,
    secret: sessionKey,
  });
  const calls = new CallSessionService((client, s) => requestSeal(client, { boss, audit: auditLog, policy: sealPolicy }, { id: s.id, caseId: s.case_id }));
  // One metrics registry for the process; the live-call code counts into it, the rest is read on scrape.
  let live: LiveMedia | null = null;
  const metrics = new OpsMetrics({
    pool,
    recordingsInProgress: () => live?.hub.publishersUp() ?? null,
    handleRole: (id) => live?.hub.handleRole(id) ?? null,
    volumes: { recordings: config.recording.dir, archive: config.recording.archiveDir },
    certificates: {
      server: config.tls.certFile ?? join(config.dataDir, 'pki', 'server.crt'),
      ca: config.tls.certFile ? null : join(config.dataDir, 'pki', 'ca.crt'),
      'oidc-ca': config.oidc.caFile,
      tsa: config.audit.tsa?.certFile ?? null,
    },
  });
  live = LiveMedia.fromConfig({ config, pool, audit: auditLog, pii, invitations, calls, metrics, log: workerLog });
  live?.start();
  if (live) metrics.janus.onSample = (role, sample) => live?.janusSample(role, sample);
  probes.push({
    name: 'janus',
    required: false,
    check: async () => {
      if (!live) return { status: 'not_configured' };
      const h = await live.gateway.health();
      return h.status === 'up' ? { status: 'up' } : { status: 'down', detail: 'Janus unreachable' };
    },
  });
  const face = createFaceServices(config.face, (reason) => onBackgroundError('face hook', new Error(reason)));
  probes.push({
    name: 'face-model',
    required: false,
    // the model loads on first use; once started, its state is reported without waiting for it
    check: () =>
      !face.started
        ? Promise.resolve({ status: 'up' as const, detail: 'loads on first use' })
        : Promise.race([
            face.ready().then(
              (): { status: 'up' } => ({ status: 'up' }),
              () => ({ status: 'down' as const, detail: 'face model failed to load' }),
            ),
            new Promise<{ status: 'down'; detail: string }>((r) => setTimeout(() => r({ status: 'down', detail: 'face model loading' }), 50).unref()),
          ]),
  });
  probes.push({
    name: 'face-model-browser',
    required: false,
    // without it the customer's page still works: no live guidance, key frames taken on a timer
    check: async () => (face.browserAssets.tag ? { status: 'up' } : { status: 'down', detail: `browser face model files missing: ${face.browserAssets.missing.join(', ')}` }),
  });
  const signInSessions = new SignInSessions(
    pool,
    config.session.idleSeconds,
    {
      pool,
      audit: auditLog,
      cipher: pii,
      idp: oidc,
      recheckSeconds: config.session.idpRecheckSeconds,
      unreachableGraceSeconds: config.session.idpGraceSeconds,
      // a sign-in that ended takes its signaling sockets with it
      onEnded: (idHashes) => live?.hub.closeSignIns(new Set(idHashes), 'your sign-in ended'),
      log: workerLog,
    },
    clock,
  );
  signInSessions.startPurging(10 * 60_000, (err) => onBackgroundError('session purge', err));
  const metricsServer = config.metrics.listen
    ? await startMetricsListener(
        { metrics, janusEvents: config.janus.eventsSecretFile ? { ingest: (body) => metrics.janus.ingest(body), password: readSecretText(config.janus.eventsSecretFile) } : null },
        config.metrics.listen,
        (err) => onBackgroundError('metrics scrape', err),
      )
    : null;
  const ops = new OpsDashboard(metrics, { diskDays: 7, certificateDays: 30, checkpointEverySeconds: config.audit.checkpointEverySeconds });
  ops.start(10_000, (err) => onBackgroundError('ops sample', err));
  const cases = new CaseService(pii);
  const kb = new KnowledgeBase(config.service.assistant);
  const desk = new ServiceDesk(
    { pool, audit: auditLog, pii, kb, cases, invitations, onError: onBackgroundError, clock },
    {
      ticketTtlMinutes: config.service.ticketTtlMinutes,
      routing: config.service.routing,
      offerTimeoutSeconds: config.service.offerTimeoutSeconds,
      defaultHandlingSeconds: 300,
      maxMessages: 50,
    },
  );
  desk.start();
  // The document signer is made on first use (it creates the signing key under <dataDir>/pki).
  let signer: DocumentSigner | null = null;
  const exports = new ExportService(
    {
      pool,
      audit: auditLog,
      media: archiveMedia,
      keyring,
      tools: new MediaTools(config.recording.tools),
      signer: () => (signer ??= ensureDocumentSigner(config.dataDir, applianceNames(config))),
      exportsDir: join(config.dataDir, 'exports'),
      pii,
      log: workerLog,
    },
    boss,
  );
  await exports.start();
  // What the retention run (in the worker) shredded, removed from the folders only this process can reach: case and
  // visit keys every minute, export files every 10 minutes.
  const keys = { pool, audit: auditLog, pii };
  const sweeps = [
    await startPeriodic(
      async () => {
        await destroyShreddedCaseKeys(keys);
        await destroyExpiredVisitKeys(keys, config.service.visitRetentionDays);
      },
      60_000,
      (err) => onBackgroundError('destroying shredded case and visit keys', err),
    ),
    await startPeriodic(
      () => exports.removeShreddedFiles(),
      10 * 60_000,
      (err) => onBackgroundError('removing shredded export files', err),
    ),
  ];
  // After an upgrade: cases written before case keys move under their own key, in the background.
  let stopping = false;
  const rekeying = rekeyLegacyCases(keys, { stopping: () => stopping }).then(
    (r) => {
      if (r.cases > 0 || r.unreadable > 0) workerLog.info(r, 'personal data of older cases moved under their case keys');
    },
    (err: unknown) => onBackgroundError('moving older cases under their case keys', err),
  );
  const ctx: AppContext = {
    config,
    pool,
    audit: auditLog,
    auditLog,
    oidc,
    cases,
    pii,
    invitations,
    calls,
    onSessionEnded: async (sessionId, reason) => {
      await live?.hub.endSession(sessionId, reason);
    },
    live,
    sessionKey,
    signInSessions,
    probes,
    face,
    keyring,
    enqueueRetentionRun: (db, requestedBy) => enqueueRetentionRun(boss, db, { requestedBy }),
    metrics,
    ops,
    kb,
    desk,
    replay,
    archiveMedia,
    exports,
  };
  return {
    ctx,
    auditLog,
    worker,
    metricsServer,
    async close() {
      stopping = true;
      for (const sweep of sweeps) await sweep.stop();
      await rekeying;
      await exports.stop();
      await archiveMedia.close();
      ops.stop();
      await desk.stop();
      if (metricsServer) await new Promise<void>((r) => metricsServer.close(() => r()));
      signInSessions.stopPurging();
      await live?.stop();
      await face.close();
      await worker?.stop();
      await boss.stop({ graceful: true, wait: true, close: false, timeout: 10_000 });
      await jobSqlSettled(boss);
      await keyring.close();
      await auditLog.close();
      await pool.end();
    },
  };
}
