import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyDatabase } from '../../src/audit/verifier.js';
import { checkSealedRecording, encodeSealedFileList, parseSealedFileDetails, parseSealedFileList, SEALED_FILE_LIST, sealedFileDetails } from '../../src/sealed-media/archive-check.js';
import { encodeEvent } from '../../src/audit/event.js';
import { encryptFile, recordingAad } from '../../src/sealed-media/streaming-aead.js';
import { signedTestLog } from '../helpers/signed-log.js';

const ORIGIN = 'kyc-appliance.test/audit';
const RECORDING = '6f1c2a3b-0000-4000-8000-000000000001';

type T = Parameters<Parameters<typeof t.test>[0]>[0];

async function sealedFolder(t: T) {
  const base = await mkdtemp(join(tmpdir(), 'kyc-archive-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const archive = join(base, 'archive');
  await mkdir(join(archive, RECORDING), { recursive: true });
  const key = randomBytes(32);
  const files = [];
  for (const name of ['teller-s01.webm', 'manifest.json']) {
    await writeFile(join(base, name), randomBytes(200_000));
    const r = await encryptFile(join(base, name), join(archive, RECORDING, `${name}.kseal`), key, recordingAad(RECORDING, name));
    files.push({ name: `${name}.kseal`, bytes: r.ciphertextBytes, sha256: r.ciphertextSha256 });
  }
  return { archive, files };
}

t.test('details round trip; malformed entries are reported', async (t) => {
  const d = sealedFileDetails([{ name: 'a.kseal', bytes: 5, sha256: 'ab'.repeat(32) }]);
  t.same(d, { 'files.1': `a.kseal:5:${'ab'.repeat(32)}` });
  t.same(parseSealedFileDetails({ ...d, caseId: 'x' }).files, [{ name: 'a.kseal', bytes: 5, sha256: 'ab'.repeat(32) }]);
  const ok = `c.kseal:1:${'0'.repeat(64)}`;
  const bad = parseSealedFileDetails({ 'files.1': `b:12:nothex ${ok} ../x:1:${'0'.repeat(64)}`, 'files.x': ok, 'files.2': 7, 'files.3': ok });
  t.same(
    bad.files.map((f) => f.name),
    ['c.kseal'],
    'the good entry is read',
  );
  t.equal(bad.malformed.length, 5, 'a bad hash, a path, a bad key, a non-string and a duplicate are reported');
  t.throws(() => sealedFileDetails([{ name: '../evil', bytes: 1, sha256: '0'.repeat(64) }]));
  t.throws(() => sealedFileDetails([{ name: 'a', bytes: -1, sha256: '0'.repeat(64) }]));
});

t.test('events of the first format (one file.<name> detail per file) still read', async (t) => {
  const legacy = { 'file.a.kseal': `5:${'ab'.repeat(32)}`, 'file.b.kseal': `7:${'cd'.repeat(32)}`, files: 2, caseId: 'x' };
  t.same(parseSealedFileDetails(legacy), {
    files: [
      { name: 'a.kseal', bytes: 5, sha256: 'ab'.repeat(32) },
      { name: 'b.kseal', bytes: 7, sha256: 'cd'.repeat(32) },
    ],
    malformed: [],
  });
  t.same(parseSealedFileDetails({ 'file.b': '12:nothex', 'file.../x': `1:${'0'.repeat(64)}` }).malformed.sort(), ['file.../x', 'file.b']);
});

t.test('a call with many reconnections: a couple of hundred files fit one event, more are refused', async (t) => {
  const many = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      name: `${i % 2 ? 'customer' : 'teller'}-s${String(Math.floor(i / 2) + 1).padStart(2, '0')}.webm.kseal`,
      bytes: 123_456_789 + i,
      sha256: createHash('sha256').update(String(i)).digest('hex'),
    }));
  const files = many(180);
  const d = sealedFileDetails(files);
  t.ok(Object.keys(d).length <= 22, `${Object.keys(d).length} details`);
  t.ok(
    Object.values(d).every((v) => v.length <= 1024),
    'each within the audit detail limit',
  );
  t.same(parseSealedFileDetails(d), { files, malformed: [] }, 'read back exactly, in order');
  t.throws(() => sealedFileDetails(many(400)), /do not fit/);
});

t.test("any number of sealed files: the event carries the hash of the folder's file list and stays small", async (t) => {
  const many = Array.from({ length: 2000 }, (_, i) => ({
    name: `customer-s${String(i).padStart(4, '0')}.webm.kseal`,
    bytes: 123_456_789 + i,
    sha256: createHash('sha256').update(String(i)).digest('hex'),
  }));
  const list = encodeSealedFileList(many);
  t.same(Object.keys(list.details).sort(), ['files', 'filesSha256']);
  t.equal(list.details.files, 2000);
  const { json } = encodeEvent({
    actor: { username: 'system', roles: [], auth: 'system' },
    action: 'recording.sealed',
    object: { type: 'recording', id: RECORDING },
    result: 'success',
    details: { sessionId: RECORDING, caseId: RECORDING, manifestSha256: 'ab'.repeat(32), ...list.details },
  });
  t.ok(Buffer.byteLength(json) < 1024, `the event of a 2,000-file recording is ${Buffer.byteLength(json)} bytes`);
  t.same(parseSealedFileList(list.bytes), { files: [...many].sort((a, b) => (a.name < b.name ? -1 : 1)), malformed: [] }, 'the list reads back');
  t.equal(encodeSealedFileList([...many].reverse()).details.filesSha256, list.details.filesSha256, 'the same files give the same hash whatever their order');
  t.throws(() => encodeSealedFileList([many[0]!, many[0]!]), /twice/);
  t.throws(() => encodeSealedFileList([{ name: SEALED_FILE_LIST, bytes: 1, sha256: '0'.repeat(64) }]), /itself/);
});

t.test('a folder with a file list matches its event; an altered list or file does not', async (t) => {
  const { archive, files } = await sealedFolder(t);
  const list = encodeSealedFileList(files);
  const listPath = join(archive, RECORDING, SEALED_FILE_LIST);
  await writeFile(listPath, list.bytes);
  t.same(await checkSealedRecording(archive, RECORDING, list.details), { files: 2, problems: [] });
  const forged = encodeSealedFileList(files.slice(0, 1));
  await writeFile(listPath, forged.bytes);
  t.match((await checkSealedRecording(archive, RECORDING, list.details)).problems, [{ file: SEALED_FILE_LIST, reason: /list hash/ }], 'a list with a file left out is caught');
  await writeFile(listPath, list.bytes);
  t.match((await checkSealedRecording(archive, RECORDING, { ...list.details, files: 3 })).problems, [{ reason: /says 3 files/ }]);
  const p = join(archive, RECORDING, 'teller-s01.webm.kseal');
  const flipped = await readFile(p);
  flipped[1000]! ^= 1;
  await writeFile(p, flipped);
  t.match((await checkSealedRecording(archive, RECORDING, list.details)).problems, [{ file: 'teller-s01.webm.kseal', reason: /SHA-256 differs/ }]);
  await unlink(listPath);
  t.match((await checkSealedRecording(archive, RECORDING, list.details)).problems, [{ file: SEALED_FILE_LIST, reason: /missing/ }]);
});

t.test('a folder matches its event; altered, truncated, missing files do not', async (t) => {
  const { archive, files } = await sealedFolder(t);
  const details = sealedFileDetails(files);
  t.same((await checkSealedRecording(archive, RECORDING, details)).problems, []);
  const p = join(archive, RECORDING, 'teller-s01.webm.kseal');
  const original = await readFile(p);
  const flipped = Buffer.from(original);
  flipped[1000]! ^= 1;
  await writeFile(p, flipped);
  t.match((await checkSealedRecording(archive, RECORDING, details)).problems, [{ file: 'teller-s01.webm.kseal', reason: /SHA-256 differs/ }]);
  await writeFile(p, original.subarray(0, original.length - 100));
  t.match((await checkSealedRecording(archive, RECORDING, details)).problems, [{ reason: /size/ }]);
  await unlink(p);
  t.match((await checkSealedRecording(archive, RECORDING, details)).problems, [{ reason: /missing/ }]);
});

t.test('kyc-audit verify --archive: sealed recordings checked against their recording.sealed events', async (t) => {
  const { db, log, signer, dir, cp } = await signedTestLog(t, ORIGIN);

  const { archive, files } = await sealedFolder(t);
  await log.append({ actor: { username: 'system', roles: [], auth: 'system' }, action: 'case.create', object: { type: 'case', id: 'c1' }, result: 'success' });
  await log.append({
    actor: { username: 'system', roles: [], auth: 'system' },
    action: 'recording.sealed',
    object: { type: 'recording', id: RECORDING },
    result: 'success',
    details: { manifestSha256: '0'.repeat(64), ...sealedFileDetails(files) },
  });
  await log.sequence();
  await cp.checkpointNow();
  const opts = { db: db.superUrl, checkpointsDir: dir, verifierKey: signer.verifierKey, archiveDir: archive };
  const good = await verifyDatabase(opts);
  t.equal(good.ok, true, good.reason ?? 'verifies');
  t.same(good.recordings, { checked: 1, files: 2, bad: 0, shredded: 0 });
  const withoutArchive = await verifyDatabase({ ...opts, archiveDir: undefined });
  t.equal(withoutArchive.recordings, undefined, 'no archive given: not checked');

  const p = join(archive, RECORDING, 'manifest.json.kseal');
  const bytes = await readFile(p);
  bytes[bytes.length - 1]! ^= 0x80;
  await writeFile(p, bytes);
  const bad = await verifyDatabase(opts);
  t.equal(bad.ok, false);
  t.equal(bad.firstBadIndex, 1, 'the leaf of the recording.sealed event');
  t.match(bad.reason, /manifest\.json\.kseal: SHA-256 differs/);
  t.same(bad.recordings, { checked: 1, files: 2, bad: 1, shredded: 0 });
});
