import t from 'tap';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Pkcs11Keyring } from '@kyc/compliance';
import { createSoftHsmToken, createTestDatabase, type SoftHsmToken } from '@kyc/compliance/testing';
import { allMigrations } from '../../src/migrations-dir.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { openKeyring } from '../../src/recording/keyring.js';
import { startTestAppliance } from '../helpers/appliance.js';
import { exportAndWait, kycArchive } from '../helpers/archive-cli.js';
import { fixtureCallTimes, insertSession, sealFixtureRecording } from '../helpers/recording-fixtures.js';

/**
 * KEKs in an HSM: a real SoftHSM2 token made by the test. The appliance seals and replays a real recording with
 * its data key wrapped inside the token; `kyc-archive rewrap` moves recordings and exports from the file KEK to
 * the token, `rotate-kek` rotates inside the token, and rewrap moves everything back to a file KEK — each
 * recording still replays and each export still downloads to its signed bytes at every step.
 */

const FIRST_LABEL = 'kek-hsm-first';

function tempDir(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'kyc-hsm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function pinFile(dir: string, token: SoftHsmToken, mode = 0o600): string {
  const path = join(dir, `pin-${mode.toString(8)}`);
  writeFileSync(path, `${token.pin}\n`, { mode });
  chmodSync(path, mode);
  return path;
}

function hsmEnv(token: SoftHsmToken, pin: string, provider: 'file' | 'pkcs11' = 'pkcs11'): Record<string, string> {
  return { KYC_KEK_PROVIDER: provider, KYC_PKCS11_MODULE: token.module, KYC_PKCS11_TOKEN_LABEL: token.tokenLabel, KYC_PKCS11_PIN_FILE: pin, KYC_PKCS11_KEY_LABEL: FIRST_LABEL };
}

/** What an operator's key ceremony does: a first non-extractable AES-256 key in the token. */
async function generateFirstKey(token: SoftHsmToken): Promise<void> {
  const k = await Pkcs11Keyring.open({ ...token, currentLabel: FIRST_LABEL, requireCurrent: false });
  try {
    await k.generateKey(FIRST_LABEL);
  } finally {
    await k.close();
  }
}

function baseEnv(dir: string): Record<string, string> {
  writeFileSync(join(dir, 'client-secret'), 's3cret', { mode: 0o600 });
  return { KYC_PROFILE: 'development', KYC_DATA_DIR: dir, KYC_OIDC_CLIENT_SECRET_FILE: join(dir, 'client-secret') };
}

function problemsOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  return '';
}

t.test('configuration: the pkcs11 provider needs its four keys; the PIN file must be private', async (t) => {
  const token = createSoftHsmToken();
  const dir = tempDir(t);
  const load = (env: Record<string, string>) => loadConfig({ env: { ...baseEnv(dir), ...env }, cwd: dir, allowMissingGeneratedSecrets: true });

  const missing = problemsOf(() => load({ KYC_KEK_PROVIDER: 'pkcs11' }));
  for (const k of ['KYC_PKCS11_MODULE', 'KYC_PKCS11_TOKEN_LABEL', 'KYC_PKCS11_PIN_FILE', 'KYC_PKCS11_KEY_LABEL']) t.match(missing, `${k}: required with KYC_KEK_PROVIDER=pkcs11`);
  t.match(
    problemsOf(() => load({ KYC_PKCS11_MODULE: token.module })),
    'KYC_PKCS11_TOKEN_LABEL: set all of',
    'with the file provider: all four or none',
  );
  t.equal(load({}).recording.pkcs11, null, 'none: the file provider alone');

  const ok = load(hsmEnv(token, pinFile(dir, token)));
  t.same(ok.recording.pkcs11, { module: token.module, tokenLabel: token.tokenLabel, pinFile: join(dir, 'pin-600'), keyLabel: FIRST_LABEL });
  t.equal(ok.recording.kekProvider, 'pkcs11');

  const open = pinFile(dir, token, 0o644);
  t.match(
    problemsOf(() => load(hsmEnv(token, open))),
    `KYC_PKCS11_PIN_FILE: ${open} must not be readable by group or others (chmod 600)`,
    'a world-readable PIN file is refused',
  );
  const group = pinFile(dir, token, 0o640);
  t.match(
    problemsOf(() => load(hsmEnv(token, group))),
    'KYC_PKCS11_PIN_FILE',
    'a group-readable PIN file is refused without group access',
  );
  t.equal(
    problemsOf(() => load({ ...hsmEnv(token, group), KYC_DIR_GROUP_ACCESS: 'true' })),
    '',
    'and accepted with group access (0640)',
  );
  const groupWritable = pinFile(dir, token, 0o660);
  t.match(
    problemsOf(() => load({ ...hsmEnv(token, groupWritable), KYC_DIR_GROUP_ACCESS: 'true' })),
    'must not be writable by its group',
    'never writable by the group',
  );

  t.match(
    problemsOf(() => load({ ...hsmEnv(token, pinFile(dir, token)), KYC_PKCS11_MODULE: join(dir, 'nope.so') })),
    'KYC_PKCS11_MODULE: ',
  );
  t.match(
    problemsOf(() => load({ ...hsmEnv(token, pinFile(dir, token)), KYC_PKCS11_KEY_LABEL: 'a b' })),
    'KYC_PKCS11_KEY_LABEL: letters',
  );
});

t.test('start-up: a wrong PIN or a missing token key stops the keyring with a clear error', async (t) => {
  const token = createSoftHsmToken();
  const dir = tempDir(t);
  const load = (env: Record<string, string>) => loadConfig({ env: { ...baseEnv(dir), ...env }, cwd: dir, allowMissingGeneratedSecrets: true });
  await t.rejects(openKeyring(load(hsmEnv(token, pinFile(dir, token)))), {
    code: 'KYC_ERR_SEALED_KEY',
    message: /KEK hsm-kek-hsm-first is not on token .*: generate it in the token with `kyc-archive rotate-kek`/,
  });
  await generateFirstKey(token);
  const wrongPin = join(dir, 'wrong-pin');
  writeFileSync(wrongPin, '000000\n', { mode: 0o600 });
  await t.rejects(openKeyring(load(hsmEnv(token, wrongPin))), { code: 'KYC_ERR_SEALED_KEY', message: /refused: wrong PIN \(CKR_PIN_INCORRECT\)/ });
  const { keyring } = await openKeyring(load(hsmEnv(token, pinFile(dir, token))));
  t.equal(keyring.currentKeyId(), `hsm-${FIRST_LABEL}`);
  await keyring.close();
});

t.test('kyc-archive rotate-kek with the pkcs11 provider: the first key under the configured label, then new labels recorded in hsm-current', async (t) => {
  const token = createSoftHsmToken();
  const db = await createTestDatabase(allMigrations);
  t.teardown(() => db.drop());
  const dataDir = tempDir(t);
  writeFileSync(join(dataDir, 'oidc-client-secret'), 's3cret', { mode: 0o600 });
  const env = hsmEnv(token, pinFile(dataDir, token));
  const host = { config: { dataDir }, db };
  const first = await kycArchive(host, env, 'rotate-kek');
  t.match(first, { code: 0, json: { ok: true, currentKid: `hsm-${FIRST_LABEL}` } }, 'an empty token gets its first KEK under KYC_PKCS11_KEY_LABEL');
  t.notOk(existsSync(join(dataDir, 'secrets', 'kek', 'hsm-current')), 'the configured label needs no record');
  const second = await kycArchive(host, env, 'rotate-kek');
  t.equal(second.code, 0, JSON.stringify(second.json));
  const label = String(second.json.currentKid).slice('hsm-'.length);
  t.match(label, /^kek-\d{8}-[0-9a-f]{8}$/);
  t.equal((await readFile(join(dataDir, 'secrets', 'kek', 'hsm-current'), 'utf8')).trim(), label, 'a later rotation records its label as current');
  const k = await Pkcs11Keyring.open({ ...token, currentLabel: label });
  t.teardown(() => k.close());
  for (const l of [FIRST_LABEL, label]) {
    t.same(await k.keyAttributes(l), { extractable: false, sensitive: true, token: true, valueReadable: false }, `${l}: a non-extractable token key whose value cannot be read`);
  }
  const wrongPin = join(dataDir, 'wrong-pin');
  writeFileSync(wrongPin, '000000\n', { mode: 0o600 });
  const refused = await kycArchive(host, { ...env, KYC_PKCS11_PIN_FILE: wrongPin }, 'rewrap');
  t.equal(refused.code, 2, 'a wrong PIN stops the command');
  t.match(JSON.stringify(refused.json), /wrong PIN/, 'and says why');
});

t.test('the HSM path seals and replays a real recording; rewrap file → HSM, rotation in the HSM, rewrap HSM → file', async (t) => {
  const token = createSoftHsmToken();
  await generateFirstKey(token);
  const pin = pinFile(tempDir(t), token);
  const hsm = hsmEnv(token, pin);
  const a = await startTestAppliance(t, { env: { ...hsm, KYC_WORKER_IN_PROCESS: 'false' } });
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 4 });
  t.teardown(() => pool.end());
  const auth = async () => ({ authorization: `Bearer ${await a.tokenFor('auditor1')}` });
  const kidOf = async (table: 'recordings' | 'recording_exports', id: string) => (await pool.query<{ kek_id: string }>(`SELECT kek_id FROM ${table} WHERE id = $1`, [id])).rows[0]!.kek_id;

  // R1 sealed before the migration, under a file KEK; R2 sealed by the appliance's keyring, inside the token
  const r1 = await sealFixtureRecording(a, pool, await insertSession(pool, await fixtureCallTimes()));
  const r2 = await sealFixtureRecording(a, pool, await insertSession(pool, await fixtureCallTimes()), a.runtime.ctx.keyring);
  t.equal(r1.status, 'sealed');
  t.equal(r2.status, 'sealed');
  const fileKid = await kidOf('recordings', r1.recordingId);
  t.match(fileKid, /^kek-\d{8}-[0-9a-f]{8}$/);
  t.equal(await kidOf('recordings', r2.recordingId), `hsm-${FIRST_LABEL}`, 'the appliance wraps the data key inside the token');
  const keyJson = JSON.parse(await readFile(join(a.config.recording.archiveDir, r2.recordingId, 'key.json'), 'utf8')) as { kid: string };
  t.equal(keyJson.kid, `hsm-${FIRST_LABEL}`, 'the archive key.json names the token key');

  /** The first 64 KiB of the teller's first segment through the replay API (decrypted with the unwrapped key). */
  const replay = async (recordingId: string): Promise<string> => {
    let res = await a.app.inject({ method: 'POST', url: `/api/recordings/${recordingId}/replay`, headers: await auth() });
    t.equal(res.statusCode, 200, res.body);
    const teller = (res.json() as { parties: Array<{ party: string; segment: number; url: string }> }).parties.find((p) => p.party === 'teller' && p.segment === 1)!;
    res = await a.app.inject({ method: 'GET', url: teller.url, headers: { ...(await auth()), range: 'bytes=0-65535' } });
    t.equal(res.statusCode, 206, `recording ${recordingId === r1.recordingId ? 'R1' : 'R2'} replays`);
    return createHash('sha256').update(res.rawPayload).digest('hex');
  };
  const r1Bytes = await replay(r1.recordingId);
  const r2Bytes = await replay(r2.recordingId);
  const bytesOf = (r: { recordingId: string }) => (r.recordingId === r1.recordingId ? r1Bytes : r2Bytes);

  const exportOnce = (reason: string) => exportAndWait(a, r1.recordingId, reason);
  const downloads = async (what: string, ...exports: Array<{ id: string; sha256: string }>) => {
    for (const e of exports) {
      const res = await a.app.inject({ method: 'GET', url: `/api/exports/${e.id}/file`, headers: await auth() });
      t.equal(res.statusCode, 200, `${what}: export downloads`);
      t.equal(createHash('sha256').update(res.rawPayload).digest('hex'), e.sha256, `${what}: and decrypts to the signed bytes`);
    }
  };
  const e1 = await exportOnce('regulator request 11');
  t.equal(await kidOf('recording_exports', e1.id), `hsm-${FIRST_LABEL}`, 'an export is wrapped inside the token');
  await downloads('HSM-wrapped', e1);

  // file → HSM
  const toHsm = await kycArchive(a, hsm, 'rewrap');
  t.match(toHsm, { code: 0, json: { ok: true, currentKid: `hsm-${FIRST_LABEL}`, rewrapped: 1, rewrappedExports: 0 } }, 'rewrap moves the file-KEK recording into the token');
  t.equal(await kidOf('recordings', r1.recordingId), `hsm-${FIRST_LABEL}`);
  t.equal(await replay(r1.recordingId), r1Bytes, 'R1 replays the same bytes after moving to the HSM');

  // rotation inside the token; the running appliance wraps the next export under the new token key
  const rotated = await kycArchive(a, hsm, 'rotate-kek');
  t.equal(rotated.code, 0, JSON.stringify(rotated.json));
  const newKid = String(rotated.json.currentKid);
  t.match(newKid, /^hsm-kek-\d{8}-[0-9a-f]{8}$/, 'a rotation makes a new token key label');
  t.equal((await readFile(join(a.config.recording.kekDir, 'hsm-current'), 'utf8')).trim(), newKid.slice(4), 'recorded as current in the KEK directory');
  const e2 = await exportOnce('regulator request 12');
  t.equal(await kidOf('recording_exports', e2.id), newKid, 'the running appliance follows the rotation inside the token');
  const moved = await kycArchive(a, hsm, 'rewrap');
  t.match(moved, { code: 0, json: { ok: true, currentKid: newKid, rewrapped: 2, rewrappedExports: 1 } }, 'rewrap moves every key to the new token key');
  for (const r of [r1, r2]) t.equal(await replay(r.recordingId), bytesOf(r), 'replays the same bytes after the rotation in the HSM');
  await downloads('after rotation in the HSM', e1, e2);

  // HSM → file: the file provider, the token still configured to unwrap what it holds
  const fileEnv = { ...hsm, KYC_KEK_PROVIDER: 'file' };
  const back = await kycArchive(a, fileEnv, 'rewrap');
  t.match(back, { code: 0, json: { ok: true, currentKid: fileKid, rewrapped: 2, rewrappedExports: 2 } }, 'rewrap moves everything back to the file KEK');
  const kids = (await pool.query<{ kek_id: string }>('SELECT kek_id FROM recordings UNION SELECT kek_id FROM recording_exports')).rows.map((r) => r.kek_id);
  t.same(kids, [fileKid], 'no data key is wrapped by the token any more');
  for (const r of [r1, r2]) t.equal(await replay(r.recordingId), bytesOf(r), 'replays the same bytes after moving back to the file KEK');
  await downloads('back under the file KEK', e1, e2);
  // and the token is no longer needed: offline decrypt with the file KEK alone (no PKCS#11 configuration)
  const out = tempDir(t);
  const offline = await kycArchive(a, {}, 'decrypt', '--recording', r2.recordingId, '--out', out, '--offline');
  t.match(offline, { code: 0, json: { ok: true, offline: true } }, 'a recording first sealed inside the HSM decrypts from the archive with the file KEK alone');

  const events = await a.auditEvents();
  t.equal(events.filter((e) => e.action === 'recording.key_rewrap').length, 5, 'every recording rewrap is audited (1 + 2 + 2)');
  t.equal(events.filter((e) => e.action === 'recording.export_key_rewrap').length, 3, 'every export rewrap is audited (1 + 2)');
  t.ok(
    events.some((e) => e.action === 'kek.rotate' && e.object?.id === newKid),
    'the rotation inside the token is audited',
  );
});
