// Seal benchmark: a dual recording of 10 minutes per party, in the pipeline's input format (.mjr files: the RTP
// packets of the committed real Janus recording, continued to 10 minutes), sealed by the real pipeline
// (janus-pp-rec, ffmpeg stream copy, ffprobe, streaming AEAD, PostgreSQL, audit log). Reports × real time, and
// the streaming AEAD's encryption throughput against raw node:crypto AES-256-GCM over the same bytes, in the
// same run. Last line: {"seal_x_realtime":…,"encrypt_ratio_vs_raw":…}.
//
//   npx tsx appliance/bench/seal.bench.ts [--minutes 10]
import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { AuditLog, DEFAULT_SEGMENT_SIZE, FileKeyring, SegmentEncryptor, encryptFile, recordingAad } from '@kyc/compliance';
import { createTestDatabase } from '@kyc/compliance/testing';
import { allMigrations } from '../src/migrations-dir.js';
import { decryptRecording } from '../src/recording/archive-reader.js';
import { MediaTools } from '../src/recording/media-tools.js';
import { sealRecording } from '../src/recording/seal-job.js';
import { recordingRepository } from '../src/repositories/recording.repository.js';
import { RECONNECT_FIXTURE, insertSession } from '../test/helpers/recording-fixtures.js';
import { loopMjr } from './mjr-loop.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' } } });
const minutes = Number(values.minutes);
const seconds = minutes * 60;
const MiB = 1024 * 1024;

const work = await mkdtemp(join(tmpdir(), 'kyc-seal-bench-'));
const db = await createTestDatabase(allMigrations);
const pool = new pg.Pool({ connectionString: db.appUrl, max: 8 });
pool.on('error', () => undefined);
const audit = new AuditLog({ pool });
try {
  const recordingsDir = join(work, 'recordings');
  const archiveDir = join(work, 'archive');
  await mkdir(recordingsDir, { mode: 0o700 });
  await mkdir(archiveDir, { mode: 0o700 });
  const { keyring } = await FileKeyring.openOrCreate(join(work, 'kek'));

  const admittedAt = new Date(Date.now() - (seconds + 5) * 1000);
  const endedAt = new Date(admittedAt.getTime() + (seconds + 2) * 1000);
  const { caseId, sessionId } = await insertSession(pool, { admittedAt, endedAt });
  const sessionDir = join(recordingsDir, sessionId);
  await mkdir(sessionDir, { mode: 0o700 });
  const t0 = (admittedAt.getTime() + 1000) * 1000;
  const inputs: Array<[string, string, number]> = [
    ['teller-s01-video-1.mjr', 'teller-s01-video-1.mjr', t0 + 30_000],
    ['teller-s01-audio-0.mjr', 'teller-s01-audio-0.mjr', t0],
    ['customer-s01-video-1.mjr', 'customer-s01-video-1.mjr', t0 + 250_000],
    ['customer-s01-audio-0.mjr', 'customer-s01-audio-0.mjr', t0 + 220_000],
  ];
  let inputBytes = 0;
  for (const [src, dst, start] of inputs) {
    await loopMjr(join(RECONNECT_FIXTURE, src), join(sessionDir, dst), seconds, start);
    inputBytes += (await stat(join(sessionDir, dst))).size;
  }
  const rec = await recordingRepository.createForSession(pool, { id: randomUUID(), sessionId, caseId });

  const started = performance.now();
  await sealRecording(
    { pool, audit, keyring, tools: new MediaTools({ ffmpeg: '/usr/bin/ffmpeg', ffprobe: '/usr/bin/ffprobe', janusPpRec: '/usr/bin/janus-pp-rec' }), recordingsDir, archiveDir, settleMs: 0 },
    rec!.id,
  );
  const sealSeconds = (performance.now() - started) / 1000;
  const sealed = await recordingRepository.findById(pool, rec!.id);
  if (sealed?.status !== 'sealed') throw new Error('not sealed');
  const files = await recordingRepository.files(pool, rec!.id);
  const sealedBytes = files.reduce((n, f) => n + Number(f.plaintext_bytes), 0);

  // encryption: the teller's merged file (restored from the archive), our format vs one raw AES-256-GCM pass
  const restored = join(work, 'restored');
  await decryptRecording({ archiveDir, recordingId: rec!.id, keyring, outDir: restored });
  const plain = await readFile(join(restored, 'teller-s01.webm'));
  const key = randomBytes(32);
  const aad = recordingAad(rec!.id, 'teller-s01.webm');
  // raw: one cipher over the whole file, fed in 64 KiB and in 1 MiB pieces; the faster of the two is the reference
  const rawWith = (piece: number) => (): void => {
    const c = createCipheriv('aes-256-gcm', key, randomBytes(12));
    for (let off = 0; off < plain.length; off += piece) c.update(plain.subarray(off, off + piece));
    c.final();
    c.getAuthTag();
  };
  const raw64k = rawWith(64 * 1024);
  const raw1m = rawWith(MiB);
  // as encryptFile runs it: batches of 16 segments written into one reused buffer
  const batchOut = Buffer.allocUnsafe(17 * (DEFAULT_SEGMENT_SIZE + 16));
  const segmented = (): void => {
    const enc = new SegmentEncryptor(key, aad, DEFAULT_SEGMENT_SIZE);
    const n = Math.max(1, Math.ceil(plain.length / DEFAULT_SEGMENT_SIZE));
    let w = 0;
    for (let i = 0; i < n; i++) {
      if (i % 16 === 0) w = 0;
      w += enc.encryptSegmentInto(plain.subarray(i * DEFAULT_SEGMENT_SIZE, (i + 1) * DEFAULT_SEGMENT_SIZE), i === n - 1, batchOut, w);
    }
  };
  const time = (fn: () => void): number => {
    const s = performance.now();
    fn();
    return performance.now() - s;
  };
  // alternating pairs, median of the pairwise ratios: robust to other load on the machine
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const f of [raw64k, raw1m, segmented]) time(f);
  const rawMs: number[] = [];
  const segMs: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < 21; r++) {
    const a = Math.min(time(raw64k), time(raw1m));
    const b = time(segmented);
    rawMs.push(a);
    segMs.push(b);
    ratios.push(a / b);
  }
  const rawMiBs = plain.length / MiB / (median(rawMs) / 1000);
  const segMiBs = plain.length / MiB / (median(segMs) / 1000);
  const ratio = median(ratios);
  // the whole file step as the seal runs it: read, encrypt, SHA-256 of plaintext and ciphertext, write, fsync
  let fileBest = Infinity;
  for (let r = 0; r < 3; r++) {
    const s = performance.now();
    await encryptFile(join(restored, 'teller-s01.webm'), join(work, `bench-${r}.kseal`), key, aad);
    fileBest = Math.min(fileBest, performance.now() - s);
  }
  const fileMiBs = plain.length / MiB / (fileBest / 1000);

  const xRealtime = seconds / sealSeconds;
  const load = (await readFile('/proc/loadavg', 'utf8')).split(' ')[0];
  process.stdout.write(
    [
      `dual recording: 2 parties × ${minutes} min (${seconds} s of session), .mjr input ${(inputBytes / MiB).toFixed(1)} MiB, sealed media ${(sealedBytes / MiB).toFixed(1)} MiB in ${files.length} files`,
      `seal (janus-pp-rec ×4, ffmpeg stream copy ×2, ffprobe, encrypt + hash, commit, cleanup): ${sealSeconds.toFixed(2)} s = ${xRealtime.toFixed(1)}× real time`,
      `encryption over the teller's ${(plain.length / MiB).toFixed(1)} MiB: streaming AEAD (64 KiB segments) ${segMiBs.toFixed(0)} MiB/s, raw AES-256-GCM (one cipher, best of 64 KiB / 1 MiB updates) ${rawMiBs.toFixed(0)} MiB/s, median of 21 paired runs: ratio ${ratio.toFixed(3)}`,
      `load average during the run: ${load} (2 cores)`,
      `encryptFile with I/O, fsync and both SHA-256 (as the seal runs it): ${fileMiBs.toFixed(0)} MiB/s`,
      JSON.stringify({ seal_x_realtime: Math.round(xRealtime * 10) / 10, encrypt_ratio_vs_raw: Math.round(ratio * 1000) / 1000 }),
    ].join('\n') + '\n',
  );
} finally {
  await audit.close().catch(() => undefined);
  await pool.end();
  await db.drop();
  await rm(work, { recursive: true, force: true });
}
