import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createTestDatabase } from '@kyc/compliance/testing';
import { allMigrations } from '../../src/migrations-dir.js';
import { recordingRepository } from '../../src/repositories/recording.repository.js';
import { RECONNECT_FIXTURE, copyFixture, findPlaintextMedia, fixtureStart, insertSession, makeDataDirs, waitFor } from '../helpers/recording-fixtures.js';

// The worker as the service runs it (its own process, pg-boss, configuration from KYC_* variables), killed with
// SIGKILL in the middle of a seal, then started again: the job must resume and seal exactly once.

const WORKER = fileURLToPath(new URL('../../src/worker.ts', import.meta.url));
/** tsx's loader by URL: the worker runs from its data dir, where `tsx` would not resolve by name */
const TSX = import.meta.resolve('tsx');

t.test('kill -9 of the worker mid-seal: the job resumes after restart, one sealed copy, no plaintext left', async (t) => {
  const db = await createTestDatabase(allMigrations);
  const pool = new pg.Pool({ connectionString: db.appUrl, max: 4 });
  pool.on('error', () => undefined);
  const children: ChildProcess[] = [];
  t.teardown(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await pool.end();
    await db.drop();
  });
  const dirs = await makeDataDirs(t);
  const secret = join(dirs.dataDir, 'oidc-client-secret');
  await writeFile(secret, 'unused-by-the-worker', { mode: 0o600 });
  // an ffmpeg that hangs: the first worker is caught in the middle of merging
  const hang = join(dirs.dataDir, 'ffmpeg-that-hangs.sh');
  const hangPidFile = join(dirs.dataDir, 'hanging-ffmpeg.pid');
  await writeFile(hang, `#!/bin/sh\necho $$ > ${hangPidFile}\nexec sleep 600\n`, { mode: 0o700 });

  const start = await fixtureStart(RECONNECT_FIXTURE);
  const { sessionId } = await insertSession(pool, { admittedAt: new Date(start.getTime() - 300), endedAt: new Date(start.getTime() + 4800) });
  await copyFixture(RECONNECT_FIXTURE, join(dirs.recordingsDir, sessionId));

  const startWorker = (ffmpeg: string) => {
    const child = spawn(process.execPath, ['--import', TSX, WORKER], {
      cwd: dirs.dataDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        KYC_PROFILE: 'development',
        KYC_DATA_DIR: dirs.dataDir,
        KYC_DB_URL: db.appUrl,
        KYC_OIDC_CLIENT_SECRET_FILE: secret,
        KYC_FFMPEG_PATH: ffmpeg,
        KYC_SEAL_RETRY_DELAY_SECONDS: '1',
        KYC_SEAL_RECONCILE_SECONDS: '1',
        KYC_SEAL_ORPHAN_SECONDS: '1',
        KYC_RECORDING_SETTLE_SECONDS: '0',
        KYC_LOG_LEVEL: 'info',
      },
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    children.push(child);
    return { child, log: () => out };
  };

  // The worker finds the ended session by itself (no seal was requested at hang-up), creates its recording and job.
  const first = startWorker(hang);
  const recording = await waitFor('the recording row', () => recordingRepository.findBySession(pool, sessionId)).catch((err: Error) => {
    t.comment(first.log());
    throw err;
  });
  await waitFor('the first worker to hang in ffmpeg', async () => existsSync(hangPidFile));
  const mid = await recordingRepository.findById(pool, recording.id);
  t.equal(mid?.status, 'processing');
  t.equal(mid?.step, 'convert', 'caught mid-seal');
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  process.kill(Number((await readFile(hangPidFile, 'utf8')).trim()), 'SIGKILL');
  const job = await pool.query<{ state: string }>(`SELECT state FROM pgboss.job WHERE name = 'recording.seal' AND singleton_key = $1`, [recording.id]);
  t.same(
    job.rows.map((r) => r.state),
    ['active'],
    'the killed worker left its job active',
  );

  const second = startWorker('/usr/bin/ffmpeg');
  const sealed = await waitFor('the seal after restart', async () => {
    const r = await recordingRepository.findById(pool, recording.id);
    return r?.status === 'sealed' && r.plaintext_removed_at ? r : null;
  }).catch((err: Error) => {
    t.comment(second.log());
    throw err;
  });
  t.equal(sealed.status, 'sealed');
  t.ok(sealed.attempts >= 2, `more than one attempt (${sealed.attempts})`);
  const events = (await pool.query<{ body: string }>('SELECT body FROM audit_event ORDER BY id')).rows.map((r) => JSON.parse(r.body) as { action: string });
  t.equal(events.filter((e) => e.action === 'recording.sealed').length, 1, 'sealed exactly once');
  t.equal(events.filter((e) => e.action === 'recording.seal_requested').length, 1);
  t.same(await readdir(dirs.archiveDir), [recording.id], 'one sealed copy, no staging folder');
  t.same(await readdir(dirs.recordingsDir), [], 'the recording folder is empty');
  t.same(await findPlaintextMedia(dirs.dataDir), [], 'no plaintext media in KYC_DATA_DIR');
  const jobs = await pool.query<{ state: string }>(`SELECT state FROM pgboss.job WHERE name = 'recording.seal' AND singleton_key = $1`, [recording.id]);
  t.ok(
    jobs.rows.some((r) => r.state === 'completed'),
    'the job completed',
  );
  second.child.kill('SIGTERM');
  const code = await new Promise((r) => second.child.once('exit', (c) => r(c)));
  t.equal(code, 0, 'the worker stops cleanly on SIGTERM');
});
