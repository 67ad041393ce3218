import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { createServerCertificate, ensureOwnTls, newRsaKey } from '../../src/pki/certificate-authority.js';
import { DOCUMENT_SIGNING_EKU, ensureDocumentSigner } from '../../src/pki/document-signing.js';

const run = promisify(execFile);

t.test('the CA branch PCs trust is name-constrained; the document-signing certificate signs documents only', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kyc-ca-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const names = ['127.0.0.1', 'localhost', 'kyc.bank.local'];
  ensureOwnTls(dir, names);
  const caPem = readFileSync(join(dir, 'pki/ca.crt'), 'utf8');
  const ca = forge.pki.certificateFromPem(caPem);
  const nc = ca.getExtension('nameConstraints') as { critical?: boolean; permittedSubtrees?: Array<{ type: number; value: string }> } | null;
  t.ok(nc, 'the CA carries name constraints');
  t.equal(nc?.critical, true, 'marked critical');
  const dns = (nc?.permittedSubtrees ?? [])
    .filter((s) => s.type === 2)
    .map((s) => s.value)
    .sort();
  t.same(dns, ['kyc.bank.local', 'localhost'], "permitted DNS names are the appliance's");
  const ips = (nc?.permittedSubtrees ?? []).filter((s) => s.type === 7).map((s) => Buffer.from(s.value, 'binary').toString('hex'));
  t.same(ips, ['7f000001ffffffff'], 'and its address, as a /32');
  t.match(ca.getExtension('basicConstraints'), { cA: true, pathLenConstraint: 0 }, 'signs no intermediate CA');

  // the constraints hold where it matters: a client verifying a certificate for another name refuses it
  const evilKey = newRsaKey().privatePem;
  const caKey = readFileSync(join(dir, 'pki/ca.key'), 'utf8');
  writeFileSync(join(dir, 'evil.crt'), createServerCertificate(['bank.example.com'], evilKey, caPem, caKey));
  await t.rejects(run('openssl', ['verify', '-CAfile', join(dir, 'pki/ca.crt'), join(dir, 'evil.crt')]), /permitted subtree violation/, 'a certificate for another domain does not verify');
  await t.resolves(run('openssl', ['verify', '-CAfile', join(dir, 'pki/ca.crt'), join(dir, 'pki/server.crt')]), "the appliance's own does");

  const signer = ensureDocumentSigner(dir, names);
  const cert = forge.pki.certificateFromPem(signer.certPem);
  const eku = cert.getExtension('extKeyUsage') as Record<string, unknown> | null;
  t.ok(eku, 'an extended key usage is stated');
  const purposes = Object.keys(eku ?? {}).filter((k) => eku?.[k] === true);
  t.same(purposes, [DOCUMENT_SIGNING_EKU], 'document signing (RFC 9336) only');
  t.notOk(eku?.['codeSigning'], 'not code signing');
  t.notOk(eku?.['emailProtection'], 'not e-mail');
  t.match(cert.getExtension('keyUsage'), { digitalSignature: true, nonRepudiation: true, keyCertSign: false }, 'signs, never certifies');
});
