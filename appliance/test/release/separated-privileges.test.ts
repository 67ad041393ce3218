// Separate OS users (systemd/README.md): the worker loads its configuration without the secrets it never reads;
// only the process named by KYC_AUDIT_CHECKPOINTER holds the checkpoint signing key, the other one serves the
// published verifier key; session spool folders are shared through the spool's group.
import t from 'tap';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '@kyc/compliance/testing';
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
  const env = { KYC_DATA_DIR: dir, KYC_AUDIT_CHECKPOINTER: 'worker' };
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
  await appliance.append({ actor: { username: 'teller1', roles: ['teller'], auth: 'session' }, action: 'case.create', object: { type: 'case', id: 'c-1' }, result: 'success', requestId: 'r-1' });
  await appliance.close();
  await worker.close();
  const files = await readdir(config.audit.checkpointDir);
  t.ok(files.some((f) => f.endsWith('.checkpoint') || /^\d+/.test(f)), `the worker wrote checkpoints: ${files.join(', ')}`);
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
