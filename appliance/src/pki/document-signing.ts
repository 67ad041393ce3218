import { createHash, sign, X509Certificate } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { der } from '@kyc/compliance';
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

const { children, encode, integer, oid, parseDer, sequence, setOf, TAG, utcTime } = der;

const OIDS = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
} as const;

const NULL = encode(TAG.NULL, Buffer.alloc(0));
const algorithm = (id: string): Buffer => sequence(oid(id), NULL);
const attribute = (type: string, value: Buffer): Buffer => sequence(oid(type), setOf(value));

/** The certificate's issuer Name and serial number, as encoded in it (CMS IssuerAndSerialNumber). */
function issuerAndSerial(certDer: Buffer): Buffer {
  const tbs = children(children(parseDer(certDer))[0]!);
  const at = tbs[0]!.tag === 0xa0 ? 1 : 0; // [0] version is present in every v3 certificate
  return sequence(tbs[at + 2]!.raw, tbs[at]!.raw);
}

/**
 * A DER-encoded detached CMS SignedData (RFC 5652) over content whose SHA-256 is `sha256`, with contentType,
 * messageDigest and signingTime as signed attributes, RSA PKCS#1 v1.5. Only the digest is needed, so a document of
 * any size is hashed as a stream (`fileSha256`) and nothing large is held or digested on the event loop; the
 * signature itself is native (node:crypto).
 */
export function signDigest(sha256: Buffer, signer: Pick<DocumentSigner, 'certPem' | 'keyPem'>, signingTime = new Date()): Buffer {
  if (sha256.length !== 32) throw new Error('a SHA-256 digest is 32 bytes');
  const certDer = new X509Certificate(signer.certPem).raw;
  const attrs = [attribute(OIDS.contentType, oid(OIDS.data)), attribute(OIDS.signingTime, utcTime(signingTime)), attribute(OIDS.messageDigest, encode(TAG.OCTET_STRING, sha256))];
  const signedAttrs = setOf(...attrs);
  const signature = sign('sha256', signedAttrs, signer.keyPem);
  const signerInfo = sequence(
    integer(1),
    issuerAndSerial(certDer),
    algorithm(OIDS.sha256),
    Buffer.concat([Buffer.from([0xa0]), signedAttrs.subarray(1)]), // [0] IMPLICIT: the SET's tag replaced
    algorithm(OIDS.rsaEncryption),
    encode(TAG.OCTET_STRING, signature),
  );
  const signedData = sequence(integer(1), setOf(algorithm(OIDS.sha256)), sequence(oid(OIDS.data)), encode(0xa0, certDer), setOf(signerInfo));
  return sequence(oid(OIDS.signedData), encode(0xa0, signedData));
}

/** A detached CMS signature over `content` held in memory (small documents: evidence files). */
export function signDetached(content: Buffer, signer: Pick<DocumentSigner, 'certPem' | 'keyPem'>, signingTime = new Date()): Buffer {
  return signDigest(createHash('sha256').update(content).digest(), signer, signingTime);
}

/** SHA-256 and size of a file, read as a stream. */
export async function fileSha256(path: string): Promise<{ sha256: Buffer; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: h.digest(), bytes };
}
