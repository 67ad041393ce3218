import { createCipheriv, createDecipheriv, createHash, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { SealedMediaError } from './errors.js';

/**
 * Streaming AEAD for sealed media (format described in FORMAT.md beside this file): AES-256-GCM over fixed-size
 * plaintext segments with a per-file key derived by HKDF-SHA256 from the recording's data key and a random salt,
 * nonce = 7-byte random prefix ‖ 32-bit segment index ‖ last-segment flag, and every segment authenticated
 * together with the file header and the caller's associated data (recording id and file name). Fixed segments
 * give random access: a byte range is served by decrypting only the segments it covers.
 *
 * Bulk work uses node:crypto (OpenSSL); one cipher object per segment keeps segments independent.
 */

export const MAGIC = Buffer.from('KYC-SEAL', 'ascii');
export const FORMAT_VERSION = 1;
/** HKDF-SHA256 per-file key, AES-256-GCM segments */
export const SUITE_HKDF_AES256GCM = 1;
export const HEADER_SIZE = 56;
export const TAG_SIZE = 16;
export const SALT_SIZE = 32;
export const NONCE_PREFIX_SIZE = 7;
export const DATA_KEY_SIZE = 32;
export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
export const MIN_SEGMENT_SIZE = 1024;
export const MAX_SEGMENT_SIZE = 16 * 1024 * 1024;
const MAX_SEGMENTS = 2 ** 32;
const HKDF_INFO = Buffer.from('KYC-SEAL v1 file key AES-256-GCM', 'ascii');
/** plaintext read per batch when encrypting (segments are cut from it) */
const SEGMENTS_PER_BATCH = 16;

export interface SealedHeader {
  version: number;
  suite: number;
  segmentSize: number;
  salt: Buffer;
  noncePrefix: Buffer;
  /** the header's exact bytes: authenticated with every segment */
  bytes: Buffer;
}

export function encodeHeader(segmentSize: number, salt: Buffer, noncePrefix: Buffer): Buffer {
  checkSegmentSize(segmentSize);
  if (salt.length !== SALT_SIZE || noncePrefix.length !== NONCE_PREFIX_SIZE) throw new RangeError('bad salt or nonce prefix length');
  const h = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(h, 0);
  h.writeUInt8(FORMAT_VERSION, 8);
  h.writeUInt8(SUITE_HKDF_AES256GCM, 9);
  h.writeUInt16BE(HEADER_SIZE, 10);
  h.writeUInt32BE(segmentSize, 12);
  salt.copy(h, 16);
  noncePrefix.copy(h, 48);
  // byte 55 is reserved and stays 0
  return h;
}

export function parseHeader(bytes: Buffer): SealedHeader {
  if (bytes.length < HEADER_SIZE || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SealedMediaError('KYC_ERR_SEALED_FORMAT', 'not a sealed media file (bad magic)');
  }
  const version = bytes.readUInt8(8);
  if (version !== FORMAT_VERSION) throw new SealedMediaError('KYC_ERR_SEALED_FORMAT', `unsupported sealed media version ${version}`);
  const suite = bytes.readUInt8(9);
  if (suite !== SUITE_HKDF_AES256GCM) throw new SealedMediaError('KYC_ERR_SEALED_FORMAT', `unsupported cipher suite ${suite}`);
  if (bytes.readUInt16BE(10) !== HEADER_SIZE) throw new SealedMediaError('KYC_ERR_SEALED_FORMAT', 'bad header length');
  const segmentSize = bytes.readUInt32BE(12);
  if (segmentSize < MIN_SEGMENT_SIZE || segmentSize > MAX_SEGMENT_SIZE) throw new SealedMediaError('KYC_ERR_SEALED_FORMAT', `bad segment size ${segmentSize}`);
  if (bytes.readUInt8(55) !== 0) throw new SealedMediaError('KYC_ERR_SEALED_FORMAT', 'reserved header byte is not zero');
  const own = Buffer.from(bytes.subarray(0, HEADER_SIZE));
  return { version, suite, segmentSize, salt: own.subarray(16, 48), noncePrefix: own.subarray(48, 55), bytes: own };
}

function checkSegmentSize(n: number): void {
  if (!Number.isInteger(n) || n < MIN_SEGMENT_SIZE || n > MAX_SEGMENT_SIZE) {
    throw new RangeError(`segment size must be an integer in [${MIN_SEGMENT_SIZE}, ${MAX_SEGMENT_SIZE}]`);
  }
}

function checkDataKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== DATA_KEY_SIZE) throw new SealedMediaError('KYC_ERR_SEALED_KEY', 'a data key is 32 bytes');
}

function fileKey(dataKey: Buffer, salt: Buffer): KeyObject {
  checkDataKey(dataKey);
  return createSecretKey(Buffer.from(hkdfSync('sha256', dataKey, salt, HKDF_INFO, DATA_KEY_SIZE)));
}

/** Associated data of every segment: the header (binds version, suite, segment size, salt, prefix) ‖ caller's AD. */
function segmentAad(header: Buffer, aad: Buffer): Buffer {
  return Buffer.concat([header, aad]);
}

/** Where plaintext and ciphertext sizes meet: the layout of a sealed file of a given size. */
export interface SegmentLayout {
  segmentSize: number;
  segmentCount: number;
  plaintextSize: number;
  ciphertextSize: number;
}

export function layoutForCiphertext(ciphertextSize: number, segmentSize: number): SegmentLayout {
  const body = ciphertextSize - HEADER_SIZE;
  if (body < TAG_SIZE) throw new SealedMediaError('KYC_ERR_SEALED_FORMAT', 'sealed file is truncated (no complete segment)');
  const full = segmentSize + TAG_SIZE;
  const segmentCount = Math.ceil(body / full);
  const last = body - (segmentCount - 1) * full;
  if (last < TAG_SIZE) throw new SealedMediaError('KYC_ERR_SEALED_FORMAT', 'sealed file is truncated (partial segment at the end)');
  if (segmentCount > MAX_SEGMENTS) throw new SealedMediaError('KYC_ERR_SEALED_FORMAT', 'too many segments');
  return { segmentSize, segmentCount, plaintextSize: body - segmentCount * TAG_SIZE, ciphertextSize };
}

export function layoutForPlaintext(plaintextSize: number, segmentSize = DEFAULT_SEGMENT_SIZE): SegmentLayout {
  const segmentCount = Math.max(1, Math.ceil(plaintextSize / segmentSize));
  return { segmentSize, segmentCount, plaintextSize, ciphertextSize: HEADER_SIZE + plaintextSize + segmentCount * TAG_SIZE };
}

/** Encrypts one file's segments in order. Pure apart from the random salt and prefix it draws. */
export class SegmentEncryptor {
  readonly header: Buffer;
  readonly segmentSize: number;
  private readonly key: KeyObject;
  private readonly aad: Buffer;
  private readonly nonce = Buffer.alloc(12);
  private index = 0;
  private finished = false;

  constructor(dataKey: Buffer, aad: Buffer, segmentSize = DEFAULT_SEGMENT_SIZE) {
    checkSegmentSize(segmentSize);
    this.segmentSize = segmentSize;
    const salt = randomBytes(SALT_SIZE);
    const prefix = randomBytes(NONCE_PREFIX_SIZE);
    this.header = encodeHeader(segmentSize, salt, prefix);
    this.key = fileKey(dataKey, salt);
    this.aad = segmentAad(this.header, aad);
    prefix.copy(this.nonce, 0);
  }

  /** Encrypts the next segment; every segment but the last must be exactly `segmentSize` bytes. */
  encryptSegment(plaintext: Buffer, last: boolean): Buffer {
    const out = Buffer.allocUnsafe(plaintext.length + TAG_SIZE);
    this.encryptSegmentInto(plaintext, last, out, 0);
    return out;
  }

  /** Same, writing ciphertext ‖ tag into `out` at `offset` (batches of segments share one buffer); returns the bytes written. */
  encryptSegmentInto(plaintext: Buffer, last: boolean, out: Buffer, offset: number): number {
    if (this.finished) throw new Error('the last segment was already written');
    if (plaintext.length > this.segmentSize || (!last && plaintext.length !== this.segmentSize)) {
      throw new RangeError('only the last segment may be shorter than the segment size');
    }
    if (this.index >= MAX_SEGMENTS) throw new RangeError('too many segments');
    this.nonce.writeUInt32BE(this.index, NONCE_PREFIX_SIZE);
    this.nonce.writeUInt8(last ? 1 : 0, 11);
    const c = createCipheriv('aes-256-gcm', this.key, this.nonce);
    c.setAAD(this.aad);
    let n = c.update(plaintext).copy(out, offset);
    n += c.final().copy(out, offset + n);
    n += c.getAuthTag().copy(out, offset + n);
    this.index += 1;
    if (last) this.finished = true;
    return n;
  }
}

/** Decrypts segments of one file by index (any order). */
export class SegmentDecryptor {
  readonly header: SealedHeader;
  private readonly key: KeyObject;
  private readonly aad: Buffer;

  constructor(dataKey: Buffer, aad: Buffer, header: SealedHeader) {
    this.header = header;
    this.key = fileKey(dataKey, header.salt);
    this.aad = segmentAad(header.bytes, aad);
  }

  decryptSegment(ciphertext: Buffer, index: number, last: boolean): Buffer {
    if (ciphertext.length < TAG_SIZE || ciphertext.length > this.header.segmentSize + TAG_SIZE) {
      throw new SealedMediaError('KYC_ERR_SEALED_FORMAT', `segment ${index} has an impossible length`);
    }
    const nonce = Buffer.alloc(12);
    this.header.noncePrefix.copy(nonce, 0);
    nonce.writeUInt32BE(index, NONCE_PREFIX_SIZE);
    nonce.writeUInt8(last ? 1 : 0, 11);
    const d = createDecipheriv('aes-256-gcm', this.key, nonce, { authTagLength: TAG_SIZE });
    d.setAAD(this.aad);
    d.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_SIZE));
    const body = d.update(ciphertext.subarray(0, ciphertext.length - TAG_SIZE));
    try {
      d.final();
    } catch (err) {
      throw new SealedMediaError(
        'KYC_ERR_SEALED_AUTH',
        `segment ${index}${last ? ' (last)' : ''} failed authentication: the file was altered, reordered or truncated, or the key or recording id is wrong`,
        { cause: err },
      );
    }
    return body;
  }
}

export interface EncryptResult {
  plaintextBytes: number;
  /** hex SHA-256 of the plaintext read */
  plaintextSha256: string;
  ciphertextBytes: number;
  /** hex SHA-256 of the sealed file written */
  ciphertextSha256: string;
  segmentCount: number;
}

export interface EncryptFileOptions {
  segmentSize?: number;
  /** file mode of the sealed file (default 0600) */
  mode?: number;
}

/** Reads until `buf` is full or the file ends; returns the bytes read. */
async function readFull(fh: FileHandle, buf: Buffer, offset: number, position: number | null): Promise<number> {
  let got = 0;
  while (offset + got < buf.length) {
    const { bytesRead } = await fh.read(buf, offset + got, buf.length - offset - got, position === null ? null : position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off);
    off += bytesWritten;
  }
}

/**
 * Seals `src` into `dst`, hashing plaintext and ciphertext in the same pass. Writes `dst.partial`, syncs it and
 * renames it into place, so `dst` exists only complete; a failure removes the partial file.
 */
export async function encryptFile(src: string, dst: string, dataKey: Buffer, aad: Buffer, opts: EncryptFileOptions = {}): Promise<EncryptResult> {
  const enc = new SegmentEncryptor(dataKey, aad, opts.segmentSize ?? DEFAULT_SEGMENT_SIZE);
  const seg = enc.segmentSize;
  const partial = `${dst}.partial`;
  const input = await open(src, 'r');
  let output: FileHandle | null = null;
  try {
    output = await open(partial, 'w', opts.mode ?? 0o600);
    const plainHash = createHash('sha256');
    const cipherHash = createHash('sha256');
    await writeAll(output, enc.header);
    cipherHash.update(enc.header);
    let ciphertextBytes = enc.header.length;
    let plaintextBytes = 0;
    let segmentCount = 0;
    // One segment beyond a batch is held back: a segment is "last" only once the file is known to end after it.
    const buf = Buffer.allocUnsafe(seg * (SEGMENTS_PER_BATCH + 1));
    const outBuf = Buffer.allocUnsafe((seg + TAG_SIZE) * (SEGMENTS_PER_BATCH + 1));
    let filled = 0;
    for (;;) {
      const got = await readFull(input, buf, filled, null);
      filled += got;
      const eof = filled < buf.length;
      const usable = eof ? filled : seg * SEGMENTS_PER_BATCH;
      plainHash.update(buf.subarray(0, usable));
      plaintextBytes += usable;
      let written = 0;
      if (eof) {
        const n = Math.max(1, Math.ceil(usable / seg));
        for (let i = 0; i < n; i++) written += enc.encryptSegmentInto(buf.subarray(i * seg, Math.min(usable, (i + 1) * seg)), i === n - 1, outBuf, written);
        segmentCount += n;
      } else {
        for (let i = 0; i < SEGMENTS_PER_BATCH; i++) written += enc.encryptSegmentInto(buf.subarray(i * seg, (i + 1) * seg), false, outBuf, written);
        segmentCount += SEGMENTS_PER_BATCH;
      }
      const out = outBuf.subarray(0, written);
      cipherHash.update(out);
      await writeAll(output, out);
      ciphertextBytes += out.length;
      if (eof) break;
      buf.copy(buf, 0, usable, filled);
      filled -= usable;
    }
    await output.sync();
    await output.close();
    output = null;
    await rename(partial, dst);
    return {
      plaintextBytes,
      plaintextSha256: plainHash.digest('hex'),
      ciphertextBytes,
      ciphertextSha256: cipherHash.digest('hex'),
      segmentCount,
    };
  } catch (err) {
    if (output) await output.close().catch(() => undefined);
    await unlink(partial).catch(() => undefined);
    throw err;
  } finally {
    await input.close();
  }
}

/** Reads and checks the header and size of a sealed file. */
async function readLayout(fh: FileHandle): Promise<{ header: SealedHeader; layout: SegmentLayout }> {
  const { size } = await fh.stat();
  const head = Buffer.alloc(HEADER_SIZE);
  const got = await readFull(fh, head, 0, 0);
  if (got < HEADER_SIZE) throw new SealedMediaError('KYC_ERR_SEALED_FORMAT', 'not a sealed media file (shorter than its header)');
  const header = parseHeader(head);
  return { header, layout: layoutForCiphertext(size, header.segmentSize) };
}

export interface SealedFileReader {
  readonly plaintextSize: number;
  readonly segmentSize: number;
  readonly segmentCount: number;
  readonly ciphertextSize: number;
  /**
   * Yields the plaintext bytes [start, endInclusive], decrypting only the segments the range covers and writing
   * nothing to disk. Throws KYC_ERR_SEALED_AUTH at the first segment that does not authenticate.
   */
  readRange(start: number, endInclusive: number): AsyncIterable<Buffer>;
  /**
   * Closes the file once the ranges being read have ended (ranges may not start after this). Every reader must be
   * closed: it keeps its file open between ranges, so that a replay's many small ranges skip the open and close.
   */
  close(): Promise<void>;
}

export interface OpenSealedFileOptions {
  /** refuse a file whose size differs (the archive knows each file's sealed size: catches truncation at a segment boundary for ranges that do not reach the last segment) */
  expectedCiphertextSize?: number;
}

/** Opens a sealed file for random access; the file stays open until `close()` (positional reads, so ranges may overlap in time). */
export async function openSealedFile(path: string, dataKey: Buffer, aad: Buffer, opts: OpenSealedFileOptions = {}): Promise<SealedFileReader> {
  const fh = await open(path, 'r');
  let header: SealedHeader;
  let layout: SegmentLayout;
  let dec: SegmentDecryptor;
  try {
    ({ header, layout } = await readLayout(fh));
    if (opts.expectedCiphertextSize !== undefined && opts.expectedCiphertextSize !== layout.ciphertextSize) {
      throw new SealedMediaError('KYC_ERR_SEALED_FORMAT', `sealed file is ${layout.ciphertextSize} bytes, expected ${opts.expectedCiphertextSize}`);
    }
    dec = new SegmentDecryptor(dataKey, aad, header);
  } catch (err) {
    await fh.close();
    throw err;
  }
  const full = layout.segmentSize + TAG_SIZE;
  const batch = Math.max(1, Math.floor((1 << 20) / full));
  let active = 0;
  let closing: Promise<void> | null = null;
  let closed: (() => void) | null = null;
  const release = (): void => {
    active -= 1;
    if (active === 0 && closed) closed();
  };
  return {
    plaintextSize: layout.plaintextSize,
    segmentSize: layout.segmentSize,
    segmentCount: layout.segmentCount,
    ciphertextSize: layout.ciphertextSize,
    readRange(start: number, endInclusive: number): AsyncIterable<Buffer> {
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endInclusive) || start < 0 || endInclusive < start || endInclusive >= layout.plaintextSize) {
        throw new SealedMediaError('KYC_ERR_SEALED_RANGE', `range ${start}-${endInclusive} is outside the plaintext (0-${layout.plaintextSize - 1})`);
      }
      if (closing) throw new SealedMediaError('KYC_ERR_SEALED_CLOSED', 'the sealed file reader is closed');
      // counted from now, so that close() waits for it; released when it ends, fails or is returned early
      active += 1;
      let released = false;
      const done = (): void => {
        if (released) return;
        released = true;
        release();
      };
      const gen = (async function* () {
        try {
          const first = Math.floor(start / layout.segmentSize);
          const lastSeg = Math.floor(endInclusive / layout.segmentSize);
          // the first segment is read alone (its bytes go out first), then up to 1 MiB at a time
          for (let s = first, n = 1; s <= lastSeg; s += n, n = batch) {
            const upto = Math.min(lastSeg, s + n - 1);
            const from = HEADER_SIZE + s * full;
            const to = Math.min(layout.ciphertextSize, HEADER_SIZE + (upto + 1) * full);
            const ct = Buffer.allocUnsafe(to - from);
            if ((await readFull(fh, ct, 0, from)) !== ct.length) throw new SealedMediaError('KYC_ERR_SEALED_FORMAT', 'sealed file shrank while being read');
            for (let i = s; i <= upto; i++) {
              const off = (i - s) * full;
              const plain = dec.decryptSegment(ct.subarray(off, Math.min(ct.length, off + full)), i, i === layout.segmentCount - 1);
              const segStart = i * layout.segmentSize;
              const a = Math.max(start, segStart) - segStart;
              const b = Math.min(endInclusive + 1, segStart + plain.length) - segStart;
              yield a === 0 && b === plain.length ? plain : plain.subarray(a, b);
            }
          }
        } finally {
          done();
        }
      })();
      const iterator: AsyncIterableIterator<Buffer> = {
        next: () => gen.next(),
        // a generator returned before its first step never enters its try block: release here too
        return: async (value?: unknown) => {
          try {
            return await gen.return(value as undefined);
          } finally {
            done();
          }
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        if (active > 0) await new Promise<void>((resolve) => (closed = resolve));
        await fh.close();
      })();
      return closing;
    },
  };
}

/**
 * Decrypts a whole sealed file in order, segment by segment, authenticating each before yielding it; the last
 * segment is checked even when the plaintext is empty. Plaintext already yielded is only trustworthy once the
 * iteration ends without an error (use decryptFile to get a file that exists only when complete).
 */
export async function* decryptStream(path: string, dataKey: Buffer, aad: Buffer): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  try {
    const { header, layout } = await readLayout(fh);
    const dec = new SegmentDecryptor(dataKey, aad, header);
    const full = layout.segmentSize + TAG_SIZE;
    const batch = Math.max(1, Math.floor((1 << 20) / full));
    for (let s = 0; s < layout.segmentCount; s += batch) {
      const upto = Math.min(layout.segmentCount - 1, s + batch - 1);
      const from = HEADER_SIZE + s * full;
      const to = Math.min(layout.ciphertextSize, HEADER_SIZE + (upto + 1) * full);
      const ct = Buffer.allocUnsafe(to - from);
      if ((await readFull(fh, ct, 0, from)) !== ct.length) throw new SealedMediaError('KYC_ERR_SEALED_FORMAT', 'sealed file shrank while being read');
      const out: Buffer[] = [];
      for (let i = s; i <= upto; i++) {
        const off = (i - s) * full;
        out.push(dec.decryptSegment(ct.subarray(off, Math.min(ct.length, off + full)), i, i === layout.segmentCount - 1));
      }
      yield out.length === 1 ? out[0]! : Buffer.concat(out);
    }
  } finally {
    await fh.close();
  }
}

/** Decrypts `src` into `dst` (mode 0600 unless given); `dst` appears only when every segment authenticated. */
export async function decryptFile(src: string, dst: string, dataKey: Buffer, aad: Buffer, mode = 0o600): Promise<{ plaintextBytes: number; plaintextSha256: string }> {
  const partial = `${dst}.partial`;
  const out = await open(partial, 'wx', mode);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of decryptStream(src, dataKey, aad)) {
      hash.update(chunk);
      bytes += chunk.length;
      await writeAll(out, chunk);
    }
    await out.sync();
    await out.close();
  } catch (err) {
    await out.close().catch(() => undefined);
    await unlink(partial).catch(() => undefined);
    throw err;
  }
  await rename(partial, dst);
  return { plaintextBytes: bytes, plaintextSha256: hash.digest('hex') };
}

/** Associated data of a recording's file: binds the recording id and the file's name (e.g. `teller-s01.webm`). */
export function recordingAad(recordingId: string, fileName: string): Buffer {
  if (!recordingId || /[\s/]/.test(recordingId) || !fileName || /[\s/]/.test(fileName)) throw new RangeError('recording id and file name must be non-empty, without spaces or slashes');
  return Buffer.from(`kyc-recording/v1 ${recordingId} ${fileName}`, 'utf8');
}

/** SHA-256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const fh = await open(path, 'r');
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      bytes += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { sha256: hash.digest('hex'), bytes };
}
