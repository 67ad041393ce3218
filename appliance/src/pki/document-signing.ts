import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { readSecretFile, writeNewSecretFile } from '../lib/secret-files.js';
import { dueForReissue, ensureOwnCa, issueCertificate, newRsaKey } from './certificate-authority.js';

/**
 * Documents the appliance hands out (composite exports) carry a detached CMS (PKCS#7) signature by a certificate
 * of the appliance CA, so that a regulator holding only `ca.crt` can check them with
 * `openssl cms -verify -purpose any -binary -inform DER -in x.p7s -content x.mp4 -CAfile ca.crt` (`-purpose any`: the
 * certificate's only extended key usage is RFC 9336 document signing, which OpenSSL's default S/MIME purpose does not know).
 */

export interface DocumentSigner {
  certPem: string;
  keyPem: string;
  caCertPath: string;
}

const SIGNING_DAYS = 2 * 365;
/** RFC 9336 id-kp-documentSigning */
export const DOCUMENT_SIGNING_EKU = '1.3.6.1.5.5.7.3.36';

export function createSigningCertificate(commonName: string, keyPem: string, caCertPem: string, caKeyPem: string): string {
  return issueCertificate({
    subject: [
      { name: 'commonName', value: commonName },
      { name: 'organizationName', value: 'KYC Appliance' },
    ],
    days: SIGNING_DAYS,
    extensions: [
      { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, critical: true },
      // RFC 9336 id-kp-documentSigning only: not code signing, not e-mail
      { name: 'extKeyUsage', [DOCUMENT_SIGNING_EKU]: true },
    ],
    keyPem,
    caCertPem,
    caKeyPem,
  });
}

/**
 * The document-signing certificate under `<dataDir>/pki` (signing.key 0600, signing.crt), issued by the appliance
 * CA and re-issued with the same key when it nears expiry or the CA changed.
 */
export function ensureDocumentSigner(dataDir: string, names: readonly string[]): DocumentSigner {
  const { dir, caKey, caCert, caCertPath } = ensureOwnCa(dataDir, names);
  const keyPath = join(dir, 'signing.key');
  const certPath = join(dir, 'signing.crt');
  if (!existsSync(keyPath)) writeNewSecretFile(keyPath, newRsaKey().privatePem);
  const keyPem = readSecretFile(keyPath).toString('utf8');
  if (!existsSync(certPath) || dueForReissue(readFileSync(certPath, 'utf8'), caCert)) {
    writeFileSync(certPath, createSigningCertificate('KYC Appliance Document Signing', keyPem, caCert, caKey), { mode: 0o644 });
  }
  return { certPem: readFileSync(certPath, 'utf8'), keyPem, caCertPath };
}

/**
 * A DER-encoded detached CMS SignedData over `content` (SHA-256, with contentType, messageDigest and signingTime
 * as signed attributes). node-forge digests only content it holds in memory, so the whole document is passed in:
 * fine for exports of a few minutes (tens of MB); longer ones would want a streaming digest.
 */
export function signDetached(content: Buffer, signer: Pick<DocumentSigner, 'certPem' | 'keyPem'>, signingTime = new Date()): Buffer {
  const cert = forge.pki.certificateFromPem(signer.certPem);
  const key = forge.pki.privateKeyFromPem(signer.keyPem);
  const p7 = forge.pkcs7.createSignedData();
  p7.content = forge.util.createBuffer(content.toString('binary'));
  p7.addCertificate(cert);
  p7.addSigner({
    key,
    certificate: cert,
    digestAlgorithm: forge.pki.oids.sha256!,
    authenticatedAttributes: [
      { type: forge.pki.oids.contentType!, value: forge.pki.oids.data! },
      { type: forge.pki.oids.messageDigest! },
      { type: forge.pki.oids.signingTime!, value: signingTime as unknown as string },
    ],
  });
  p7.sign({ detached: true });
  return Buffer.from(forge.asn1.toDer(p7.toAsn1()).getBytes(), 'binary');
}
