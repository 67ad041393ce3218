#!/usr/bin/env node
/**
 * kyc-archive — administration of sealed recordings on the appliance host (needs read access to the KEKs).
 *
 *   kyc-archive decrypt --recording ID --out DIR [--offline]
 *       Restores a sealed recording's plaintext (media, raw files, manifest.json) into DIR for disaster recovery.
 *       Every file is authenticated and checked against the manifest; the manifest against the database's hash.
 *       --offline: use only the archive folder and the KEKs (key.json), when the database is lost.
 *   kyc-archive rotate-kek
 *       Creates a new key-encryption key and makes it current (new recordings are wrapped with it). With
 *       KYC_KEK_PROVIDER=pkcs11 the key is generated inside the token: the first time under KYC_PKCS11_KEY_LABEL,
 *       afterwards under a new label `kek-YYYYMMDD-xxxxxxxx` that is recorded in KYC_KEK_DIR/hsm-current.
 *   kyc-archive rewrap
 *       Re-wraps every recording's data key (database and archive key.json) and every export's (database) under the
 *       current KEK of the configured provider (file → HSM, HSM → file, or after a rotation); afterwards older KEK
 *       files (or token keys) may be destroyed.
 *
 * Configuration as for the appliance (KYC_* variables / KYC_CONFIG_FILE). Prints one JSON line. Exit 0 on
 * success, 1 when a recording fails verification, 2 on usage or operational errors. Each action is audited
 * when the database is reachable.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import {
  AuditLog,
  CliUsageError,
  createKek,
  newKid,
  syncDir,
  isSealedMediaError,
  printJson,
  rewrapDataKey,
  type KeyWrapper,
  type WrappedKey,
  runJsonCli,
  writeFileDurably,
} from '@kyc/compliance';
import { loadConfigOrExit, type AppConfig } from '../config/load.js';
import { createPool, withTransaction } from '../db/database.js';
import { decryptRecording, readKeyFile } from '../recording/archive-reader.js';
import { HSM_CURRENT_FILE, openKeyring } from '../recording/keyring.js';
import { KEY_FILE } from '../recording/recording-layout.js';
import { exportKeyContext } from '../recording/export-job.js';
import { exportRepository } from '../repositories/export.repository.js';
import { recordingRepository } from '../repositories/recording.repository.js';
import type { AuditActor, AuditEvent } from '../services/audit.js';

const USAGE = `usage:
  kyc-archive decrypt --recording ID --out DIR [--offline]
  kyc-archive rotate-kek
  kyc-archive rewrap`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function actor(): AuditActor {
  return { username: `host:${userInfo().username}`, roles: ['admin'], auth: 'system' };
}

function event(action: string, object: AuditEvent['object'], details: AuditEvent['details'], result: AuditEvent['result'] = 'success', reason?: string): AuditEvent {
  return { v: 1, time: new Date().toISOString(), actor: actor(), action, object, result, ...(reason ? { reason } : {}), ...(details ? { details } : {}) };
}

async function withDb<T>(config: AppConfig, fn: (pool: pg.Pool, audit: AuditLog) => Promise<T>): Promise<T> {
  const pool = createPool({ url: config.db.url, passwordFile: config.db.passwordFile, max: 2, applicationName: 'kyc-archive' });
  const audit = new AuditLog({ pool, origin: config.audit.origin });
  try {
    return await fn(pool, audit);
  } finally {
    await audit.close().catch(() => undefined);
    await pool.end();
  }
}

/** The process's keyring for one command, closed afterwards (the token's session). */
async function withKeyring<T>(config: AppConfig, opts: Parameters<typeof openKeyring>[1], fn: (keyring: Awaited<ReturnType<typeof openKeyring>>['keyring']) => Promise<T>): Promise<T> {
  const { keyring } = await openKeyring(config, opts);
  try {
    return await fn(keyring);
  } finally {
    await keyring.close();
  }
}

function decrypt(config: AppConfig, recordingId: string, out: string, offline: boolean): Promise<number> {
  return withKeyring(config, { requireFileKek: config.recording.kekProvider === 'file' }, (keyring) => decryptWith(config, keyring, recordingId, out, offline));
}

async function decryptWith(config: AppConfig, keyring: KeyWrapper, recordingId: string, out: string, offline: boolean): Promise<number> {
  if (offline) {
    const r = await decryptRecording({ archiveDir: config.recording.archiveDir, recordingId, keyring, outDir: out });
    printJson({ ok: true, recordingId, out, offline: true, manifestSha256: r.manifestSha256, files: r.files.map((f) => ({ name: f.name, bytes: f.bytes, sha256: f.sha256 })) });
    return 0;
  }
  return withDb(config, async (pool, audit) => {
    const rec = await recordingRepository.findById(pool, recordingId);
    if (!rec) throw new CliUsageError(`no recording ${recordingId}`);
    if (rec.status !== 'sealed' || !rec.wrapped_key || !rec.kek_id) throw new CliUsageError(`recording ${recordingId} is not sealed (status ${rec.status})`);
    try {
      const r = await decryptRecording({
        archiveDir: config.recording.archiveDir,
        recordingId,
        keyring,
        outDir: out,
        known: { kid: rec.kek_id, wrapped: rec.wrapped_key, manifestSha256: rec.manifest_sha256?.toString('hex') ?? null },
      });
      await audit.append(event('recording.decrypt', { type: 'recording', id: recordingId }, { files: r.files.length, manifestSha256: r.manifestSha256 }));
      printJson({ ok: true, recordingId, out, manifestSha256: r.manifestSha256, files: r.files.map((f) => ({ name: f.name, bytes: f.bytes, sha256: f.sha256 })) });
      return 0;
    } catch (err) {
      if (!isSealedMediaError(err)) throw err;
      await audit.append(event('recording.decrypt', { type: 'recording', id: recordingId }, { code: err.code }, 'failure', err.message));
      printJson({ ok: false, recordingId, code: err.code, error: err.message });
      return 1;
    }
  });
}

async function rotate(config: AppConfig): Promise<number> {
  const rec = config.recording;
  if (rec.kekProvider === 'pkcs11') return rotateInToken(config);
  const kid = await createKek(rec.kekDir, new Date(), { groupReadable: rec.groupAccess });
  await withDb(config, (_pool, audit) => audit.append(event('kek.rotate', { type: 'kek', id: kid }, { kekDir: rec.kekDir })));
  printJson({ ok: true, currentKid: kid, next: 'run `kyc-archive rewrap`, then back up the KEK directory' });
  return 0;
}

/**
 * Rotation inside the HSM: generates a non-extractable AES-256 key in the token. The first one takes the
 * configured label; later ones a new `kek-YYYYMMDD-xxxxxxxx` label, recorded as current in KEK_DIR/hsm-current
 * (running processes read it before each wrap).
 */
function rotateInToken(config: AppConfig): Promise<number> {
  const rec = config.recording;
  const labelFile = join(rec.kekDir, HSM_CURRENT_FILE);
  return withKeyring(config, { allowMissingTokenKek: true }, async (keyring) => {
    const token = keyring.token()!;
    const first = !(await token.hasKey(rec.pkcs11!.keyLabel)) && !existsSync(labelFile);
    const label = first ? rec.pkcs11!.keyLabel : newKid(new Date());
    await token.generateKey(label);
    if (!first) {
      await mkdir(rec.kekDir, { recursive: true, mode: rec.groupAccess ? 0o750 : 0o700 });
      await writeFileDurably(labelFile, `${label}\n`, { mode: rec.groupAccess ? 0o640 : 0o600, how: 'replace' });
      await syncDir(rec.kekDir);
    }
    const kid = await keyring.refresh();
    await withDb(config, (_pool, audit) => audit.append(event('kek.rotate', { type: 'kek', id: kid }, { provider: 'pkcs11', token: token.tokenLabel })));
    printJson({
      ok: true,
      currentKid: kid,
      next: first ? 'the token holds its first KEK: new data keys are wrapped with it; run `kyc-archive rewrap` to move older ones' : 'run `kyc-archive rewrap`',
    });
    return 0;
  });
}

/** What `rewrap` moves to the current KEK: recordings (database and archive key.json) and exports (database). */
interface WrappedKind {
  what: 'recording' | 'export';
  pending(pool: pg.Pool, current: string): Promise<Array<{ id: string; kek_id: string; wrapped_key: Buffer }>>;
  context(id: string): string;
  /** the new key into the database (false: moved meanwhile) and its audit event, inside one transaction */
  replace(client: pg.PoolClient, id: string, from: string, to: WrappedKey): Promise<boolean>;
  action: string;
  /** a copy of the wrapped key outside the database, rewritten after the database commit is certain */
  keyFile?(id: string): Promise<((to: WrappedKey) => Promise<void>) | null>;
}

function wrappedKinds(config: AppConfig): WrappedKind[] {
  return [
    {
      what: 'recording',
      pending: (pool, current) => recordingRepository.wrappedNotUnder(pool, current),
      context: (id) => id,
      replace: (client, id, from, to) => recordingRepository.replaceKey(client, id, from, to),
      action: 'recording.key_rewrap',
      async keyFile(id) {
        const folder = join(config.recording.archiveDir, id);
        let keyFile: Awaited<ReturnType<typeof readKeyFile>>;
        try {
          keyFile = await readKeyFile(folder, id);
        } catch {
          return null; // not sealed yet (no archive folder): only the database holds the wrapped key
        }
        return (to) =>
          writeFileDurably(join(folder, KEY_FILE), `${JSON.stringify({ ...keyFile, kid: to.kid, wrappedKey: to.wrapped.toString('base64') })}\n`, { mode: 0o600, how: 'replace' });
      },
    },
    {
      what: 'export',
      pending: (pool, current) => exportRepository.wrappedNotUnder(pool, current),
      context: exportKeyContext,
      replace: (client, id, from, to) => exportRepository.replaceKey(client, id, from, to),
      action: 'recording.export_key_rewrap',
    },
  ];
}

function rewrap(config: AppConfig): Promise<number> {
  return withKeyring(config, { requireFileKek: config.recording.kekProvider === 'file' }, (keyring) => rewrapWith(config, keyring));
}

async function rewrapWith(config: AppConfig, keyring: KeyWrapper): Promise<number> {
  const current = keyring.currentKeyId();
  return withDb(config, async (pool, audit) => {
    const moved = { recording: 0, export: 0 };
    const failed: Array<{ recordingId?: string; exportId?: string; error: string }> = [];
    for (const kind of wrappedKinds(config)) {
      const failedIds = new Set<string>();
      for (;;) {
        const batch = (await kind.pending(pool, current)).filter((r) => !failedIds.has(r.id));
        if (batch.length === 0) break;
        for (const r of batch) {
          try {
            const next = await rewrapDataKey(keyring, { kid: r.kek_id, wrapped: r.wrapped_key }, kind.context(r.id));
            if (!next) continue;
            const writeKeyFile = (await kind.keyFile?.(r.id)) ?? null;
            await withTransaction(pool, async (client) => {
              if (!(await kind.replace(client, r.id, r.kek_id, next))) return;
              await audit.appendInTx(client, event(kind.action, { type: kind.what, id: r.id }, { fromKid: r.kek_id, toKid: next.kid }));
              // The old key file stays valid (its KEK still exists) until this rename: a crash in between loses nothing.
              if (writeKeyFile) await writeKeyFile(next);
            });
            moved[kind.what] += 1;
          } catch (err) {
            failedIds.add(r.id);
            failed.push({ [kind.what === 'recording' ? 'recordingId' : 'exportId']: r.id, error: (err as Error).message });
          }
        }
      }
    }
    printJson({ ok: failed.length === 0, currentKid: current, rewrapped: moved.recording, rewrappedExports: moved.export, failed });
    return failed.length === 0 ? 0 : 1;
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { recording: { type: 'string' }, out: { type: 'string' }, offline: { type: 'boolean' } },
  });
  if (positionals.length) throw new CliUsageError(`unexpected argument ${positionals[0]}`);
  const config = loadConfigOrExit({ allowMissingGeneratedSecrets: true });
  switch (command) {
    case 'decrypt': {
      const id = values.recording;
      if (!id || !UUID.test(id)) throw new CliUsageError('--recording must be a recording id (UUID)');
      if (!values.out) throw new CliUsageError('--out is required');
      return decrypt(config, id, values.out, values.offline === true);
    }
    case 'rotate-kek':
      return rotate(config);
    case 'rewrap':
      return rewrap(config);
    default:
      throw new CliUsageError(command ? `unknown command ${command}` : 'no command');
  }
}

runJsonCli(main, USAGE);
