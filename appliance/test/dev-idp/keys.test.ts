import t from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, importJWK, SignJWT, jwtVerify } from 'jose';
import { generateSigningKeys, loadOrCreateSigningKeys, parseSigningKeys, publicJwks } from '../../src/dev-idp/keys.js';

t.test('generated keys: RS256 private JWK whose kid is its RFC 7638 thumbprint; the public form signs nothing', async (t) => {
  const { keys } = await generateSigningKeys();
  t.equal(keys.length, 1);
  const key = keys[0]!;
  t.match(key, { kty: 'RSA', alg: 'RS256', use: 'sig', d: String });
  t.equal(key.kid, await calculateJwkThumbprint({ kty: 'RSA', n: key.n, e: key.e }));
  const pub = publicJwks({ keys }).keys[0]!;
  t.same(Object.keys(pub).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
  const jwt = await new SignJWT({ a: 1 }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(await importJWK(key, 'RS256'));
  const { payload } = await jwtVerify(jwt, await importJWK(pub, 'RS256'));
  t.equal(payload.a, 1, 'public half verifies what the private half signed');
});

t.test('loadOrCreateSigningKeys creates the file once, then returns the same keys', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dev-idp-keys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'nested', 'jwks.json');
  const created = await loadOrCreateSigningKeys(file);
  const loaded = await loadOrCreateSigningKeys(file);
  t.same(loaded, created);
  t.same(JSON.parse(await readFile(file, 'utf8')), created);
});

t.test('a key file without private keys, or not a JWKS, is refused with the file named', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dev-idp-keys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'jwks.json');
  await writeFile(file, JSON.stringify(publicJwks(await generateSigningKeys())));
  await t.rejects(loadOrCreateSigningKeys(file), new RegExp(`${file}: key 0 is not an RS256 private signing key \\(missing d, p, q, dp, dq, qi\\)`));
  t.throws(() => parseSigningKeys({ keys: [] }, 'x'), /x: expected a JWKS with at least one key/);
  t.throws(() => parseSigningKeys(null, 'x'), /expected a JWKS/);
});
