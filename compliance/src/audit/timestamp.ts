import { createHash, randomBytes, verify as verifySignature, X509Certificate } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditError } from './errors.js';
import { children, encode, expectTag, generalizedTime, integer, oid, oidString, parseDer, sequence, TAG, type Der } from './der.js';

/**
 * RFC 3161 trusted timestamps on signed checkpoints.
 *
 * A checkpoint signed by the appliance's own key proves what the log held, but not when: whoever holds the key can
 * sign a back-dated note. With a time-stamping authority (TSA) of the institution, every checkpoint file
 * `<size>-<time>.checkpoint` gets a token `<size>-<time>.checkpoint.tst` beside it: the TSA's signature over the
 * SHA-256 of the checkpoint's bytes and the TSA's own time. `kyc-audit verify --tsa-cert FILE` checks each token
 * against the TSA certificate it is given (pinned, like the verifier key): the imprint matches the checkpoint, the
 * CMS signature verifies with that certificate's key, the token names that certificate (ESS signing-certificate
 * attribute), the certificate is for time stamping and was valid at the token's time.
 */

export const TIMESTAMP_TOKEN_SUFFIX = '.tst';

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  timeStamping: '1.3.6.1.5.5.7.3.8',
} as const;

const HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const SHA256_OID = '2.16.840.1.101.3.4.2.1';

/** signature algorithm → the digest it signs with (null: the SignerInfo's digest algorithm; 'none' for EdDSA) */
const SIGNATURES: Record<string, string | null> = {
  '1.2.840.113549.1.1.1': null, // rsaEncryption
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': 'none', // Ed25519
};

function fail(message: string): never {
  throw new AuditError('KYC_ERR_AUDIT_TIMESTAMP', message);
}

function algorithm(d: Der | undefined, what: string): string {
  return oidString(children(expectTag(d, TAG.SEQUENCE, what))[0]!);
}

/** A TimeStampReq for the SHA-256 of `data`, asking for the TSA's certificate in the token. */
export function timestampRequest(data: Buffer, nonce: Buffer): Buffer {
  const imprint = sequence(sequence(oid(SHA256_OID), encode(TAG.NULL, Buffer.alloc(0))), encode(TAG.OCTET_STRING, createHash('sha256').update(data).digest()));
  return sequence(integer(1), imprint, integer(nonce), encode(TAG.BOOLEAN, Buffer.from([0xff])));
}

/** The token (a CMS ContentInfo) from a TimeStampResp, or a failure naming the TSA's status. */
export function tokenFromResponse(resp: Buffer): Buffer {
  const top = children(expectTag(parseDer(resp), TAG.SEQUENCE, 'TimeStampResp'));
  const status = children(expectTag(top[0], TAG.SEQUENCE, 'PKIStatusInfo'));
  const code = expectTag(status[0], TAG.INTEGER, 'PKIStatus').value.readUIntBE(0, 1);
  if (code !== 0 && code !== 1) fail(`the time-stamping authority refused the request (PKIStatus ${code})`);
  if (!top[1]) fail('the time-stamping authority granted the request but sent no token');
  return Buffer.from(top[1].raw);
}

export interface TimestampInfo {
  genTime: Date;
  /** serial number of the token, hex */
  serial: string;
  policy: string;
  /** SHA-256 fingerprint of the TSA certificate that signed it */
  tsaCert: string;
  nonce: string | null;
}

interface ParsedToken {
  eContent: Buffer;
  digestAlg: string;
  signedAttrs: Der;
  signatureAlg: string;
  signature: Buffer;
  attrs: Map<string, Der[]>;
}

function parseToken(token: Buffer): ParsedToken {
  const ci = children(expectTag(parseDer(token), TAG.SEQUENCE, 'ContentInfo'));
  if (oidString(ci[0]!) !== OID.signedData) fail('the token is not CMS SignedData');
  const sd = children(expectTag(children(expectTag(ci[1], 0xa0, 'ContentInfo content'))[0], TAG.SEQUENCE, 'SignedData'));
  const encap = children(expectTag(sd[2], TAG.SEQUENCE, 'EncapsulatedContentInfo'));
  if (oidString(encap[0]!) !== OID.tstInfo) fail('the token does not hold a TSTInfo');
  const eContent = expectTag(children(expectTag(encap[1], 0xa0, 'eContent'))[0], TAG.OCTET_STRING, 'eContent').value;
  const signerInfos = children(expectTag(sd[sd.length - 1], TAG.SET, 'SignerInfos'));
  if (signerInfos.length !== 1) fail(`the token has ${signerInfos.length} signers, not one`);
  const si = children(expectTag(signerInfos[0], TAG.SEQUENCE, 'SignerInfo'));
  const digestAlg = algorithm(si[2], 'SignerInfo digestAlgorithm');
  const signedAttrs = expectTag(si[3], 0xa0, 'signed attributes');
  const signatureAlg = algorithm(si[4], 'SignerInfo signatureAlgorithm');
  const signature = expectTag(si[5], TAG.OCTET_STRING, 'signature').value;
  const attrs = new Map<string, Der[]>();
  for (const a of children(signedAttrs)) {
    const [type, values] = children(expectTag(a, TAG.SEQUENCE, 'attribute'));
    attrs.set(oidString(type!), children(expectTag(values, TAG.SET, 'attribute values')));
  }
  return { eContent: Buffer.from(eContent), digestAlg, signedAttrs, signatureAlg, signature: Buffer.from(signature), attrs };
}

function hashName(oidValue: string): string {
  const h = HASHES[oidValue];
  if (!h) fail(`unsupported digest algorithm ${oidValue}`);
  return h;
}

/** The certificate hashes the ESS signing-certificate attribute names (v2 first). */
function essCertHashes(attrs: Map<string, Der[]>): Array<{ alg: string; hash: Buffer }> {
  const v2 = attrs.get(OID.signingCertificateV2);
  if (v2?.[0]) {
    const certs = children(expectTag(children(expectTag(v2[0], TAG.SEQUENCE, 'SigningCertificateV2'))[0], TAG.SEQUENCE, 'ESSCertIDv2 list'));
    return certs.map((c) => {
      const parts = children(expectTag(c, TAG.SEQUENCE, 'ESSCertIDv2'));
      if (parts[0]!.tag === TAG.SEQUENCE)
        return { alg: hashName(algorithm(parts[0], 'ESSCertIDv2 hashAlgorithm')), hash: Buffer.from(expectTag(parts[1], TAG.OCTET_STRING, 'certHash').value) };
      return { alg: 'sha256', hash: Buffer.from(expectTag(parts[0], TAG.OCTET_STRING, 'certHash').value) };
    });
  }
  const v1 = attrs.get(OID.signingCertificate);
  if (v1?.[0]) {
    const certs = children(expectTag(children(expectTag(v1[0], TAG.SEQUENCE, 'SigningCertificate'))[0], TAG.SEQUENCE, 'ESSCertID list'));
    return certs.map((c) => ({ alg: 'sha1', hash: Buffer.from(expectTag(children(expectTag(c, TAG.SEQUENCE, 'ESSCertID'))[0], TAG.OCTET_STRING, 'certHash').value) }));
  }
  fail('the token has no signing-certificate attribute: it cannot be tied to a TSA certificate');
}

/** Every certificate of a PEM file (a TSA's current certificate and, after renewal, its earlier ones). */
export function parseTsaCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) fail('no certificate in the TSA certificate file');
  return blocks.map((b) => new X509Certificate(b));
}

/**
 * Checks a token over `data` against the pinned TSA certificates; returns what it says, or throws
 * KYC_ERR_AUDIT_TIMESTAMP naming the first thing that does not hold.
 */
export function verifyTimestampToken(token: Buffer, data: Buffer, tsaCerts: X509Certificate[], expectNonce?: Buffer): TimestampInfo {
  const t = parseToken(token);
  const tst = children(expectTag(parseDer(t.eContent), TAG.SEQUENCE, 'TSTInfo'));
  const policy = oidString(tst[1]!);
  const imprint = children(expectTag(tst[2], TAG.SEQUENCE, 'MessageImprint'));
  const imprintAlg = hashName(algorithm(imprint[0], 'MessageImprint hashAlgorithm'));
  const imprintHash = expectTag(imprint[1], TAG.OCTET_STRING, 'hashedMessage').value;
  if (!createHash(imprintAlg).update(data).digest().equals(imprintHash)) fail('the token is for other data (message imprint differs)');
  const serial = expectTag(tst[3], TAG.INTEGER, 'serialNumber').value.toString('hex');
  const genTime = generalizedTime(tst[4]!);
  const nonceEl = tst.slice(5).find((d) => d.tag === TAG.INTEGER);
  const nonce = nonceEl ? nonceEl.value.toString('hex').replace(/^00/, '') : null;
  if (expectNonce && nonce !== expectNonce.toString('hex').replace(/^(00)+/, '')) fail('the token does not carry the nonce of the request');

  const ct = t.attrs.get(OID.contentType)?.[0];
  if (!ct || oidString(ct) !== OID.tstInfo) fail('the signed content-type attribute is not TSTInfo');
  const md = t.attrs.get(OID.messageDigest)?.[0];
  const digest = hashName(t.digestAlg);
  if (
    !md ||
    !createHash(digest)
      .update(t.eContent)
      .digest()
      .equals(expectTag(md, TAG.OCTET_STRING, 'messageDigest').value)
  ) {
    fail('the signed message digest does not match the TSTInfo (token altered)');
  }
  const named = essCertHashes(t.attrs);
  const cert = tsaCerts.find((c) => named.some((n) => createHash(n.alg).update(c.raw).digest().equals(n.hash)));
  if (!cert) fail('the token was not issued with the given TSA certificate');
  const sigHash = SIGNATURES[t.signatureAlg];
  if (sigHash === undefined) fail(`unsupported signature algorithm ${t.signatureAlg}`);
  // the signature covers the DER of the signed attributes as a SET (the [0] tag replaced)
  const signed = Buffer.from(t.signedAttrs.raw);
  signed[0] = TAG.SET;
  const ok = verifySignature(sigHash === 'none' ? null : (sigHash ?? digest), signed, cert.publicKey, t.signature);
  if (!ok) fail('the token signature does not verify with the TSA certificate');
  const eku = cert.keyUsage;
  if (!eku || !eku.includes(OID.timeStamping)) fail('the TSA certificate is not for time stamping (extended key usage)');
  if (genTime < new Date(cert.validFrom) || genTime > new Date(cert.validTo)) fail(`the token time ${genTime.toISOString()} is outside the TSA certificate's validity`);
  return { genTime, serial, policy, tsaCert: cert.fingerprint256, nonce };
}

// ------------------------------------------------------------------ the client

export interface TimestamperOptions {
  /** the TSA's URL (http or https), e.g. http://tsa.bank.internal/tsa */
  url: string;
  /** CA certificates (PEM) for an https TSA */
  ca?: string;
  /** the TSA's certificates (PEM): when given, each token is fully verified before it is stored */
  tsaCerts?: X509Certificate[];
  timeoutMs?: number;
}

const MAX_REPLY = 1 << 20;

/** Asks a TSA for tokens over HTTP(S) (RFC 3161 §3.4: application/timestamp-query). */
export class Timestamper {
  constructor(private readonly o: TimestamperOptions) {
    const u = new URL(o.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') fail(`the TSA URL must be http or https, not ${u.protocol}`);
  }

  /** A verified token over `data` (the nonce and imprint always checked; the signature when tsaCerts are given). */
  async stamp(data: Buffer): Promise<Buffer> {
    const nonce = randomBytes(8);
    const reply = await this.post(timestampRequest(data, nonce));
    const token = tokenFromResponse(reply);
    if (this.o.tsaCerts) {
      verifyTimestampToken(token, data, this.o.tsaCerts, nonce);
    } else {
      const t = children(parseDer(parseToken(token).eContent));
      const imprint = children(t[2]!);
      if (!createHash('sha256').update(data).digest().equals(imprint[1]!.value)) fail('the TSA answered for other data');
    }
    return token;
  }

  private post(body: Buffer): Promise<Buffer> {
    const u = new URL(this.o.url);
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        u,
        {
          method: 'POST',
          headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply', 'content-length': body.length },
          timeout: this.o.timeoutMs ?? 10_000,
          ...(this.o.ca ? { ca: this.o.ca } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_REPLY) req.destroy(new AuditError('KYC_ERR_AUDIT_TIMESTAMP', 'the TSA reply is too large'));
            else chunks.push(c);
          });
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new AuditError('KYC_ERR_AUDIT_TIMESTAMP', `the TSA answered HTTP ${res.statusCode}`));
            else resolve(Buffer.concat(chunks));
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new AuditError('KYC_ERR_AUDIT_TIMESTAMP', 'the TSA did not answer in time')));
      req.on('error', (err) => reject(err instanceof AuditError ? err : new AuditError('KYC_ERR_AUDIT_TIMESTAMP', `the TSA is unreachable: ${err.message}`)));
      req.end(body);
    });
  }
}

// ------------------------------------------------------------------ checking a checkpoint folder

export interface TimestampReport {
  /** checkpoint files with a token */
  tokens: number;
  valid: number;
  /** checkpoint files without a token */
  missing: number;
  latestGenTime: string | null;
  tsaCerts: string[];
  problems: Array<{ file: string; reason: string }>;
}

/** Checks every `*.checkpoint.tst` of a folder against its checkpoint and the pinned TSA certificates. */
export async function checkCheckpointTimestamps(dir: string, tsaCerts: X509Certificate[]): Promise<TimestampReport> {
  const names = new Set(await readdir(dir));
  const report: TimestampReport = { tokens: 0, valid: 0, missing: 0, latestGenTime: null, tsaCerts: tsaCerts.map((c) => c.fingerprint256), problems: [] };
  let latest: Date | null = null;
  for (const name of [...names].sort()) {
    if (name.endsWith(TIMESTAMP_TOKEN_SUFFIX) && !names.has(name.slice(0, -TIMESTAMP_TOKEN_SUFFIX.length))) {
      report.problems.push({ file: name, reason: 'a token without its checkpoint' });
      continue;
    }
    if (!name.endsWith('.checkpoint')) continue;
    if (!names.has(`${name}${TIMESTAMP_TOKEN_SUFFIX}`)) {
      report.missing += 1;
      continue;
    }
    report.tokens += 1;
    try {
      const [note, token] = await Promise.all([readFile(join(dir, name)), readFile(join(dir, `${name}${TIMESTAMP_TOKEN_SUFFIX}`))]);
      const info = verifyTimestampToken(token, note, tsaCerts);
      report.valid += 1;
      if (!latest || info.genTime > latest) latest = info.genTime;
    } catch (err) {
      report.problems.push({ file: `${name}${TIMESTAMP_TOKEN_SUFFIX}`, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  report.latestGenTime = latest?.toISOString() ?? null;
  return report;
}
