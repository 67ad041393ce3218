import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';
import { readSecretFile, writeNewSecretFile } from '../lib/secret-files.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** the appliance CA's certificate path, when the appliance made its own certificates */
  caCertPath: string | null;
}

const CA_YEARS = 10;
const SERVER_DAYS = 397;
const RENEW_BEFORE_DAYS = 30;

export function newRsaKey(): { privatePem: string } {
  // Key generation through OpenSSL (fast); certificates are built and signed with node-forge.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

export function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f; // positive
  return b.toString('hex');
}

/** The names the appliance answers to: its certificate's subject alternative names and its CA's name constraints. */
export function applianceNames(o: { publicUrl: URL; tls: { serverNames: readonly string[] } }): string[] {
  return [...new Set(['127.0.0.1', 'localhost', o.publicUrl.hostname, ...o.tls.serverNames])];
}

/**
 * RFC 5280 §4.2.1.10 name constraints (critical): the CA vouches only for these DNS names (and their subdomains) and
 * IP addresses, so a branch PC that trusts it trusts nothing else it might sign.
 */
export function nameConstraintsExtension(names: readonly string[]): object {
  const { asn1 } = forge;
  const subtrees = names.map((n) => {
    const base = isIP(n)
      ? asn1.create(asn1.Class.CONTEXT_SPECIFIC, 7, false, (forge.util as unknown as { bytesFromIP(ip: string): string }).bytesFromIP(n) + '\xff'.repeat(isIP(n) === 4 ? 4 : 16))
      : asn1.create(asn1.Class.CONTEXT_SPECIFIC, 2, false, n);
    return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [base]);
  });
  return {
    name: 'nameConstraints',
    id: '2.5.29.30',
    critical: true,
    value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, subtrees)]),
  };
}

/** The appliance CA: may sign leaf certificates only (path length 0), and only for `names`. */
export function createCaCertificate(commonName: string, privatePem: string, names: readonly string[]): string {
  if (names.length === 0) throw new Error('the appliance CA needs the names it may vouch for');
  const key = forge.pki.privateKeyFromPem(privatePem);
  const pub = forge.pki.setRsaPublicKey(key.n, key.e);
  const cert = forge.pki.createCertificate();
  cert.publicKey = pub;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + CA_YEARS * 365 * 86_400_000);
  const attrs = [
    { name: 'commonName', value: commonName },
    { name: 'organizationName', value: 'KYC Appliance' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    nameConstraintsExtension(names),
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/**
 * A leaf certificate of the appliance CA for `keyPem`: serial, validity from a minute ago, issuer and key
 * identifiers, not a CA; the caller gives the subject, lifetime and its key usages.
 */
export function issueCertificate(o: {
  subject: Array<{ name: string; value: string }>;
  days: number;
  /** keyUsage, extKeyUsage, subjectAltName… (forge extension objects) */
  extensions: object[];
  keyPem: string;
  caCertPem: string;
  caKeyPem: string;
}): string {
  const caCert = forge.pki.certificateFromPem(o.caCertPem);
  const caKey = forge.pki.privateKeyFromPem(o.caKeyPem);
  const key = forge.pki.privateKeyFromPem(o.keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + o.days * 86_400_000);
  cert.setSubject(o.subject);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    ...o.extensions,
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

export function createServerCertificate(names: string[], serverPrivatePem: string, caCertPem: string, caPrivatePem: string): string {
  return issueCertificate({
    subject: [{ name: 'commonName', value: names[0] ?? 'localhost' }],
    days: SERVER_DAYS,
    extensions: [
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
    ],
    keyPem: serverPrivatePem,
    caCertPem,
    caKeyPem: caPrivatePem,
  });
}

/** A certificate to issue again: it expires within RENEW_BEFORE_DAYS, or the CA no longer signs it (CA replaced). */
export function dueForReissue(certPem: string, caCertPem: string): boolean {
  const cert = new X509Certificate(certPem);
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_DAYS * 86_400_000) return true;
  return !cert.verify(new X509Certificate(caCertPem).publicKey);
}

function needsRenewal(certPem: string, names: string[], caCertPem: string): boolean {
  if (dueForReissue(certPem, caCertPem)) return true;
  const sans = new Set((new X509Certificate(certPem).subjectAltName ?? '').split(', ').map((s) => s.replace(/^(DNS|IP Address):/, '')));
  return names.some((n) => !sans.has(n));
}

/** The appliance CA under `<dataDir>/pki` (made once; its key a 0600 file), shared by TLS and document signing. */
export function ensureOwnCa(dataDir: string, names: readonly string[]): { dir: string; caKey: string; caCert: string; caCertPath: string } {
  const dir = join(dataDir, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caKeyPath = join(dir, 'ca.key');
  const caCertPath = join(dir, 'ca.crt');
  if (!existsSync(caKeyPath)) writeNewSecretFile(caKeyPath, newRsaKey().privatePem);
  const caKey = readSecretFile(caKeyPath).toString('utf8');
  if (!existsSync(caCertPath)) writeFileSync(caCertPath, createCaCertificate('KYC Appliance Local CA', caKey, names), { mode: 0o644 });
  return { dir, caKey, caCert: readFileSync(caCertPath, 'utf8'), caCertPath };
}

/**
 * The appliance's own PKI under `<dataDir>/pki`: a CA made once (its certificate is what admins distribute to
 * branch PCs) and a server certificate for the configured names, re-issued when it nears expiry or the names change.
 * Keys are 0600 files; nothing is overwritten except the server certificate on renewal.
 */
export function ensureOwnTls(dataDir: string, names: string[]): TlsMaterial {
  const { dir, caKey, caCert, caCertPath } = ensureOwnCa(dataDir, names);
  const keyPath = join(dir, 'server.key');
  const certPath = join(dir, 'server.crt');
  if (!existsSync(keyPath)) writeNewSecretFile(keyPath, newRsaKey().privatePem);
  const key = readSecretFile(keyPath).toString('utf8');
  if (!existsSync(certPath) || needsRenewal(readFileSync(certPath, 'utf8'), names, caCert)) {
    writeFileSync(certPath, createServerCertificate(names, key, caCert, caKey), { mode: 0o644 });
  }
  const cert = readFileSync(certPath, 'utf8');
  return { cert: cert + caCert, key, caCertPath };
}

export function loadAdminTls(certFile: string, keyFile: string): TlsMaterial {
  return { cert: readFileSync(certFile, 'utf8'), key: readSecretFile(keyFile).toString('utf8'), caCertPath: null };
}
