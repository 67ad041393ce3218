import t from 'tap';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileKeyring } from '@kyc/compliance';
import { MediaTools } from '../../src/recording/media-tools.js';
import { sealRecording } from '../../src/recording/seal-job.js';
import { recordingRepository } from '../../src/repositories/recording.repository.js';
import { RECONNECT_FIXTURE, auditedTestDatabase, copyFixture, fixtureStart, insertSession, makeDataDirs } from '../helpers/recording-fixtures.js';

const CLI = fileURLToPath(new URL('../../src/cli/kyc-archive.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

t.test('kyc-archive: rotate-kek, rewrap, decrypt after the old KEK is destroyed, offline decrypt', async (t) => {
  const { db, pool, audit } = await auditedTestDatabase(t);
  const dirs = await makeDataDirs(t);
  const secret = join(dirs.dataDir, 'oidc-client-secret');
  await writeFile(secret, 'unused', { mode: 0o600 });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    KYC_PROFILE: 'development',
    KYC_DATA_DIR: dirs.dataDir,
    KYC_DB_URL: db.appUrl,
    KYC_OIDC_CLIENT_SECRET_FILE: secret,
    KYC_LOG_LEVEL: 'silent',
  };
  const cli = (...args: string[]) =>
    new Promise<{ code: number; json: Record<string, unknown> }>((resolve) => {
      execFile(process.execPath, ['--import', TSX, CLI, ...args], { env, cwd: dirs.dataDir }, (err, stdout) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, json: JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown> });
      });
    });

  const { keyring } = await FileKeyring.openOrCreate(dirs.kekDir);
  const firstKid = keyring.currentKeyId();
  const start = await fixtureStart(RECONNECT_FIXTURE);
  const { caseId, sessionId } = await insertSession(pool, { admittedAt: new Date(start.getTime() - 300), endedAt: new Date(start.getTime() + 4800) });
  await copyFixture(RECONNECT_FIXTURE, join(dirs.recordingsDir, sessionId));
  const rec = await recordingRepository.createForSession(pool, { id: randomUUID(), sessionId, caseId });
  const tools = new MediaTools({ ffmpeg: '/usr/bin/ffmpeg', ffprobe: '/usr/bin/ffprobe', janusPpRec: '/usr/bin/janus-pp-rec' });
  await sealRecording({ pool, audit, keyring, tools, recordingsDir: dirs.recordingsDir, archiveDir: dirs.archiveDir, settleMs: 0 }, rec!.id);

  const rotated = await cli('rotate-kek');
  t.equal(rotated.code, 0);
  const newKid = String(rotated.json.currentKid);
  t.not(newKid, firstKid);
  const rewrapped = await cli('rewrap');
  t.match(rewrapped, { code: 0, json: { ok: true, currentKid: newKid, rewrapped: 1 } });
  const row = await recordingRepository.findById(pool, rec!.id);
  t.equal(row?.kek_id, newKid, 'the database holds the key under the new KEK');
  const keyJson = JSON.parse(await readFile(join(dirs.archiveDir, rec!.id, 'key.json'), 'utf8')) as { kid: string; wrappedKey: string };
  t.equal(keyJson.kid, newKid, 'so does the archive key.json');
  t.equal(keyJson.wrappedKey, row?.wrapped_key?.toString('base64'));
  t.match(await cli('rewrap'), { code: 0, json: { rewrapped: 0 } }, 'a second rewrap has nothing to do');

  await unlink(join(dirs.kekDir, `${firstKid}.kek`));
  const out = await cli('decrypt', '--recording', rec!.id, '--out', join(dirs.dataDir, 'restore-db'));
  t.match(out, { code: 0, json: { ok: true, recordingId: rec!.id } }, 'decrypts with the current KEK only');
  t.same((await readdir(join(dirs.dataDir, 'restore-db'))).sort(), ['customer-s01.webm', 'customer-s02.webm', 'manifest.json', 'teller-s01.webm']);
  const offline = await cli('decrypt', '--recording', rec!.id, '--out', join(dirs.dataDir, 'restore-offline'), '--offline');
  t.match(offline, { code: 0, json: { ok: true, offline: true, manifestSha256: row?.manifest_sha256?.toString('hex') } }, 'offline: archive folder and KEKs only');

  t.match(await cli('decrypt', '--recording', 'nope', '--out', '/tmp/x'), { code: 2, json: { ok: false } }, 'a bad id is a usage error');
  t.match(await cli('decrypt', '--recording', randomUUID(), '--out', '/tmp/x'), { code: 2, json: { ok: false, error: /no recording/ } });
  t.match(await cli('frobnicate'), { code: 2 });

  const actions = (await pool.query<{ body: string }>('SELECT body FROM audit_event ORDER BY id')).rows.map((r) => (JSON.parse(r.body) as { action: string }).action);
  t.ok(actions.includes('kek.rotate') && actions.includes('recording.key_rewrap') && actions.includes('recording.decrypt'), 'rotation, rewrap and decrypt are audited');
});
