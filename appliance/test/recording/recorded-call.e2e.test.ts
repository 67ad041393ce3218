import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FileKeyring, openSealedFile, recordingAad } from '@kyc/compliance';
import { loadConfig } from '../../src/config/load.js';
import { withTransaction } from '../../src/db/database.js';
import { createJobBoss, requestSeal } from '../../src/recording/seal-queue.js';
import { recordingRepository } from '../../src/repositories/recording.repository.js';
import { startWorker } from '../../src/worker.js';
import { launchBrowser } from '../harness/browser.js';
import { createNetns, launchBrowserInNetns, recordCall, startJanus } from '../helpers/recorded-call.js';
import { auditedTestDatabase, findPlaintextMedia, insertSession, makeDataDirs, waitFor } from '../helpers/recording-fixtures.js';

// End to end with real components: a ~10 s call between two Chromium publishers recorded by a real Janus, the
// seal requested in the hang-up transaction, sealed by the worker through pg-boss, restored with
// `kyc-archive decrypt`, checked with ffprobe, and one sealed file played and seeked by Chromium over HTTP Range
// straight from the ciphertext.

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../src/cli/kyc-archive.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const CALL_SECONDS = 10;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

t.test('a real recorded call: sealed, restored, both parties audio+video, seekable from the ciphertext', async (t) => {
  const { db, pool, audit } = await auditedTestDatabase(t, 10);
  const dirs = await makeDataDirs(t);
  const secret = join(dirs.dataDir, 'oidc-client-secret');
  await writeFile(secret, 'unused', { mode: 0o600 });
  const env = {
    KYC_PROFILE: 'development',
    KYC_DATA_DIR: dirs.dataDir,
    KYC_DB_URL: db.appUrl,
    KYC_OIDC_CLIENT_SECRET_FILE: secret,
    KYC_SEAL_RETRY_DELAY_SECONDS: '1',
    KYC_RECORDING_SETTLE_SECONDS: '5',
    KYC_LOG_LEVEL: 'silent',
  };
  const config = loadConfig({ env, cwd: dirs.dataDir, allowMissingGeneratedSecrets: true });

  // the live session, then the call itself
  const work = await mkdtemp(join(tmpdir(), 'kyc-call-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const ns = await createNetns();
  t.teardown(() => ns.remove());
  const janus = await startJanus(ns, work);
  t.teardown(() => janus.stop());
  const admittedAt = new Date();
  const { caseId, sessionId } = await insertSession(pool, { admittedAt, endedAt: null });
  const callBrowser = await launchBrowserInNetns(ns, work);
  const call = await recordCall(callBrowser, { wsUrl: janus.wsUrl, sessionDir: join(config.recording.dir, sessionId), seconds: CALL_SECONDS }).finally(() => callBrowser.close());
  t.same(call.files, ['customer-s01-audio-0.mjr', 'customer-s01-video-1.mjr', 'teller-s01-audio-0.mjr', 'teller-s01-video-1.mjr'], 'Janus recorded both parties');

  // hang-up: the session ends and its seal is requested in the same transaction
  const boss = createJobBoss(pool, { supervise: false });
  await withTransaction(pool, async (client) => {
    await client.query(`UPDATE call_sessions SET state = 'ended', ended_at = $2, end_reason = 'hangup' WHERE id = $1`, [sessionId, call.endedAt]);
    await requestSeal(client, { boss, audit, policy: { retryLimit: 3, retryDelaySeconds: 1 } }, { id: sessionId, caseId });
  });
  const worker = await startWorker({ pool, config, audit, log: silent, pollingIntervalSeconds: 0.5 });
  t.teardown(() => worker.stop());
  const rec = await waitFor('the seal', async () => {
    const r = await recordingRepository.findBySession(pool, sessionId);
    return r?.status === 'sealed' && r.plaintext_removed_at ? r : r?.status === 'failed' ? Promise.reject(new Error(`seal failed: ${r.failure_reason}`)) : null;
  });
  t.equal(rec.complete, true, `complete (issues: ${JSON.stringify(rec.issues)})`);
  t.same(await findPlaintextMedia(dirs.dataDir), [], 'no plaintext media (WebM, Ogg, MP4, MJR) left in KYC_DATA_DIR');

  // disaster recovery with the CLI, as an administrator would
  const out = await mkdtemp(join(tmpdir(), 'kyc-restored-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const cliEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env };
  const { stdout } = await run(process.execPath, ['--import', TSX, CLI, 'decrypt', '--recording', rec.id, '--out', join(out, 'r')], { env: cliEnv, cwd: dirs.dataDir });
  const restored = JSON.parse(stdout) as { ok: boolean; files: Array<{ name: string; bytes: number }> };
  t.ok(restored.ok);
  t.same(restored.files.map((f) => f.name).sort(), ['customer-s01.webm', 'teller-s01.webm']);
  for (const party of ['teller', 'customer']) {
    const { stdout: probe } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name', '-of', 'json', join(out, 'r', `${party}-s01.webm`)]);
    const p = JSON.parse(probe) as { format: { duration: string }; streams: Array<{ codec_type: string; codec_name: string }> };
    t.same(p.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ['audio:opus', 'video:vp8'], `${party}: audio and video`);
    const seconds = Number(p.format.duration);
    t.ok(seconds > CALL_SECONDS - 1.5 && seconds < CALL_SECONDS + 1.5, `${party}: ${seconds.toFixed(2)} s for a ${CALL_SECONDS} s call`);
  }
  const manifest = JSON.parse(await readFile(join(out, 'r', 'manifest.json'), 'utf8')) as { files: Array<{ name: string; offsetMs: number }> };
  t.ok(
    manifest.files.every((f) => f.offsetMs >= 0 && f.offsetMs < 5000),
    'party offsets from the .mjr headers',
  );

  // Chromium plays and seeks the teller's file served by Range straight from the sealed file
  const { keyring } = await FileKeyring.openOrCreate(config.recording.kekDir);
  const dataKey = await keyring.unwrap({ kid: rec.kek_id!, wrapped: rec.wrapped_key! }, rec.id);
  const sealedPath = join(config.recording.archiveDir, rec.id, 'teller-s01.webm.kseal');
  const reader = await openSealedFile(sealedPath, dataKey, recordingAad(rec.id, 'teller-s01.webm'));
  t.teardown(() => reader.close());
  const ranges: string[] = [];
  const server: Server = createServer((req, res) => {
    const size = reader.plaintextSize;
    const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    const start = m && m[1] ? Number(m[1]) : 0;
    // at most 64 KiB per answer, as a server that decrypts per request would: the player must come back with Range
    const end = Math.min(m && m[2] ? Number(m[2]) : size - 1, size - 1, start + 64 * 1024 - 1);
    ranges.push(`${start}-${end}`);
    res.writeHead(m ? 206 : 200, {
      'content-type': 'video/webm',
      'accept-ranges': 'bytes',
      'content-length': String(end - start + 1),
      ...(m ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    void (async () => {
      for await (const chunk of reader.readRange(start, end)) if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      res.end();
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const viewer = await launchBrowser({ timeoutMs: 30_000 });
  t.teardown(() => viewer.close());
  const page = await viewer.newPage();
  await page.setContent(`<video id="v" muted preload="metadata" src="http://127.0.0.1:${port}/teller.webm"></video>`);
  const seek = (await page.evaluate(`(async () => {
    const v = document.getElementById('v');
    if (v.readyState < 1) await new Promise((r, j) => { v.onloadedmetadata = r; v.onerror = () => j(new Error('media error ' + (v.error && v.error.code))); });
    const duration = v.duration;
    v.currentTime = ${CALL_SECONDS - 3};
    await new Promise((r) => { v.onseeked = r; });
    await v.play();
    await new Promise((r) => setTimeout(r, 300));
    return { duration, currentTime: v.currentTime, videoWidth: v.videoWidth };
  })()`)) as { duration: number; currentTime: number; videoWidth: number };
  t.ok(Math.abs(seek.duration - CALL_SECONDS) < 1.5, `Chromium reads the duration (${seek.duration})`);
  t.ok(seek.currentTime >= CALL_SECONDS - 3, `Chromium seeked to ${seek.currentTime}`);
  t.equal(seek.videoWidth, 640);
  t.ok(ranges.length > 1 && ranges.some((r) => Number(r.split('-')[0]) > 0), `Chromium read the file through Range requests (${ranges.join(', ')})`);
  dataKey.fill(0);

  // a flipped bit in the archive: decryption fails loudly and writes nothing
  const bytes = await readFile(sealedPath);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x04;
  await writeFile(sealedPath, bytes);
  const failed = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const c = spawn(process.execPath, ['--import', TSX, CLI, 'decrypt', '--recording', rec.id, '--out', join(out, 'tampered')], { env: cliEnv, cwd: dirs.dataDir });
    let so = '';
    c.stdout.on('data', (d: Buffer) => (so += d.toString()));
    c.once('close', (code) => resolve({ code, stdout: so }));
  });
  t.equal(failed.code, 1, 'exit code 1');
  t.match(JSON.parse(failed.stdout), { ok: false, code: 'KYC_ERR_SEALED_AUTH' });
  const events = (await pool.query<{ body: string }>('SELECT body FROM audit_event ORDER BY id')).rows.map((r) => JSON.parse(r.body) as { action: string; result: string });
  t.same(
    events.filter((e) => e.action.startsWith('recording.')).map((e) => `${e.action}:${e.result}`),
    ['recording.seal_requested:success', 'recording.sealed:success', 'recording.plaintext_removed:success', 'recording.decrypt:success', 'recording.decrypt:failure'],
    'every step audited',
  );
});
