// Separate OS users (systemd/README.md): the worker loads its configuration without the secrets it never reads;
// only the process named by KYC_AUDIT_CHECKPOINTER holds the checkpoint signing key, the other one serves the
// published verifier key; session spool folders are shared through the spool's group.
import t from 'tap';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { FileKeyring } from '@kyc/compliance';
import { createTestDatabase } from '@kyc/compliance/testing';
import { MediaTools } from '../../src/recording/media-tools.js';
import { sealRecording } from '../../src/recording/seal-job.js';
import { recordingRepository } from '../../src/repositories/recording.repository.js';
import { RECONNECT_FIXTURE, auditedTestDatabase, copyFixture, fixtureStart, insertSession, makeDataDirs } from '../helpers/recording-fixtures.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { allMigrations } from '../../src/migrations-dir.js';
import { openAuditLog } from '../../src/audit-setup.js';
import { WORKER_UNUSED_SECRETS } from '../../src/worker.js';
import { createSessionSpoolDir } from '../../src/recording/spool-dirs.js';

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

async function tempDir(t: TapTest, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('the worker needs neither the OIDC client secret nor the session key', async (t) => {
  const dir = await tempDir(t, 'kyc-worker-config-');
  const env = { KYC_PROFILE: 'development', KYC_DATA_DIR: dir, KYC_AUDIT_CHECKPOINTER: 'worker' };
  t.throws(() => loadConfig({ env, cwd: '/' }), ConfigError, 'the appliance refuses to start without them');
  const c = loadConfig({ env, cwd: '/', allowMissingGeneratedSecrets: true, unusedSecrets: WORKER_UNUSED_SECRETS });
  t.equal(c.audit.checkpointer, 'worker');
  t.throws(() => loadConfig({ env: { ...env, KYC_AUDIT_CHECKPOINTER: 'both' }, cwd: '/', unusedSecrets: WORKER_UNUSED_SECRETS }), /KYC_AUDIT_CHECKPOINTER: must be one of appliance, worker/);
});

t.test('KYC_AUDIT_CHECKPOINTER=worker: the appliance never touches the signing key and serves the published verifier key', async (t) => {
  const db = await createTestDatabase(allMigrations);
  t.teardown(() => db.drop());
  const data = await tempDir(t, 'kyc-checkpointer-');
  const env = {
    KYC_PROFILE: 'development',
    KYC_DATA_DIR: data,
    KYC_DB_URL: db.appUrl,
    KYC_AUDIT_CHECKPOINTER: 'worker',
    KYC_AUDIT_SIGNING_KEY_FILE: join(data, 'worker-secrets/audit-signing.key'),
    KYC_AUDIT_CHECKPOINT_DIR: join(data, 'checkpoints'),
    KYC_AUDIT_CHECKPOINT_EVERY_EVENTS: '1',
  };
  const config = loadConfig({ env, cwd: '/', allowMissingGeneratedSecrets: true, unusedSecrets: WORKER_UNUSED_SECRETS });
  const pg = await import('pg');
  const pool = new pg.default.Pool({ connectionString: db.appUrl, max: 4 });
  t.teardown(() => pool.end());
  const errors: unknown[] = [];

  const appliance = await openAuditLog(pool, config, 'appliance', (_w, e) => errors.push(e));
  t.equal(appliance.signer, undefined, 'the appliance holds no signer');
  t.notOk(existsSync(config.audit.signingKeyFile), 'nor created the key');
  t.equal(appliance.verifierKey(), null, 'no verifier key before the signer published one');

  const worker = await openAuditLog(pool, config, 'worker', (_w, e) => errors.push(e));
  t.ok(worker.signer, 'the worker signs');
  t.equal(((await stat(config.audit.signingKeyFile)).mode & 0o777).toString(8), '600', 'signing key 0600');
  await appliance.append({
    actor: { username: 'teller1', roles: ['teller'], auth: 'session' },
    action: 'case.create',
    object: { type: 'case', id: 'c-1' },
    result: 'success',
    requestId: 'r-1',
  });
  await appliance.close();
  await worker.close();
  const files = await readdir(config.audit.checkpointDir);
  t.ok(
    files.some((f) => f.endsWith('.checkpoint') || /^\d+/.test(f)),
    `the worker wrote checkpoints: ${files.join(', ')}`,
  );
  t.equal(appliance.verifierKey(), worker.verifierKey(), 'the appliance serves the key the worker published');
  t.same(errors, []);
});

t.test('session spool folders: 0700 for one user; setgid group-writable from a setgid spool with group access', async (t) => {
  const root = await tempDir(t, 'kyc-spool-');
  await createSessionSpoolDir(join(root, 'single'), false);
  t.equal(((await stat(join(root, 'single'))).mode & 0o7777).toString(8), '700');

  const spool = join(root, 'spool');
  await mkdir(spool);
  await chown(spool, process.getuid?.() ?? 0, 4 /* adm: any group other than ours */);
  await chmod(spool, 0o2770);
  const old = process.umask(0o007);
  t.teardown(() => void process.umask(old));
  await createSessionSpoolDir(join(spool, 'session-1'), true);
  const st = await stat(join(spool, 'session-1'));
  t.equal((st.mode & 0o7777).toString(8), '2770', 'setgid, group rwx');
  t.equal(st.gid, 4, 'the spool group, inherited');

  const plain = join(root, 'plain');
  await mkdir(plain, { mode: 0o770 });
  await chmod(plain, 0o770);
  await t.rejects(createSessionSpoolDir(join(plain, 'session-2'), true), /not setgid and group-writable.*chmod 2770/, 'a spool that is not setgid is refused with a clear message');
});

t.test('group-readable keyring: 0750/0640 accepted only when asked for, never group-writable or world-readable', async (t) => {
  const root = await tempDir(t, 'kyc-kek-');
  const dir = join(root, 'kek');
  const { keyring, created } = await FileKeyring.openOrCreate(dir, { groupReadable: true });
  t.ok(created);
  t.equal(((await stat(dir)).mode & 0o777).toString(8), '750');
  t.equal(((await stat(join(dir, `${created}.kek`))).mode & 0o777).toString(8), '640');
  await t.rejects(FileKeyring.open(dir), /must not be accessible by group or others/, 'the owner-only default still refuses it');
  t.equal((await FileKeyring.open(dir, { groupReadable: true })).currentKeyId(), keyring.currentKeyId());
  await chmod(join(dir, `${created}.kek`), 0o660);
  await t.rejects(FileKeyring.open(dir, { groupReadable: true }), /must not be writable by its group nor accessible by others \(chmod 640\)/);
  await chmod(join(dir, `${created}.kek`), 0o644);
  await t.rejects(FileKeyring.open(dir, { groupReadable: true }), /chmod 640/);
});

t.test('a seal with group access leaves a 2750 folder of 0640 files the archive group can read', async (t) => {
  const { pool, audit } = await auditedTestDatabase(t);
  const dirs = await makeDataDirs(t);
  const { keyring } = await FileKeyring.openOrCreate(dirs.kekDir, { groupReadable: true });
  const start = await fixtureStart(RECONNECT_FIXTURE);
  const { caseId, sessionId } = await insertSession(pool, { admittedAt: new Date(start.getTime() - 300), endedAt: new Date(start.getTime() + 4800) });
  await copyFixture(RECONNECT_FIXTURE, join(dirs.recordingsDir, sessionId));
  const rec = await recordingRepository.createForSession(pool, { id: randomUUID(), sessionId, caseId });
  const tools = new MediaTools({ ffmpeg: '/usr/bin/ffmpeg', ffprobe: '/usr/bin/ffprobe', janusPpRec: '/usr/bin/janus-pp-rec' });
  await sealRecording({ pool, audit, keyring, tools, recordingsDir: dirs.recordingsDir, archiveDir: dirs.archiveDir, settleMs: 0, groupReadable: true }, rec!.id);
  const folder = join(dirs.archiveDir, rec!.id);
  t.equal(((await stat(folder)).mode & 0o7777).toString(8), '2750', 'sealed folder: setgid, group read');
  const modes = new Set<string>();
  for (const name of await readdir(folder)) modes.add(((await stat(join(folder, name))).mode & 0o777).toString(8));
  t.same([...modes], ['640'], 'every sealed file 0640');
});
