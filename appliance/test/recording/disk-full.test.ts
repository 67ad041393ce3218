import t from 'tap';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FileKeyring } from '@kyc/compliance';
import { MediaTools } from '../../src/recording/media-tools.js';
import { failureReason, recordFailure, sealRecording, type SealContext } from '../../src/recording/seal-job.js';
import { recordingRepository } from '../../src/repositories/recording.repository.js';
import { RECONNECT_FIXTURE, auditedTestDatabase, copyFixture, findPlaintextMedia, fixtureStart, insertSession, makeDataDirs } from '../helpers/recording-fixtures.js';

// A real full disk: recordings and archive on a small tmpfs (same filesystem, as in production).
const run = promisify(execFile);

t.test('disk full: the attempt fails with the reason, inputs are kept, and it seals once there is room', async (t) => {
  const { pool, audit } = await auditedTestDatabase(t);
  const dirs = await makeDataDirs(t);
  const vol = join(dirs.dataDir, 'vol');
  await mkdir(vol, { mode: 0o700 });
  await run('mount', ['-t', 'tmpfs', '-o', 'size=900k,mode=0700', 'tmpfs', vol]);
  t.teardown(() => run('umount', [vol]).catch(() => undefined));
  const recordingsDir = join(vol, 'recordings');
  const archiveDir = join(vol, 'archive');
  await mkdir(recordingsDir, { mode: 0o700 });
  await mkdir(archiveDir, { mode: 0o700 });
  const { keyring } = await FileKeyring.openOrCreate(dirs.kekDir);
  const ctx: SealContext = {
    pool,
    audit,
    keyring,
    tools: new MediaTools({ ffmpeg: '/usr/bin/ffmpeg', ffprobe: '/usr/bin/ffprobe', janusPpRec: '/usr/bin/janus-pp-rec' }),
    recordingsDir,
    archiveDir,
    settleMs: 0,
  };
  const start = await fixtureStart(RECONNECT_FIXTURE);
  const { caseId, sessionId } = await insertSession(pool, { admittedAt: new Date(start.getTime() - 300), endedAt: new Date(start.getTime() + 4800) });
  const sessionDir = join(recordingsDir, sessionId);
  const inputs = await copyFixture(RECONNECT_FIXTURE, sessionDir);
  const sizes = await Promise.all(inputs.map(async (n) => (await stat(join(sessionDir, n))).size));
  const rec = await recordingRepository.createForSession(pool, { id: randomUUID(), sessionId, caseId });

  let reason = '';
  await t.rejects(
    sealRecording(ctx, rec!.id).catch(async (err: unknown) => {
      reason = failureReason(err);
      await recordFailure(ctx, rec!.id, reason, true);
      throw err;
    }),
  );
  t.match(reason, /disk full|ENOSPC/i, `the reason names the full disk: ${reason}`);
  const failed = await recordingRepository.findById(pool, rec!.id);
  t.match(failed, { status: 'failed', failure_reason: reason, will_retry: true });
  const kept = await Promise.all(inputs.map(async (n) => (await stat(join(sessionDir, n))).size));
  t.same(kept, sizes, 'every .mjr input is kept as it was');
  t.equal((await stat(sessionDir)).mode & 0o777, 0o700, 'in the private folder');
  t.same(await readdir(archiveDir), [], 'no partial ciphertext left in the archive');
  const [ev] = (await pool.query<{ body: string }>('SELECT body FROM audit_event ORDER BY id')).rows.map((r) => JSON.parse(r.body) as { action: string; reason?: string });
  t.match(ev, { action: 'recording.seal_failed', reason });

  await run('mount', ['-o', 'remount,size=16m', vol]);
  t.equal(await sealRecording(ctx, rec!.id), 'sealed', 'the retry seals once there is room');
  t.same(await findPlaintextMedia(vol), []);
});
