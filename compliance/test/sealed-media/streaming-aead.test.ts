import t from 'tap';
import { randomBytes, createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, truncate, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HEADER_SIZE,
  TAG_SIZE,
  decryptFile,
  decryptStream,
  encryptFile,
  layoutForCiphertext,
  layoutForPlaintext,
  openSealedFile,
  parseHeader,
  recordingAad,
} from '../../src/sealed-media/streaming-aead.js';

const SEG = 1024; // small segments: many segments from small files
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

type T = Parameters<Parameters<typeof t.test>[0]>[0];

async function tmp(t: T): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-seal-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

async function sealed(t: T, plain: Buffer, segmentSize = SEG) {
  const dir = await tmp(t);
  const key = randomBytes(32);
  const aad = recordingAad('rec-1', 'teller-s01.webm');
  await writeFile(join(dir, 'plain'), plain);
  const r = await encryptFile(join(dir, 'plain'), join(dir, 'sealed'), key, aad, { segmentSize });
  return { dir, key, aad, path: join(dir, 'sealed'), result: r };
}

async function expectAuthFailure(t: T, fn: () => Promise<unknown>, code: 'KYC_ERR_SEALED_AUTH' | 'KYC_ERR_SEALED_FORMAT', msg: string) {
  await t.rejects(fn(), { name: 'SealedMediaError', code }, msg);
}

t.test('round trip for sizes around segment boundaries', async (t) => {
  for (const size of [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG, 17 * SEG, 17 * SEG + 5, 40 * SEG + 333]) {
    const plain = randomBytes(size);
    const { path, key, aad, result } = await sealed(t, plain);
    const layout = layoutForPlaintext(size, SEG);
    t.equal(result.ciphertextBytes, layout.ciphertextSize, `size ${size}: ciphertext size follows from the plaintext size`);
    t.equal(result.plaintextSha256, sha(plain), `size ${size}: plaintext hash`);
    const file = await readFile(path);
    t.equal(result.ciphertextSha256, sha(file), `size ${size}: ciphertext hash`);
    t.equal(layoutForCiphertext(file.length, SEG).plaintextSize, size, `size ${size}: plaintext size follows from the ciphertext size`);
    t.same(await collect(decryptStream(path, key, aad)), plain, `size ${size}: decrypts`);
    t.notOk(file.includes(plain.subarray(0, Math.min(64, size))) && size >= 16, `size ${size}: no plaintext in the sealed file`);
  }
});

t.test('the header: magic, version, segment size; a sealed file is private', async (t) => {
  const { path } = await sealed(t, randomBytes(5000));
  const h = parseHeader(await readFile(path));
  t.equal(h.version, 1);
  t.equal(h.segmentSize, SEG);
  t.equal((await stat(path)).mode & 0o777, 0o600);
  t.equal(HEADER_SIZE, 56);
});

t.test('random access decrypts exactly the requested range', async (t) => {
  const plain = randomBytes(50 * SEG + 77);
  const { path, key, aad } = await sealed(t, plain);
  const reader = await openSealedFile(path, key, aad);
  t.equal(reader.plaintextSize, plain.length);
  t.equal(reader.segmentCount, 51);
  const cases: Array<[number, number]> = [
    [0, 0],
    [0, plain.length - 1],
    [SEG - 1, SEG],
    [5 * SEG, 6 * SEG - 1],
    [12345, 23456],
    [plain.length - 1, plain.length - 1],
    [plain.length - 100, plain.length - 1],
  ];
  for (const [a, b] of cases) t.same(await collect(reader.readRange(a, b)), plain.subarray(a, b + 1), `range ${a}-${b}`);
  t.throws(() => reader.readRange(0, plain.length), { name: 'SealedMediaError', code: 'KYC_ERR_SEALED_RANGE' }, 'a range past the end is refused');
  t.throws(() => reader.readRange(10, 5), { name: 'SealedMediaError', code: 'KYC_ERR_SEALED_RANGE' });
  await reader.close();
});

t.test('a reader keeps its file open until closed, and closing waits for the ranges being read', async (t) => {
  const plain = randomBytes(40 * SEG + 3);
  const { path, key, aad } = await sealed(t, plain);
  const reader = await openSealedFile(path, key, aad);
  const inFlight = reader.readRange(0, plain.length - 1)[Symbol.asyncIterator]();
  const first = await inFlight.next();
  t.same(first.value, plain.subarray(0, SEG), 'the first segment comes alone');
  const never = reader.readRange(5, 10)[Symbol.asyncIterator](); // asked for, then given up before its first step
  let closed = false;
  const closing = reader.close().then(() => (closed = true));
  t.throws(() => reader.readRange(0, 1), { name: 'SealedMediaError', code: 'KYC_ERR_SEALED_CLOSED' }, 'no new range once closing');
  await new Promise((r) => setTimeout(r, 20));
  t.notOk(closed, 'not closed while a range is being read');
  const rest: Buffer[] = [first.value as Buffer];
  for (let r = await inFlight.next(); !r.done; r = await inFlight.next()) rest.push(r.value);
  t.same(Buffer.concat(rest), plain, 'the range being read completes after close() was called');
  await new Promise((r) => setTimeout(r, 20));
  t.notOk(closed, 'still open: a range that was asked for has not ended');
  await never.return!();
  await closing;
  t.ok(closed, 'closed once every range ended');
});

t.test('a flipped bit anywhere fails loudly: header, ciphertext, tag', async (t) => {
  const plain = randomBytes(10 * SEG + 10);
  const { dir, path, key, aad } = await sealed(t, plain);
  const original = await readFile(path);
  const positions = [9 + 3, 20, 50, HEADER_SIZE, HEADER_SIZE + 5 * (SEG + TAG_SIZE) + 100, HEADER_SIZE + SEG + TAG_SIZE - 1, original.length - 1];
  for (const pos of positions) {
    const bad = Buffer.from(original);
    bad[pos]! ^= 0x01;
    const p = join(dir, `flip-${pos}`);
    await writeFile(p, bad);
    await t.rejects(collect(decryptStream(p, key, aad)), { name: 'SealedMediaError' }, `bit flipped at byte ${pos}`);
  }
  // the segment a range covers is authenticated on its own
  const bad = Buffer.from(original);
  bad[HEADER_SIZE + 3 * (SEG + TAG_SIZE) + 7]! ^= 0x80;
  await writeFile(join(dir, 'flip-range'), bad);
  const reader = await openSealedFile(join(dir, 'flip-range'), key, aad);
  await expectAuthFailure(t, () => collect(reader.readRange(3 * SEG, 3 * SEG + 10)), 'KYC_ERR_SEALED_AUTH', 'range over the altered segment fails');
  t.same(await collect(reader.readRange(0, 100)), plain.subarray(0, 101), 'an untouched segment still reads');
  await reader.close();
});

t.test('swapped or duplicated segments fail', async (t) => {
  const { dir, path, key, aad } = await sealed(t, randomBytes(6 * SEG));
  const f = await readFile(path);
  const seg = (i: number) => f.subarray(HEADER_SIZE + i * (SEG + TAG_SIZE), HEADER_SIZE + (i + 1) * (SEG + TAG_SIZE));
  const swapped = Buffer.concat([f.subarray(0, HEADER_SIZE), seg(0), seg(2), seg(1), seg(3), seg(4), seg(5)]);
  await writeFile(join(dir, 'swapped'), swapped);
  await expectAuthFailure(t, () => collect(decryptStream(join(dir, 'swapped'), key, aad)), 'KYC_ERR_SEALED_AUTH', 'segments 1 and 2 swapped');
  const dup = Buffer.concat([f.subarray(0, HEADER_SIZE), seg(0), seg(0), seg(2), seg(3), seg(4), seg(5)]);
  await writeFile(join(dir, 'dup'), dup);
  await expectAuthFailure(t, () => collect(decryptStream(join(dir, 'dup'), key, aad)), 'KYC_ERR_SEALED_AUTH', 'segment 0 repeated');
  const lastMoved = Buffer.concat([f.subarray(0, HEADER_SIZE), seg(0), seg(1), seg(2), seg(3), seg(5), seg(4)]);
  await writeFile(join(dir, 'last-moved'), lastMoved);
  await expectAuthFailure(t, () => collect(decryptStream(join(dir, 'last-moved'), key, aad)), 'KYC_ERR_SEALED_AUTH', 'last segment moved forward');
});

t.test('truncation fails: at a segment boundary, mid-segment, header only', async (t) => {
  const plain = randomBytes(8 * SEG + 100);
  const { dir, path, key, aad } = await sealed(t, plain);
  const f = await readFile(path);
  const cut = async (name: string, len: number) => {
    const p = join(dir, name);
    await writeFile(p, f.subarray(0, len));
    return p;
  };
  const boundary = await cut('boundary', HEADER_SIZE + 8 * (SEG + TAG_SIZE));
  await expectAuthFailure(t, () => collect(decryptStream(boundary, key, aad)), 'KYC_ERR_SEALED_AUTH', 'last segment dropped at a boundary');
  const boundary2 = await cut('boundary2', HEADER_SIZE + 3 * (SEG + TAG_SIZE));
  await expectAuthFailure(t, () => collect(decryptStream(boundary2, key, aad)), 'KYC_ERR_SEALED_AUTH', 'five segments dropped at a boundary');
  const reader = await openSealedFile(boundary2, key, aad);
  await expectAuthFailure(t, () => collect(reader.readRange(reader.plaintextSize - 1, reader.plaintextSize - 1)), 'KYC_ERR_SEALED_AUTH', 'a range reaching the new end fails');
  await reader.close();
  await t.rejects(
    openSealedFile(boundary2, key, aad, { expectedCiphertextSize: f.length }),
    { name: 'SealedMediaError', code: 'KYC_ERR_SEALED_FORMAT' },
    "the archive's known size catches it up front",
  );
  const mid = await cut('mid', HEADER_SIZE + 2 * (SEG + TAG_SIZE) + 7);
  await expectAuthFailure(t, () => collect(decryptStream(mid, key, aad)), 'KYC_ERR_SEALED_FORMAT', 'partial segment at the end');
  const header = await cut('header', HEADER_SIZE);
  await expectAuthFailure(t, () => collect(decryptStream(header, key, aad)), 'KYC_ERR_SEALED_FORMAT', 'header only');
  const short = await cut('short', 20);
  await expectAuthFailure(t, () => collect(decryptStream(short, key, aad)), 'KYC_ERR_SEALED_FORMAT', 'shorter than a header');
  const empty = await sealed(t, Buffer.alloc(0));
  const e = await readFile(empty.path);
  await writeFile(join(dir, 'empty-cut'), e.subarray(0, HEADER_SIZE + 15));
  await expectAuthFailure(t, () => collect(decryptStream(join(dir, 'empty-cut'), empty.key, empty.aad)), 'KYC_ERR_SEALED_FORMAT', 'empty plaintext, tag cut');
});

t.test("wrong recording id, wrong file name, wrong key, another file's segments", async (t) => {
  const plain = randomBytes(4 * SEG);
  const { path, key, aad } = await sealed(t, plain);
  await expectAuthFailure(t, () => collect(decryptStream(path, key, recordingAad('rec-2', 'teller-s01.webm'))), 'KYC_ERR_SEALED_AUTH', 'wrong recording id');
  await expectAuthFailure(t, () => collect(decryptStream(path, key, recordingAad('rec-1', 'customer-s01.webm'))), 'KYC_ERR_SEALED_AUTH', "the other party's name");
  await expectAuthFailure(t, () => collect(decryptStream(path, randomBytes(32), aad)), 'KYC_ERR_SEALED_AUTH', 'wrong data key');
  t.same(await collect(decryptStream(path, key, aad)), plain, 'the right key and aad still work');
  // same key, same aad, same plaintext: a second sealing has its own salt and prefix, so segments do not mix
  const other = await sealed(t, plain);
  const a = await readFile(path);
  const b = await readFile(other.path);
  t.not(sha(a), sha(b), 'two sealings of the same bytes differ');
  const mixed = Buffer.concat([a.subarray(0, HEADER_SIZE + SEG + TAG_SIZE), b.subarray(HEADER_SIZE + SEG + TAG_SIZE)]);
  const p = join(other.dir, 'mixed');
  await writeFile(p, mixed);
  await expectAuthFailure(t, () => collect(decryptStream(p, key, aad)), 'KYC_ERR_SEALED_AUTH', 'segments of another sealing');
});

t.test('decryptFile writes the plaintext only when every segment authenticates', async (t) => {
  const plain = randomBytes(9 * SEG + 1);
  const { dir, path, key, aad, result } = await sealed(t, plain);
  const out = join(dir, 'out.webm');
  const r = await decryptFile(path, out, key, aad);
  t.equal(r.plaintextSha256, result.plaintextSha256);
  t.same(await readFile(out), plain);
  const bad = await readFile(path);
  bad[bad.length - 40]! ^= 1;
  await writeFile(join(dir, 'bad'), bad);
  await t.rejects(decryptFile(join(dir, 'bad'), join(dir, 'bad-out.webm'), key, aad), { name: 'SealedMediaError', code: 'KYC_ERR_SEALED_AUTH' });
  const names = await readdir(dir);
  t.notOk(names.includes('bad-out.webm'), 'no output file');
  t.notOk(
    names.some((n) => n.includes('partial')),
    'no partial file left',
  );
});

t.test('the default 64 KiB segments over a few MiB', async (t) => {
  const plain = randomBytes(3 * 1024 * 1024 + 12345);
  const { path, key, aad, result } = await sealed(t, plain, 64 * 1024);
  t.equal(result.segmentCount, 49);
  const reader = await openSealedFile(path, key, aad);
  t.same(await collect(reader.readRange(1_000_000, 2_000_000)), plain.subarray(1_000_000, 2_000_001));
  await reader.close();
  await truncate(path, (await stat(path)).size - 1);
  await expectAuthFailure(t, () => collect(decryptStream(path, key, aad)), 'KYC_ERR_SEALED_AUTH', 'one byte cut from the last tag');
});
