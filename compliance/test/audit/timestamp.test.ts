/**
 * RFC 3161 timestamps on signed checkpoints, against a real time-stamping authority (`openssl ts -reply` behind an
 * HTTP server): the checkpointer stores a token beside each checkpoint, the verifier checks each one against the
 * pinned TSA certificate, and OpenSSL's own `ts -verify` accepts the same tokens.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Checkpointer } from '../../src/audit/checkpointer.js';
import { parseTsaCertificates, Timestamper, timestampRequest, tokenFromResponse, verifyTimestampToken, TIMESTAMP_TOKEN_SUFFIX } from '../../src/audit/timestamp.js';
import { isAuditError } from '../../src/audit/errors.js';
import { signedTestLog } from '../helpers/signed-log.js';
import { kycAudit } from '../helpers/kyc-audit-cli.js';
import { startTestTsa, type TestTsa } from '../../src/testing/tsa.js';

const run = promisify(execFile);
const ORIGIN = 'kyc-appliance.test/audit';
const event = (i: number) => ({
  actor: { username: 'system', roles: [], auth: 'system' as const },
  action: 'case.create',
  object: { type: 'case', id: `c${i}` },
  result: 'success' as const,
});

async function tsa(t: { teardown(fn: () => unknown): void }, opts?: Parameters<typeof startTestTsa>[0]): Promise<TestTsa> {
  const s = await startTestTsa(opts);
  t.teardown(() => s.close());
  return s;
}

function auditCode(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return isAuditError(err, 'KYC_ERR_AUDIT_TIMESTAMP') ? err.message : `other error: ${String(err)}`;
  }
}

t.test('a token from a real TSA verifies against its certificate, and only for the data, the certificate and the bytes it was issued for', async (t) => {
  const a = await tsa(t, { name: 'Alpha' });
  const b = await tsa(t, { name: 'Beta' });
  const certs = parseTsaCertificates(await readFile(a.certFile, 'utf8'));
  const data = Buffer.from('kyc-appliance.test/audit\n5\nroot\n');
  const token = await new Timestamper({ url: a.url, tsaCerts: certs }).stamp(data);
  const info = verifyTimestampToken(token, data, certs);
  t.ok(Math.abs(info.genTime.getTime() - Date.now()) < 120_000, `the TSA's time is now (${info.genTime.toISOString()})`);
  t.equal(info.policy, '1.3.6.1.4.1.99999.1', 'the TSA policy');
  t.equal(info.tsaCert, certs[0]!.fingerprint256, 'names the pinned certificate');

  // OpenSSL's own verifier accepts the same token over the same data
  const f = join(a.dir, 'check');
  await writeFile(`${f}.data`, data);
  await writeFile(`${f}.tst`, token);
  const { stdout } = await run('openssl', ['ts', '-verify', '-data', `${f}.data`, '-in', `${f}.tst`, '-token_in', '-CAfile', a.caFile, '-untrusted', a.certFile]);
  t.match(stdout, /Verification: OK/, 'openssl ts -verify: OK');

  t.match(
    auditCode(() => verifyTimestampToken(token, Buffer.from('other data'), certs)),
    /message imprint differs/,
    'other data: refused',
  );
  const otherCerts = parseTsaCertificates(await readFile(b.certFile, 'utf8'));
  t.match(
    auditCode(() => verifyTimestampToken(token, data, otherCerts)),
    /not issued with the given TSA certificate/,
    "another TSA's certificate: refused",
  );
  t.equal(
    auditCode(() => verifyTimestampToken(token, data, [...otherCerts, ...certs])),
    null,
    'a file with several certificates (renewal): the matching one is used',
  );

  // flip one byte inside the signed TSTInfo (its genTime): the signed digest no longer matches
  const altered = Buffer.from(token);
  const at = altered.indexOf(Buffer.from(info.genTime.toISOString().slice(0, 4)), 0);
  t.ok(at > 0, 'genTime found in the token');
  altered[at + 3] = altered[at + 3]! ^ 1;
  t.match(
    auditCode(() => verifyTimestampToken(altered, data, certs)),
    /message digest does not match|malformed/,
    'an altered token: refused',
  );
  // flip a byte of the signature (the last bytes of the token)
  const badSig = Buffer.from(token);
  badSig[badSig.length - 5] = badSig[badSig.length - 5]! ^ 0xff;
  t.match(
    auditCode(() => verifyTimestampToken(badSig, data, certs)),
    /signature does not verify/,
    'a broken signature: refused',
  );
  t.match(
    auditCode(() => verifyTimestampToken(Buffer.from('not der at all'), data, certs)),
    /malformed DER/,
    'garbage: refused with a clear reason',
  );

  // a token from Beta, given Beta's certificate, still must be for the data
  const tokenB = await new Timestamper({ url: b.url }).stamp(data);
  t.equal(
    auditCode(() => verifyTimestampToken(tokenB, data, otherCerts)),
    null,
    "Beta's token verifies with Beta's certificate",
  );
});

t.test('a TSA whose certificate is not for time stamping is refused; a refused request is reported', async (t) => {
  const plain = await tsa(t, { name: 'Plain', certExtension: 'plain_ext' });
  const certs = parseTsaCertificates(await readFile(plain.certFile, 'utf8'));
  const data = Buffer.from('checkpoint');
  // openssl itself refuses to sign with a certificate lacking the timeStamping usage: the TSA fails
  const err = await new Timestamper({ url: plain.url, tsaCerts: certs }).stamp(data).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(isAuditError(err, 'KYC_ERR_AUDIT_TIMESTAMP'), `refused: ${String(err)}`);
  // a rejection status (PKIStatus 2) in a well-formed reply
  const rejection = Buffer.from('30053003020102', 'hex');
  t.match(
    auditCode(() => tokenFromResponse(rejection)),
    /refused the request \(PKIStatus 2\)/,
  );
  t.ok(timestampRequest(data, Buffer.from([0x80, 1])).length > 40, 'a request with a high-bit nonce encodes');
});

t.test('every checkpoint gets a token beside it; kyc-audit verify --tsa-cert checks them; a TSA that is down delays tokens, never checkpoints', async (t) => {
  const a = await tsa(t, { name: 'Bank' });
  const b = await tsa(t, { name: 'Other' });
  const certs = parseTsaCertificates(await readFile(a.certFile, 'utf8'));
  const { db, pool, signer, log, dir } = await signedTestLog(t, ORIGIN);
  const errors: unknown[] = [];
  const stampDir = join(dir, 'stamped');
  const cp = new Checkpointer({
    log,
    signer,
    origin: ORIGIN,
    dir: stampDir,
    everyEvents: 1_000_000,
    everyMs: 3_600_000,
    pollMs: 50,
    timestamper: new Timestamper({ url: a.url, tsaCerts: certs }),
    onError: (err) => errors.push(err),
  });
  await cp.start();
  t.teardown(() => cp.close().catch(() => undefined));

  for (let i = 0; i < 3; i++) await log.append(event(i));
  await log.sequence();
  const first = await cp.checkpointNow();
  t.ok(first, 'a checkpoint was written');
  const names = await readdir(stampDir);
  const cpName = names.find((n) => n.endsWith('.checkpoint'))!;
  t.ok(names.includes(`${cpName}${TIMESTAMP_TOKEN_SUFFIX}`), `its token is beside it (${cpName}${TIMESTAMP_TOKEN_SUFFIX})`);

  const base = ['verify', '--db', db.superUrl, '--checkpoints', stampDir, '--verifier-key', signer.verifierKey];
  const ok = await kycAudit([...base, '--tsa-cert', a.certFile, '--require-timestamps']);
  t.equal(ok.code, 0, `verified with the pinned TSA certificate (${JSON.stringify(ok.json).slice(0, 300)})`);
  const ts = ok.json.timestamps as { tokens: number; valid: number; missing: number; latestGenTime: string | null };
  t.same({ tokens: ts.tokens, valid: ts.valid, missing: ts.missing }, { tokens: 1, valid: 1, missing: 0 });
  t.ok(ts.latestGenTime, 'the latest TSA time is reported');

  const wrongTsa = await kycAudit([...base, '--tsa-cert', b.certFile]);
  t.equal(wrongTsa.code, 1, 'pinned to another TSA: fails');
  t.match(String(wrongTsa.json.reason), /not issued with the given TSA certificate/);

  // the TSA goes down: checkpoints go on, unstamped; when it returns the backlog is stamped
  a.down();
  for (let i = 3; i < 6; i++) await log.append(event(i));
  await log.sequence();
  const second = await cp.checkpointNow();
  t.ok(second, 'a checkpoint is written while the TSA is down');
  t.ok(
    errors.some((e) => isAuditError(e, 'KYC_ERR_AUDIT_TIMESTAMP')),
    'the failure was reported to the operator',
  );
  const unstampedName = second!.file.split('/').pop()!;
  t.notOk((await readdir(stampDir)).includes(`${unstampedName}${TIMESTAMP_TOKEN_SUFFIX}`), 'no token yet');
  const missing = await kycAudit([...base, '--tsa-cert', a.certFile]);
  t.equal(missing.code, 0, 'without --require-timestamps a missing token is reported, not a failure');
  t.equal((missing.json.timestamps as { missing: number }).missing, 1);
  const required = await kycAudit([...base, '--tsa-cert', a.certFile, '--require-timestamps']);
  t.equal(required.code, 1, 'with --require-timestamps it fails');
  t.match(String(required.json.reason), /1 checkpoints have no timestamp token/);

  a.up();
  // the retry waits out its back-off; a restarted checkpointer picks the backlog up at once
  await cp.close();
  const restarted = new Checkpointer({
    log,
    signer,
    origin: ORIGIN,
    dir: stampDir,
    everyEvents: 1_000_000,
    everyMs: 3_600_000,
    pollMs: 50,
    timestamper: new Timestamper({ url: a.url, tsaCerts: certs }),
  });
  await restarted.start();
  t.teardown(() => restarted.close().catch(() => undefined));
  const deadline = Date.now() + 20_000;
  while (!(await readdir(stampDir)).includes(`${unstampedName}${TIMESTAMP_TOKEN_SUFFIX}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.ok((await readdir(stampDir)).includes(`${unstampedName}${TIMESTAMP_TOKEN_SUFFIX}`), 'the backlog was stamped once the TSA answered');
  const all = await kycAudit([...base, '--tsa-cert', a.certFile, '--require-timestamps']);
  t.equal(all.code, 0, `every checkpoint has a valid token (${JSON.stringify(all.json.timestamps)})`);

  // a token replaced by one for another checkpoint: caught
  const tokens = (await readdir(stampDir)).filter((n) => n.endsWith(TIMESTAMP_TOKEN_SUFFIX)).sort();
  t.equal(tokens.length, 2);
  await writeFile(join(stampDir, tokens[1]!), await readFile(join(stampDir, tokens[0]!)));
  const swapped = await kycAudit([...base, '--tsa-cert', a.certFile]);
  t.equal(swapped.code, 1, 'a token moved onto another checkpoint fails');
  t.match(String(swapped.json.reason), /message imprint differs/);
  // an orphan token (its checkpoint deleted) is named
  await unlink(join(stampDir, tokens[1]!.slice(0, -TIMESTAMP_TOKEN_SUFFIX.length)));
  const orphan = await kycAudit([...base, '--tsa-cert', a.certFile]);
  t.equal(orphan.code, 1);
  t.match(JSON.stringify(orphan.json.details), /a token without its checkpoint/);

  // bundles carry the tokens and verify the same way
  const out = join(dir, 'bundle');
  await rm(out, { recursive: true, force: true });
  await writeFile(join(stampDir, tokens[1]!), await readFile(join(stampDir, tokens[0]!)));
  await rm(join(stampDir, tokens[1]!));
  const exported = await kycAudit(['export', '--db', db.superUrl, '--checkpoints', stampDir, out]);
  t.equal(exported.code, 0, 'exported');
  const bundle = await kycAudit(['verify-bundle', out, '--verifier-key', signer.verifierKey, '--tsa-cert', a.certFile]);
  t.equal(bundle.code, 0, `bundle verified with its token (${JSON.stringify(bundle.json.timestamps)})`);
  t.equal((bundle.json.timestamps as { valid: number }).valid, 1);
  const usage = await kycAudit([...base, '--require-timestamps']);
  t.equal(usage.code, 2, '--require-timestamps without --tsa-cert is a usage error');
  await pool.query('SELECT 1');
});
