import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type pg from 'pg';
import { AuditLog, Timestamper, VERIFIER_KEY_FILE, createSigningKeyFile, loadSigningKey, parseTsaCertificates } from '@kyc/compliance';
import type { AppConfig } from './config/load.js';

/**
 * The audit log of one process. Exactly one process signs checkpoints (KYC_AUDIT_CHECKPOINTER): it alone creates or
 * reads the signing key and runs the checkpointer. The other one never touches the key; it publishes the verifier
 * key the signer wrote beside its checkpoints.
 */
export async function openAuditLog(pool: pg.Pool, config: AppConfig, role: 'appliance' | 'worker', onBackgroundError: (what: string, err: unknown) => void): Promise<AuditLog> {
  const signs = config.audit.checkpointer === role;
  let auditLog: AuditLog;
  if (signs) {
    if (!existsSync(config.audit.signingKeyFile)) {
      mkdirSync(dirname(config.audit.signingKeyFile), { recursive: true, mode: 0o700 });
      await createSigningKeyFile(config.audit.signingKeyFile, config.audit.origin);
    }
    auditLog = new AuditLog({ pool, signer: await loadSigningKey(config.audit.signingKeyFile), origin: config.audit.origin });
  } else {
    auditLog = new AuditLog({ pool, origin: config.audit.origin, verifierKeyFile: join(config.audit.checkpointDir, VERIFIER_KEY_FILE) });
  }
  auditLog.startSequencer({ onError: (err) => onBackgroundError('audit sequencer', err) });
  if (signs) {
    await auditLog.startCheckpointer({
      dir: config.audit.checkpointDir,
      everyEvents: config.audit.checkpointEveryEvents,
      everyMs: config.audit.checkpointEverySeconds * 1000,
      onError: (err) => onBackgroundError('audit checkpointer', err),
      ...(config.audit.tsa ? { timestamper: openTimestamper(config.audit.tsa) } : {}),
    });
  }
  return auditLog;
}

/** The client of the institution's time-stamping authority (files were checked when the configuration loaded). */
function openTimestamper(tsa: NonNullable<AppConfig['audit']['tsa']>): Timestamper {
  return new Timestamper({
    url: tsa.url.href,
    ...(tsa.certFile ? { tsaCerts: parseTsaCertificates(readFileSync(tsa.certFile, 'utf8')) } : {}),
    ...(tsa.caFile ? { ca: readFileSync(tsa.caFile, 'utf8') } : {}),
  });
}
