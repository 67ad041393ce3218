import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileKeyring, LiveKeyring, newDataKey } from '../../src/sealed-media/keys.js';
import { KeyringSet } from '../../src/sealed-media/keyring-set.js';
import { Pkcs11Keyring, hsmKid } from '../../src/sealed-media/pkcs11-keyring.js';
import { createSoftHsmToken } from '../../src/testing/softhsm.js';

const keyError = { name: 'SealedMediaError', code: 'KYC_ERR_SEALED_KEY' };

type T = Parameters<Parameters<typeof t.test>[0]>[0];

/** A token with a first KEK `kek-a` generated inside it, and a keyring logged in to it. */
async function tokenWithKey(t: T): Promise<{ keyring: Pkcs11Keyring; token: ReturnType<typeof createSoftHsmToken> }> {
  const token = createSoftHsmToken();
  const setup = await Pkcs11Keyring.open({ ...token, currentLabel: 'setup' }).catch((err: unknown) => err);
  t.match(setup, { ...keyError, message: /KEK hsm-setup is not on token/ }, 'a keyring whose current key is missing does not open');
  const maker = await Pkcs11Keyring.open({ ...token, currentLabel: 'kek-a', requireCurrent: false });
  await maker.generateKey('kek-a');
  await maker.close();
  const keyring = await Pkcs11Keyring.open({ ...token, currentLabel: 'kek-a' });
  t.teardown(() => keyring.close());
  return { keyring, token };
}

t.test('a data key wraps and unwraps inside the token, bound to its kid and context', async (t) => {
  const { keyring } = await tokenWithKey(t);
  t.equal(keyring.currentKeyId(), hsmKid('kek-a'));
  t.equal(keyring.currentKeyId(), 'hsm-kek-a', 'an HSM kid names its provider');
  const dataKey = newDataKey();
  const wrapped = await keyring.wrap(dataKey, 'recording-1');
  t.equal(wrapped.kid, 'hsm-kek-a');
  t.equal(wrapped.wrapped.length, 61);
  t.notOk(wrapped.wrapped.includes(dataKey), 'the data key is not in the wrapped form');
  t.same(await keyring.unwrap(wrapped, 'recording-1'), dataKey, 'round trip');
  const again = await keyring.wrap(dataKey, 'recording-1');
  t.not(again.wrapped.toString('hex'), wrapped.wrapped.toString('hex'), 'a fresh IV per wrap');

  await t.rejects(keyring.unwrap(wrapped, 'recording-2'), { ...keyError, message: /does not unwrap with KEK hsm-kek-a/ }, 'a wrapped key moved onto another recording does not unwrap');
  const flipped = Buffer.from(wrapped.wrapped);
  flipped[20]! ^= 1;
  await t.rejects(keyring.unwrap({ kid: wrapped.kid, wrapped: flipped }, 'recording-1'), keyError, 'an altered wrapped key does not unwrap');
  await t.rejects(keyring.unwrap({ kid: 'hsm-kek-b', wrapped: wrapped.wrapped }, 'recording-1'), { ...keyError, message: /hsm-kek-b is not on token/ }, 'an unknown token key is reported');
  t.same(await keyring.unwrap(wrapped, 'recording-1'), dataKey, 'the session still works after failed operations');

  // many operations at once on the one session: serialized, every one right
  const keys = Array.from({ length: 64 }, () => newDataKey());
  const all = await Promise.all(keys.map((k, i) => keyring.wrap(k, `r-${i}`)));
  const back = await Promise.all(all.map((w, i) => keyring.unwrap(w, `r-${i}`)));
  t.ok(
    back.every((k, i) => k.equals(keys[i]!)),
    '64 concurrent wraps and unwraps on one session all round-trip',
  );
});

t.test('the KEK is a non-extractable, sensitive token object: its value cannot be read', async (t) => {
  const { keyring } = await tokenWithKey(t);
  t.same(await keyring.keyAttributes('kek-a'), { extractable: false, sensitive: true, token: true, valueReadable: false });
});

t.test('a wrong PIN is refused with a clear error; an unknown token is named', async (t) => {
  const { keyring, token } = await tokenWithKey(t);
  await keyring.close(); // the login state is the process's: a keyring still logged in would hide the wrong PIN
  await t.rejects(Pkcs11Keyring.open({ ...token, pin: `${token.pin}0`, currentLabel: 'kek-a' }), { ...keyError, message: /login to token .* refused: wrong PIN \(CKR_PIN_INCORRECT\)/ });
  await t.rejects(Pkcs11Keyring.open({ ...token, tokenLabel: 'no-such-token', currentLabel: 'kek-a' }), { ...keyError, message: /no PKCS#11 token labelled "no-such-token"/ });
  await t.rejects(Pkcs11Keyring.open({ ...token, module: '/nonexistent/libpkcs11.so', currentLabel: 'kek-a' }), { ...keyError, message: /cannot load the PKCS#11 module/ });
  await t.rejects(Pkcs11Keyring.open({ ...token, currentLabel: 'bad label!' }), { ...keyError, message: /not a plain label/ });
});

t.test('rotation inside the token: a new label becomes current through the label file; older keys still unwrap', async (t) => {
  const { keyring, token } = await tokenWithKey(t);
  const dir = await mkdtemp(join(tmpdir(), 'kyc-hsm-current-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const labelFile = join(dir, 'hsm-current');
  const live = await Pkcs11Keyring.open({ ...token, currentLabel: 'kek-a', currentLabelFile: labelFile });
  t.teardown(() => live.close());
  const first = await live.wrap(newDataKey(), 'x');
  t.equal(first.kid, 'hsm-kek-a', 'no label file: the configured label is current');
  await keyring.generateKey('kek-b');
  await t.rejects(keyring.generateKey('kek-b'), { ...keyError, message: /already holds a key labelled kek-b/ });
  await writeFile(labelFile, 'kek-b\n');
  const second = await live.wrap(newDataKey(), 'x');
  t.equal(second.kid, 'hsm-kek-b', 'the next wrap follows the label file');
  t.equal(live.currentKeyId(), 'hsm-kek-b');
  t.ok(await live.unwrap(first, 'x'), 'a key wrapped under the older token KEK still unwraps');
});

t.test('KeyringSet: wraps with the configured provider and unwraps file and HSM kids alike', async (t) => {
  const { token } = await tokenWithKey(t);
  const base = await mkdtemp(join(tmpdir(), 'kyc-kek-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const dir = join(base, 'kek');
  await FileKeyring.openOrCreate(dir);
  const hsm = await Pkcs11Keyring.open({ ...token, currentLabel: 'kek-a' });
  const viaHsm = new KeyringSet('pkcs11', new LiveKeyring(dir), hsm);
  t.teardown(() => viaHsm.close());
  const viaFile = new KeyringSet('file', new LiveKeyring(dir), hsm);
  const fileOnly = new KeyringSet('file', new LiveKeyring(dir), null);
  await viaFile.refresh();
  t.match(viaFile.currentKeyId(), /^kek-\d{8}-[0-9a-f]{8}$/);
  t.equal(await viaHsm.refresh(), 'hsm-kek-a');
  const k1 = newDataKey();
  const k2 = newDataKey();
  const w1 = await viaFile.wrap(k1, 'c1');
  const w2 = await viaHsm.wrap(k2, 'c2');
  t.match(w1.kid, /^kek-/);
  t.equal(w2.kid, 'hsm-kek-a');
  for (const set of [viaFile, viaHsm]) {
    t.same(await set.unwrap(w1, 'c1'), k1, `${set.provider}: a file-KEK key unwraps`);
    t.same(await set.unwrap(w2, 'c2'), k2, `${set.provider}: an HSM-KEK key unwraps`);
  }
  await t.rejects(fileOnly.unwrap(w2, 'c2'), { ...keyError, message: /held by an HSM but no PKCS#11 token is configured/ });
  t.throws(() => new KeyringSet('pkcs11', new LiveKeyring(dir), null), keyError);
});
