import t from 'tap';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureOwnTls } from '../../src/pki/certificate-authority.js';
import { ensureDocumentSigner, fileSha256, signDetached, signDigest } from '../../src/pki/document-signing.js';
import { createHash, randomBytes } from 'node:crypto';

const run = promisify(execFile);

t.test('document-signing certificate from the appliance CA; detached CMS that openssl verifies', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kyc-signing-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  ensureOwnTls(dir, ['localhost']);
  const caBefore = readFileSync(join(dir, 'pki/ca.crt'), 'utf8');
  const signer = ensureDocumentSigner(dir, ['localhost']);
  t.equal(readFileSync(join(dir, 'pki/ca.crt'), 'utf8'), caBefore, 'the existing CA is reused');
  t.equal(statSync(join(dir, 'pki/signing.key')).mode & 0o777, 0o600, 'signing key is 0600');
  const cert = new X509Certificate(signer.certPem);
  t.ok(cert.verify(new X509Certificate(caBefore).publicKey), 'issued by the appliance CA');
  t.notOk(cert.ca);
  t.equal(ensureDocumentSigner(dir, ['localhost']).certPem, signer.certPem, 'kept while valid');

  const content = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
  writeFileSync(join(dir, 'doc.bin'), content);
  writeFileSync(join(dir, 'doc.p7s'), signDetached(content, signer));
  const verify = (file: string) =>
    run('openssl', [
      'cms',
      '-verify',
      '-purpose',
      'any',
      '-binary',
      '-inform',
      'DER',
      '-in',
      join(dir, 'doc.p7s'),
      '-content',
      join(dir, file),
      '-CAfile',
      signer.caCertPath,
      '-out',
      '/dev/null',
    ]);
  await t.resolves(verify('doc.bin'), 'openssl cms -verify accepts it');
  const printed = (await run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', join(dir, 'doc.p7s')])).stdout;
  t.match(printed, /eContent: <ABSENT>/, 'detached');
  t.match(printed, /signingTime/);
  t.match(printed, /sha256/);
  content[123] = (content[123] ?? 0) ^ 0xff;
  writeFileSync(join(dir, 'changed.bin'), content);
  await t.rejects(verify('changed.bin'), 'a changed byte fails verification');

  // A long export: hashed as a stream, signed from its digest; openssl checks the same signature over the file.
  const big = join(dir, 'export.mp4');
  const chunk = randomBytes(1 << 20);
  writeFileSync(big, Buffer.concat(Array.from({ length: 48 }, () => chunk)));
  const { sha256, bytes } = await fileSha256(big);
  t.equal(bytes, 48 << 20);
  t.same(sha256, createHash('sha256').update(readFileSync(big)).digest(), 'the streamed digest is the file digest');
  writeFileSync(join(dir, 'doc.p7s'), signDigest(sha256, signer, new Date('2026-12-03T10:00:00Z')));
  await t.resolves(verify('export.mp4'), 'openssl cms -verify accepts the signature made from the digest');
  const shown = (await run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', join(dir, 'doc.p7s')])).stdout;
  t.match(shown, /UTCTIME:Dec {2}3 10:00:00 2026 GMT/, 'the signing time given');
  t.throws(() => signDigest(Buffer.alloc(31), signer), /32 bytes/);
});
