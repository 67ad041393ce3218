import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureOwnTls } from '../../src/pki/certificate-authority.js';

t.test('creates a CA and a server certificate it signed, with the names asked for', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kyc-pki-'));
  const tls = ensureOwnTls(dir, ['127.0.0.1', 'localhost', 'kyc.branch.local']);
  t.equal(tls.caCertPath, join(dir, 'pki/ca.crt'));
  const caPem = readFileSync(join(dir, 'pki/ca.crt'), 'utf8');
  const ca = new X509Certificate(caPem);
  const server = new X509Certificate(readFileSync(join(dir, 'pki/server.crt')));
  t.ok(ca.ca, 'CA certificate is a CA');
  t.ok(server.verify(ca.publicKey), 'server certificate signed by the CA');
  t.ok(server.checkIP('127.0.0.1'));
  t.ok(server.checkHost('kyc.branch.local'));
  t.equal(statSync(join(dir, 'pki/ca.key')).mode & 0o777, 0o600);
  t.equal(statSync(join(dir, 'pki/server.key')).mode & 0o777, 0o600);

  const again = ensureOwnTls(dir, ['127.0.0.1', 'localhost', 'kyc.branch.local']);
  t.equal(again.cert, tls.cert, 'a second start reuses the certificate');
  const more = ensureOwnTls(dir, ['127.0.0.1', 'localhost', 'kyc.branch.local', 'kyc2.branch.local']);
  t.not(more.cert, tls.cert, 'a new name re-issues the server certificate');
  t.equal(readFileSync(join(dir, 'pki/ca.crt'), 'utf8'), caPem, 'the CA is kept');
});
