import { AuditError } from './errors.js';

/**
 * The small part of ASN.1 DER that RFC 3161 time-stamp requests and tokens need: reading a tag-length-value tree
 * (keeping each element's exact bytes, since CMS signatures cover re-encoded DER) and writing the few types a
 * request holds. Indefinite lengths (BER) are refused: a time-stamp token is DER.
 */

export interface Der {
  /** identifier octet (single-byte tags only: every tag RFC 3161 and CMS use fits) */
  tag: number;
  /** the whole element: identifier, length and contents */
  raw: Buffer;
  /** the contents octets */
  value: Buffer;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
} as const;

function bad(what: string): never {
  throw new AuditError('KYC_ERR_AUDIT_TIMESTAMP', `malformed DER: ${what}`);
}

/** Reads one element at `offset` of `buf`. */
export function readDer(buf: Buffer, offset = 0): Der {
  if (offset + 2 > buf.length) bad('truncated header');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) bad('multi-byte tag');
  let len = buf[offset + 1]!;
  let head = 2;
  if (len === 0x80) bad('indefinite length');
  if (len > 0x80) {
    const n = len & 0x7f;
    if (n > 4 || offset + 2 + n > buf.length) bad('length field');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i]!;
    head += n;
  }
  const end = offset + head + len;
  if (end > buf.length) bad('element runs past its container');
  return { tag, raw: buf.subarray(offset, end), value: buf.subarray(offset + head, end) };
}

/** Parses a whole buffer as exactly one element. */
export function parseDer(buf: Buffer): Der {
  const d = readDer(buf, 0);
  if (d.raw.length !== buf.length) bad('trailing bytes');
  return d;
}

/** The elements inside a constructed element (SEQUENCE, SET, [n] constructed). */
export function children(d: Der): Der[] {
  if ((d.tag & 0x20) === 0) bad(`tag 0x${d.tag.toString(16)} is not constructed`);
  const out: Der[] = [];
  let off = 0;
  while (off < d.value.length) {
    const c = readDer(d.value, off);
    out.push(c);
    off += c.raw.length;
  }
  return out;
}

export function expectTag(d: Der | undefined, tag: number, what: string): Der {
  if (!d || d.tag !== tag) bad(`${what}: expected tag 0x${tag.toString(16)}, found ${d ? `0x${d.tag.toString(16)}` : 'nothing'}`);
  return d;
}

/** Dotted-decimal form of an OBJECT IDENTIFIER. */
export function oidString(d: Der): string {
  expectTag(d, TAG.OID, 'object identifier');
  const v = d.value;
  if (v.length === 0) bad('empty object identifier');
  const parts: number[] = [];
  let n = 0;
  for (const b of v) {
    n = n * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      parts.push(n);
      n = 0;
    }
  }
  const first = parts.shift()!;
  const a = first < 40 ? 0 : first < 80 ? 1 : 2;
  return [a, first - a * 40, ...parts].join('.');
}

/** GeneralizedTime (YYYYMMDDHHMMSS[.fff]Z) as a Date. */
export function generalizedTime(d: Der): Date {
  expectTag(d, TAG.GENERALIZED_TIME, 'GeneralizedTime');
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d{1,9})?Z$/.exec(d.value.toString('latin1'));
  if (!m) bad('GeneralizedTime');
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms));
}

// ------------------------------------------------------------------ writing

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function encode(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);
}

export function sequence(...items: Buffer[]): Buffer {
  return encode(TAG.SEQUENCE, Buffer.concat(items));
}

/** A non-negative INTEGER from its big-endian magnitude. */
export function integer(magnitude: Buffer | number): Buffer {
  let v = typeof magnitude === 'number' ? Buffer.from([magnitude]) : Buffer.from(magnitude);
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  v = v.subarray(i);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return encode(TAG.INTEGER, v);
}

export function oid(dotted: string): Buffer {
  const p = dotted.split('.').map(Number);
  const out: number[] = [p[0]! * 40 + p[1]!];
  for (const n of p.slice(2)) {
    const groups: number[] = [];
    let x = n;
    do {
      groups.unshift(x & 0x7f);
      x = Math.floor(x / 128);
    } while (x > 0);
    for (let i = 0; i < groups.length - 1; i++) groups[i]! |= 0x80;
    out.push(...groups);
  }
  return encode(TAG.OID, Buffer.from(out));
}

/** A SET OF in DER: its elements sorted by their encodings (X.690 §11.6). */
export function setOf(...items: Buffer[]): Buffer {
  return encode(TAG.SET, Buffer.concat([...items].sort(Buffer.compare)));
}

/** UTCTime (YYMMDDHHMMSSZ), for dates from 1950 to 2049 as RFC 5652 signing times require. */
export function utcTime(d: Date): Buffer {
  const text = d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  return encode(TAG.UTC_TIME, Buffer.from(text, 'latin1'));
}
