import { existsSync, mkdirSync } from 'node:fs';
import { AuditLog, createSigningKeyFile, loadSigningKey } from '@kyc/compliance';
import type { AppConfig } from './config/load.js';
import type { AppContext, ReadinessProbe } from './app-context.js';
import { createPool } from './db/database.js';
import { PiiCipher } from './lib/pii-cipher.js';
import { ensureKeyFile, readSecretText } from './lib/secret-files.js';
import { CallSessionService } from './services/call-session.service.js';
import { CaseService } from './services/case.service.js';
import { InvitationService } from './services/invitation.service.js';
import { OidcService } from './services/oidc.js';

export interface Runtime {
  ctx: AppContext;
  auditLog: AuditLog;
  /** stops background work (audit sequencer, final checkpoint) and closes the database pool */
  close(): Promise<void>;
}

/** Builds the appliance's long-lived parts from validated configuration. */
export async function createRuntime(
  config: AppConfig,
  onBackgroundError: (what: string, err: unknown) => void = () => undefined,
): Promise<Runtime> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const sessionKey = ensureKeyFile(config.session.keyFile);
  const pii = new PiiCipher(ensureKeyFile(config.pii.keyFile), ensureKeyFile(config.pii.blindIndexKeyFile));
  const pool = createPool({ url: config.db.url, passwordFile: config.db.passwordFile, max: config.db.poolSize, applicationName: 'kyc-appliance' });
  if (!existsSync(config.audit.signingKeyFile)) await createSigningKeyFile(config.audit.signingKeyFile, config.audit.origin);
  const signer = await loadSigningKey(config.audit.signingKeyFile);
  const auditLog = new AuditLog({ pool, signer, origin: config.audit.origin });
  auditLog.startSequencer({ onError: (err) => onBackgroundError('audit sequencer', err) });
  await auditLog.startCheckpointer({
    dir: config.audit.checkpointDir,
    everyEvents: config.audit.checkpointEveryEvents,
    everyMs: config.audit.checkpointEverySeconds * 1000,
    onError: (err) => onBackgroundError('audit checkpointer', err),
  });
  const oidc = new OidcService({
    issuer: config.oidc.issuer,
    clientId: config.oidc.clientId,
    clientSecret: readSecretText(config.oidc.clientSecretFile),
    audience: config.oidc.audience,
    redirectUri: new URL('/auth/callback', config.publicUrl).href,
    postLogoutRedirectUri: new URL('/', config.publicUrl).href,
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
    { name: 'janus', required: false, check: async () => ({ status: 'not_configured' }) },
  ];
  const invitations = new InvitationService(pii, {
    publicUrl: config.publicUrl,
    ttlMinutes: config.invitations.ttlMinutes,
    codeAttempts: config.invitations.codeAttempts,
    secret: sessionKey,
  });
  const ctx: AppContext = {
    config,
    pool,
    audit: auditLog,
    auditLog,
    oidc,
    cases: new CaseService(pii),
    pii,
    invitations,
    calls: new CallSessionService(),
    onSessionEnded: async () => undefined,
    sessionKey,
    probes,
  };
  return {
    ctx,
    auditLog,
    async close() {
      await auditLog.close();
      await pool.end();
    },
  };
}
