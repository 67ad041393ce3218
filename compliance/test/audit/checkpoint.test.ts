import t from 'tap';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { mkdtemp, stat, chmod, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigningKeyFile, generateSigningKey, loadSigningKey, parseSigningKey, parseVerifierKey, signCheckpoint, verifyCheckpoint, openNote } from '../../src/audit/checkpoint.js';
import { EMPTY_ROOT, hashLeaf } from '../../src/audit/merkle.js';

const ORIGIN = 'kyc-appliance.local/audit';

t.test('checkpoint note verifies with plain node:crypto from the published verifier string', async (t) => {
  const { signingKey, verifierKey } = generateSigningKey(ORIGIN);
  const signer = parseSigningKey(signingKey);
  const root = hashLeaf(Buffer.from('x'));
  const note = signCheckpoint({ origin: ORIGIN, size: 1234, rootHash: root }, signer);

  // Parse everything by hand, as a third party with only the spec would.
  // <name>+<hex id>+<base64>: split at the first two '+' only (base64 may contain '+')
  const m1 = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(verifierKey)!;
  const [name, idHex, keyB64] = [m1[1]!, m1[2]!, m1[3]!];
  t.equal(name, ORIGIN);
  const keyBytes = Buffer.from(keyB64, 'base64');
  t.equal(keyBytes.length, 33);
  t.equal(keyBytes[0], 0x01, 'algorithm byte: Ed25519');
  const pub = keyBytes.subarray(1);
  const expectedId = createHash('sha256')
    .update(Buffer.concat([Buffer.from(name), Buffer.from([0x0a, 0x01]), pub]))
    .digest()
    .subarray(0, 4);
  t.equal(idHex, expectedId.toString('hex'), 'key id = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4]');

  const [text, sigBlock] = note.split('\n\n') as [string, string];
  t.equal(`${text}\n`, `${ORIGIN}\n1234\n${root.toString('base64')}\n`, 'C2SP tlog-checkpoint body');
  const m = /^\u2014 (\S+) (\S+)\n$/.exec(sigBlock);
  t.ok(m, 'signature line: em dash, name, base64');
  t.equal(m![1], ORIGIN);
  const sig = Buffer.from(m![2]!, 'base64');
  t.equal(sig.subarray(0, 4).toString('hex'), idHex, 'signature starts with the key id');
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]);
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  t.ok(verify(null, Buffer.from(`${text}\n`), key, sig.subarray(4)), 'standard Ed25519 verification succeeds');
  t.notOk(verify(null, Buffer.from(`${text.replace('1234', '1235')}\n`), key, sig.subarray(4)), 'and fails on an altered size');

  const cp = verifyCheckpoint(note, verifierKey, ORIGIN);
  t.equal(cp.size, 1234);
  t.same(cp.rootHash, root);
});

t.test('wrong key, altered text and wrong origin are refused', async (t) => {
  const a = generateSigningKey(ORIGIN);
  const b = generateSigningKey(ORIGIN);
  const note = signCheckpoint({ origin: ORIGIN, size: 0, rootHash: EMPTY_ROOT }, parseSigningKey(a.signingKey));
  t.throws(() => verifyCheckpoint(note, b.verifierKey), /no signature by/);
  t.throws(() => verifyCheckpoint(note.replace('\n0\n', '\n1\n'), a.verifierKey), /invalid signature/);
  t.throws(() => verifyCheckpoint(note, a.verifierKey, 'other.origin/log'), /origin/);
  // a forged signature under the right name and key id
  const forged = signCheckpoint({ origin: ORIGIN, size: 0, rootHash: EMPTY_ROOT }, { ...parseSigningKey(b.signingKey), keyId: parseVerifierKey(a.verifierKey).keyId });
  t.throws(() => openNote(forged, parseVerifierKey(a.verifierKey)), /invalid signature/);
  t.throws(() => parseVerifierKey(a.verifierKey.replace(/\+[0-9a-f]{8}\+/, '+00000000+')), /key id/);
});

t.test('key file: created 0600, never overwritten, refused when others can read it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-key-'));
  const path = join(dir, 'audit-signing.key');
  const { verifierKey } = await createSigningKeyFile(path, ORIGIN);
  t.equal((await stat(path)).mode & 0o777, 0o600);
  const signer = await loadSigningKey(path);
  t.equal(signer.verifierKey, verifierKey);
  await t.rejects(createSigningKeyFile(path, ORIGIN), { code: 'EEXIST' });
  await chmod(path, 0o640);
  await t.rejects(loadSigningKey(path), { code: 'KYC_ERR_AUDIT_KEY' });
  await writeFile(join(dir, 'bad.key'), 'PRIVATE+KEY+x+00000000+AQ==\n', { mode: 0o600 });
  await t.rejects(loadSigningKey(join(dir, 'bad.key')), /signing key/);
});
