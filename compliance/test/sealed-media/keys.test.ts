import t from 'tap';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileKeyring, createKek, newDataKey, rewrapDataKey, WRAPPED_KEY_SIZE } from '../../src/sealed-media/keys.js';

type T = Parameters<Parameters<typeof t.test>[0]>[0];

async function kekDir(t: T): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), 'kyc-kek-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  return join(base, 'kek');
}

const keyError = { name: 'SealedMediaError', code: 'KYC_ERR_SEALED_KEY' };

t.test('first use creates a private KEK directory with one current KEK', async (t) => {
  const dir = await kekDir(t);
  const { keyring, created } = await FileKeyring.openOrCreate(dir);
  t.ok(created);
  t.equal(keyring.currentKeyId(), created);
  t.match(created, /^kek-\d{8}-[0-9a-f]{8}$/);
  t.equal((await stat(dir)).mode & 0o777, 0o700);
  for (const name of await readdir(dir)) t.equal((await stat(join(dir, name))).mode & 0o777, 0o600, `${name} is 0600`);
  const again = await FileKeyring.openOrCreate(dir);
  t.equal(again.created, null, 'a second start reuses it');
  t.equal(again.keyring.currentKeyId(), created);
});

t.test('wrap and unwrap a data key, bound to the recording', async (t) => {
  const { keyring } = await FileKeyring.openOrCreate(await kekDir(t));
  const dk = newDataKey();
  const w = await keyring.wrap(dk, 'rec-1');
  t.equal(w.wrapped.length, WRAPPED_KEY_SIZE);
  t.notOk(w.wrapped.includes(dk), 'the wrapped form does not contain the key');
  t.same(await keyring.unwrap(w, 'rec-1'), dk);
  await t.rejects(keyring.unwrap(w, 'rec-2'), keyError, 'moved to another recording: refused');
  const bad = Buffer.from(w.wrapped);
  bad[20]! ^= 1;
  await t.rejects(keyring.unwrap({ kid: w.kid, wrapped: bad }, 'rec-1'), keyError, 'altered wrapped key: refused');
  await t.rejects(keyring.unwrap({ kid: 'kek-20000101-00000000', wrapped: w.wrapped }, 'rec-1'), keyError, 'unknown kid: refused');
});

t.test('a wrong KEK does not unwrap', async (t) => {
  const a = (await FileKeyring.openOrCreate(await kekDir(t))).keyring;
  const b = (await FileKeyring.openOrCreate(await kekDir(t))).keyring;
  const w = await a.wrap(newDataKey(), 'rec-1');
  // same kid name in another installation, different key material
  const dirB = join(b.dir);
  const kidB = b.currentKeyId();
  const fileB = JSON.parse(await readFile(join(dirB, `${kidB}.kek`), 'utf8')) as { key: string };
  const forged = { v: 1, kid: w.kid, alg: 'A256GCMKW', key: fileB.key, createdAt: new Date().toISOString() };
  await writeFile(join(dirB, `${w.kid}.kek`), JSON.stringify(forged), { mode: 0o600 });
  const b2 = await FileKeyring.open(dirB);
  await t.rejects(b2.unwrap(w, 'rec-1'), keyError);
});

t.test('rotation: a new KEK becomes current, old ones still unwrap, rewrap moves keys', async (t) => {
  const dir = await kekDir(t);
  const { keyring: k1 } = await FileKeyring.openOrCreate(dir);
  const dk = newDataKey();
  const old = await k1.wrap(dk, 'rec-1');
  const kid2 = await createKek(dir);
  const k2 = await FileKeyring.open(dir);
  t.equal(k2.currentKeyId(), kid2);
  t.not(kid2, old.kid);
  t.same(k2.keyIds().sort(), [old.kid, kid2].sort());
  t.same(await k2.unwrap(old, 'rec-1'), dk, 'the old KEK still unwraps');
  const moved = await rewrapDataKey(k2, old, 'rec-1');
  t.ok(moved);
  t.equal(moved!.kid, kid2);
  t.same(await k2.unwrap(moved!, 'rec-1'), dk);
  t.equal(await rewrapDataKey(k2, moved!, 'rec-1'), null, 'already current: nothing to do');
  // destroying the old KEK shreds what only it wraps, and leaves the rewrapped key usable
  await unlink(join(dir, `${old.kid}.kek`));
  const k3 = await FileKeyring.open(dir);
  await t.rejects(k3.unwrap(old, 'rec-1'), keyError);
  t.same(await k3.unwrap(moved!, 'rec-1'), dk);
});

t.test('refuses readable KEK files, malformed ones and a missing current', async (t) => {
  const dir = await kekDir(t);
  const { keyring } = await FileKeyring.openOrCreate(dir);
  const file = join(dir, `${keyring.currentKeyId()}.kek`);
  await chmod(file, 0o644);
  await t.rejects(FileKeyring.open(dir), keyError, 'group-readable KEK file');
  await chmod(file, 0o600);
  await chmod(dir, 0o755);
  await t.rejects(FileKeyring.open(dir), keyError, 'group-readable directory');
  await chmod(dir, 0o700);
  await writeFile(join(dir, 'kek-20260101-0000000a.kek'), JSON.stringify({ v: 1, kid: 'kek-20260101-0000000a', alg: 'A256GCMKW', key: randomBytes(16).toString('base64') }), { mode: 0o600 });
  await t.rejects(FileKeyring.open(dir), keyError, 'a 128-bit key');
  await unlink(join(dir, 'kek-20260101-0000000a.kek'));
  await writeFile(join(dir, 'current'), 'kek-20990101-deadbeef\n', { mode: 0o600 });
  await t.rejects(FileKeyring.open(dir), keyError, 'current names no KEK');
  await t.rejects(FileKeyring.open(join(dir, 'nope')), keyError, 'missing directory');
});
