import t from 'tap';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { FileKeyring, parseSealedFileList } from '@kyc/compliance';
import { MediaTools } from '../../src/recording/media-tools.js';
import { decryptRecording } from '../../src/recording/archive-reader.js';
import { recordFailure, failureReason, sealRecording, type SealContext } from '../../src/recording/seal-job.js';
import { recordingRepository } from '../../src/repositories/recording.repository.js';
import { RECONNECT_FIXTURE, auditedTestDatabase, copyFixture, findPlaintextMedia, fixtureStart, insertSession, makeDataDirs } from '../helpers/recording-fixtures.js';

const run = promisify(execFile);
const TOOLS = { ffmpeg: '/usr/bin/ffmpeg', ffprobe: '/usr/bin/ffprobe', janusPpRec: '/usr/bin/janus-pp-rec' };
type T = Parameters<Parameters<typeof t.test>[0]>[0];

async function setup(t: T) {
  const { db, pool, audit } = await auditedTestDatabase(t, 10);
  const dirs = await makeDataDirs(t);
  const { keyring } = await FileKeyring.openOrCreate(dirs.kekDir);
  const ctx: SealContext = {
    pool,
    audit,
    keyring,
    tools: new MediaTools(TOOLS),
    recordingsDir: dirs.recordingsDir,
    archiveDir: dirs.archiveDir,
    settleMs: 0,
  };
  return { db, pool, audit, dirs, keyring, ctx };
}

/** An ended session around the fixture's media, its recording row, and the fixture in its folder. */
async function sessionWithFixture(s: Awaited<ReturnType<typeof setup>>) {
  const start = await fixtureStart(RECONNECT_FIXTURE);
  const admittedAt = new Date(start.getTime() - 300);
  const endedAt = new Date(start.getTime() + 4800);
  const { caseId, sessionId } = await insertSession(s.pool, { admittedAt, endedAt });
  await s.pool.query(`INSERT INTO session_events (session_id, at, party, kind, data) VALUES ($1, $2, 'teller', 'script_step', '{"step":"risk disclosure"}')`, [
    sessionId,
    new Date(start.getTime() + 1000),
  ]);
  const sessionDir = join(s.dirs.recordingsDir, sessionId);
  await copyFixture(RECONNECT_FIXTURE, sessionDir);
  const rec = await recordingRepository.createForSession(s.pool, { id: crypto.randomUUID(), sessionId, caseId });
  return { caseId, sessionId, sessionDir, recordingId: rec!.id };
}

async function auditEvents(pool: pg.Pool, action: string): Promise<Array<{ object: { id: string }; details: Record<string, unknown>; reason?: string; result: string }>> {
  const r = await pool.query<{ body: string }>(`SELECT body FROM audit_event ORDER BY id`);
  return r.rows.map((x) => JSON.parse(x.body)).filter((e: { action: string }) => e.action === action);
}

const sha256 = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

async function probe(path: string) {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name', '-of', 'json', path]);
  return JSON.parse(stdout) as { format: { duration: string }; streams: Array<{ codec_type: string; codec_name: string }> };
}

t.test('seals a real Janus recording with a reconnect: encrypted, hashed, audited, plaintext removed', async (t) => {
  const s = await setup(t);
  const { sessionId, sessionDir, recordingId, caseId } = await sessionWithFixture(s);
  t.equal(await sealRecording(s.ctx, recordingId), 'sealed');

  const rec = await recordingRepository.findById(s.pool, recordingId);
  t.equal(rec?.status, 'sealed');
  t.ok(rec?.plaintext_removed_at, 'plaintext removal recorded');
  t.equal(rec?.complete, true, 'complete: a reconnect is information, not a problem');
  t.same(
    (rec?.issues as Array<{ code: string }>).map((i) => i.code),
    ['segment_break'],
  );
  await t.rejects(stat(sessionDir), { code: 'ENOENT' }, 'the session folder (.mjr and work files) is gone');

  const folder = join(s.dirs.archiveDir, recordingId);
  const names = (await readdir(folder)).sort();
  t.same(names, ['customer-s01.webm.kseal', 'customer-s02.webm.kseal', 'files.json', 'key.json', 'manifest.json.kseal', 'teller-s01.webm.kseal']);
  t.same(await findPlaintextMedia(s.dirs.dataDir), [], 'no plaintext media anywhere in the data dir');
  for (const n of names) t.equal((await stat(join(folder, n))).mode & 0o777, 0o600, `${n} is 0600`);
  const skews = await s.pool.query<{ name: string; av_skew_ms: number | null }>("SELECT name, av_skew_ms FROM recording_files WHERE recording_id = $1 AND kind = 'media' ORDER BY name", [
    recordingId,
  ]);
  t.equal(skews.rows.length, 3);
  for (const f of skews.rows) {
    t.ok(f.av_skew_ms !== null && Math.abs(f.av_skew_ms) <= 100, `${f.name}: audio-video skew after post-processing measured (${f.av_skew_ms} ms)`);
  }

  const [sealed, ...more] = await auditEvents(s.pool, 'recording.sealed');
  t.equal(more.length, 0, 'one recording.sealed event');
  t.equal(sealed?.object.id, recordingId);
  t.equal(sealed?.details.sessionId, sessionId);
  t.equal(sealed?.details.caseId, caseId);
  t.equal(sealed?.details.manifestSha256, rec?.manifest_sha256?.toString('hex'));
  t.same(
    Object.keys(sealed?.details ?? {})
      .filter((k) => k.startsWith('file'))
      .sort(),
    ['files', 'filesSha256'],
    "the event carries the file list's hash, not the list",
  );
  const listBytes = await readFile(join(folder, 'files.json'));
  t.equal(sealed?.details.filesSha256, createHash('sha256').update(listBytes).digest('hex'), "the folder's file list hashes to the audited value");
  const listed = parseSealedFileList(listBytes);
  t.same(listed.malformed, []);
  t.equal(sealed?.details.files, listed.files.length, 'the file count matches the listed files');
  t.same(
    listed.files.map((f) => f.name).sort(),
    names.filter((x) => x.endsWith('.kseal')),
    'every sealed file is listed',
  );
  for (const n of names.filter((x) => x.endsWith('.kseal'))) {
    const st = await stat(join(folder, n));
    t.same(
      listed.files.find((f) => f.name === n),
      { name: n, bytes: st.size, sha256: await sha256(join(folder, n)) },
      `${n}: size and SHA-256 in the audit event`,
    );
  }
  t.equal((await auditEvents(s.pool, 'recording.plaintext_removed')).length, 1);

  const out = join(s.dirs.dataDir, 'restored');
  const restored = await decryptRecording({ archiveDir: s.dirs.archiveDir, recordingId, keyring: s.keyring, outDir: out });
  t.equal(restored.manifestSha256, rec?.manifest_sha256?.toString('hex'), 'the manifest hashes to the audited value');
  const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
  t.equal(manifest.recordingId, recordingId);
  t.equal(manifest.caseId, caseId);
  t.equal(manifest.streams.length, 6, 'six streams: teller s01, customer s01 and s02, audio and video each');
  t.ok(
    manifest.streams.every((x: { startedAt: string | null; codec: string }) => x.startedAt && ['opus', 'vp8'].includes(x.codec)),
    'each stream has its wall-clock start and codec',
  );
  t.same(
    manifest.markers.map((m: { kind: string }) => m.kind),
    ['script_step'],
  );
  const offsets = manifest.files.map((f: { offsetMs: number }) => f.offsetMs);
  t.equal(Math.min(...offsets), 0, 'offsets are relative to the earliest stream');
  t.ok(manifest.files.find((f: { name: string }) => f.name === 'customer-s02.webm').offsetMs > 1500, 'the reconnect segment starts later');
  for (const f of restored.files) {
    const p = await probe(f.path);
    t.same(p.streams.map((x) => `${x.codec_type}:${x.codec_name}`).sort(), ['audio:opus', 'video:vp8'], `${f.name}: VP8 video and Opus audio`);
    const m = manifest.files.find((x: { name: string }) => x.name === f.name);
    t.ok(Math.abs(Number(p.format.duration) * 1000 - m.durationMs) < 50, `${f.name}: duration as in the manifest`);
    t.equal(f.sha256, m.plaintext.sha256);
  }
  const teller = manifest.files.find((f: { name: string }) => f.name === 'teller-s01.webm');
  t.ok(teller.durationMs > 3500 && teller.durationMs < 5500, `teller media last about the call (${teller.durationMs} ms)`);

  t.equal(await sealRecording(s.ctx, recordingId), 'cleaned', 'a second run only checks the cleanup');
  t.equal((await auditEvents(s.pool, 'recording.sealed')).length, 1, 'still one recording.sealed event');
  t.same((await readdir(s.dirs.archiveDir)).sort(), [recordingId], 'one sealed copy, no staging left');
});

t.test('a header-only stream is flagged, sealed as it is, and the recording marked incomplete', async (t) => {
  const s = await setup(t);
  const { sessionDir, recordingId } = await sessionWithFixture(s);
  await truncate(join(sessionDir, 'customer-s02-video-1.mjr'), 8);
  await writeFile(join(sessionDir, 'notes.txt'), 'unexpected');
  await sealRecording(s.ctx, recordingId);
  const rec = await recordingRepository.findById(s.pool, recordingId);
  t.equal(rec?.status, 'sealed');
  t.equal(rec?.complete, false);
  const issues = rec?.issues as Array<{ code: string; file?: string }>;
  t.ok(
    issues.some((i) => i.code === 'stream_empty' && i.file === 'customer-s02-video-1.mjr'),
    'the 8-byte .mjr is a stream_empty issue',
  );
  t.ok(issues.some((i) => i.code === 'unknown_file' && i.file === 'notes.txt'));
  const [sealed] = await auditEvents(s.pool, 'recording.sealed');
  t.equal(sealed?.details.complete, false, 'the audit event says incomplete');
  t.match(String(sealed?.details.issueCodes), /stream_empty/);
  const out = join(s.dirs.dataDir, 'restored');
  const restored = await decryptRecording({ archiveDir: s.dirs.archiveDir, recordingId, keyring: s.keyring, outDir: out });
  const names = restored.files.map((f) => f.name).sort();
  t.same(names, ['customer-s01.webm', 'customer-s02-video-1.mjr', 'customer-s02.webm', 'notes.txt', 'teller-s01.webm'], 'nothing lost: raw files restored under their names');
  const p = await probe(join(out, 'customer-s02.webm'));
  t.same(
    p.streams.map((x) => x.codec_type),
    ['audio'],
    'the segment without video is sealed with its audio',
  );
  t.equal((await readFile(join(out, 'customer-s02-video-1.mjr'))).length, 8);
});

t.test('a failing media tool fails the attempt visibly, keeps the inputs, and a retry seals', async (t) => {
  const s = await setup(t);
  const { sessionDir, recordingId } = await sessionWithFixture(s);
  const broken: SealContext = { ...s.ctx, tools: new MediaTools({ ...TOOLS, ffmpeg: join(s.dirs.dataDir, 'no-such-ffmpeg') }) };
  let reason = '';
  await t.rejects(
    sealRecording(broken, recordingId).catch(async (err: unknown) => {
      reason = failureReason(err);
      await recordFailure(s.ctx, recordingId, reason, true);
      throw err;
    }),
    { name: 'MediaToolError' },
  );
  t.match(reason, /ffmpeg could not be started \(ENOENT\)/);
  const failed = await recordingRepository.findById(s.pool, recordingId);
  t.equal(failed?.status, 'failed');
  t.equal(failed?.failure_reason, reason);
  t.equal(failed?.will_retry, true);
  const [ev] = await auditEvents(s.pool, 'recording.seal_failed');
  t.equal(ev?.result, 'failure');
  t.equal(ev?.reason, reason);
  const kept = await readdir(sessionDir);
  t.equal(kept.filter((n) => n.endsWith('.mjr')).length, 6, 'the .mjr inputs are kept');
  t.ok(kept.includes(`.seal-${recordingId}`), 'the private work folder is kept for the retry');
  t.equal((await stat(sessionDir)).mode & 0o777, 0o700);
  t.notOk((await readdir(s.dirs.archiveDir)).includes(recordingId), 'nothing in the archive');

  t.equal(await sealRecording(s.ctx, recordingId), 'sealed', 'the retry resumes and seals');
  const rec = await recordingRepository.findById(s.pool, recordingId);
  t.equal(rec?.status, 'sealed');
  t.equal(rec?.failure_reason, null);
  t.equal(rec?.attempts, 2);
});

t.test('an uncommitted archive copy from a crashed attempt is replaced, never duplicated', async (t) => {
  const s = await setup(t);
  const { recordingId } = await sessionWithFixture(s);
  const stale = join(s.dirs.archiveDir, recordingId);
  await import('node:fs/promises').then((fs) => fs.mkdir(stale, { mode: 0o700 }));
  await writeFile(join(stale, 'teller-s01.webm.kseal'), 'left by a crash before the commit');
  await sealRecording(s.ctx, recordingId);
  t.equal((await auditEvents(s.pool, 'recording.sealed')).length, 1, 'one recording.sealed event');
  t.same(
    parseSealedFileList(await readFile(join(stale, 'files.json'))).files.find((f) => f.name === 'teller-s01.webm.kseal'),
    { name: 'teller-s01.webm.kseal', bytes: (await stat(join(stale, 'teller-s01.webm.kseal'))).size, sha256: await sha256(join(stale, 'teller-s01.webm.kseal')) },
  );
  t.notMatch(await readFile(join(stale, 'teller-s01.webm.kseal'), 'utf8').catch(() => ''), /left by a crash/);
});

t.test('a second worker cannot seal the same recording at the same time', async (t) => {
  const s = await setup(t);
  const { recordingId } = await sessionWithFixture(s);
  const holder = await s.pool.connect();
  t.teardown(() => holder.release());
  await holder.query('SELECT pg_advisory_lock($1, hashtext($2))', [0x6b796373, recordingId]);
  await t.rejects(sealRecording(s.ctx, recordingId), { name: 'SealBusyError' });
  await holder.query('SELECT pg_advisory_unlock($1, hashtext($2))', [0x6b796373, recordingId]);
  t.equal(await sealRecording(s.ctx, recordingId), 'sealed');
});
