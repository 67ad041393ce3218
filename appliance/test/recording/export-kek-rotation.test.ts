import t from 'tap';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startTestAppliance, type TestAppliance } from '../helpers/appliance.js';
import { fixtureCallTimes, insertSession, sealFixtureRecording } from '../helpers/recording-fixtures.js';

const CLI = fileURLToPath(new URL('../../src/cli/kyc-archive.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

/** kyc-archive as an operator runs it on the host: its own process, the appliance's configuration. */
function kycArchive(a: TestAppliance, ...args: string[]): Promise<{ code: number; json: Record<string, unknown> }> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    KYC_PROFILE: 'development',
    KYC_DATA_DIR: a.config.dataDir,
    KYC_DB_URL: a.db.appUrl,
    KYC_OIDC_CLIENT_SECRET_FILE: join(a.config.dataDir, 'oidc-client-secret'),
    KYC_LOG_LEVEL: 'silent',
  };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, CLI, ...args], { env, cwd: a.config.dataDir }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, json: JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown> });
    });
  });
}

t.test('KEK rotation: the running appliance wraps new exports under the new KEK, rewrap moves exports too, and after the old KEK is destroyed every export still downloads and decrypts', async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_WORKER_IN_PROCESS: 'false' } });
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 4 });
  t.teardown(() => pool.end());
  const sealed = await sealFixtureRecording(a, pool, await insertSession(pool, await fixtureCallTimes()));
  t.equal(sealed.status, 'sealed');
  const firstKid = sealed.keyring.currentKeyId();
  const auth = async () => ({ authorization: `Bearer ${await a.tokenFor('auditor1')}` });

  const exportOnce = async (reason: string): Promise<{ id: string; sha256: string; kid: string }> => {
    const res = await a.app.inject({ method: 'POST', url: `/api/recordings/${sealed.recordingId}/exports`, headers: await auth(), payload: { reason } });
    t.equal(res.statusCode, 202, res.body);
    const { id } = res.json() as { id: string };
    for (;;) {
      const v = (await a.app.inject({ method: 'GET', url: `/api/exports/${id}`, headers: await auth() })).json() as { status: string; sha256: string; failureReason: string | null };
      if (v.status === 'failed') throw new Error(`export failed: ${v.failureReason}`);
      if (v.status === 'done') {
        const kid = (await pool.query<{ kek_id: string }>('SELECT kek_id FROM recording_exports WHERE id = $1', [id])).rows[0]!.kek_id;
        return { id, sha256: v.sha256, kid };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const before = await exportOnce('regulator request 7');
  t.equal(before.kid, firstKid, 'the first export is wrapped under the first KEK');

  const rotated = await kycArchive(a, 'rotate-kek');
  t.equal(rotated.code, 0, JSON.stringify(rotated.json));
  const newKid = String(rotated.json.currentKid);
  t.not(newKid, firstKid);

  const after = await exportOnce('regulator request 8');
  t.equal(after.kid, newKid, 'the running appliance wraps a new export under the rotated KEK (no restart)');

  const rewrapped = await kycArchive(a, 'rewrap');
  t.match(rewrapped, { code: 0, json: { ok: true, currentKid: newKid, rewrapped: 1, rewrappedExports: 1 } }, 'rewrap moves the recording and the older export');
  const kids = (await pool.query<{ kek_id: string }>('SELECT DISTINCT kek_id FROM recording_exports')).rows.map((r) => r.kek_id);
  t.same(kids, [newKid], 'every export is under the current KEK');
  t.match(await kycArchive(a, 'rewrap'), { code: 0, json: { rewrapped: 0, rewrappedExports: 0 } }, 'a second rewrap has nothing to do');

  await unlink(join(a.config.recording.kekDir, `${firstKid}.kek`));
  for (const e of [before, after]) {
    const res = await a.app.inject({ method: 'GET', url: `/api/exports/${e.id}/file`, headers: await auth() });
    t.equal(res.statusCode, 200, `export ${e.id === before.id ? 'made before' : 'made after'} the rotation downloads after the old KEK is destroyed`);
    t.equal(createHash('sha256').update(res.rawPayload).digest('hex'), e.sha256, 'and decrypts to the bytes that were signed');
  }
  // replay of the rewrapped recording goes through the same keyring
  let res = await a.app.inject({ method: 'POST', url: `/api/recordings/${sealed.recordingId}/replay`, headers: await auth() });
  t.equal(res.statusCode, 200, res.body);
  const teller = (res.json() as { parties: Array<{ party: string; segment: number; url: string; bytes: number }> }).parties.find((p) => p.party === 'teller' && p.segment === 1)!;
  res = await a.app.inject({ method: 'GET', url: teller.url, headers: { ...(await auth()), range: 'bytes=0-1023' } });
  t.equal(res.statusCode, 206, 'the rewrapped recording replays after the old KEK is destroyed');
  t.equal(res.rawPayload.length, 1024);
  const events = await a.auditEvents();
  t.equal(events.filter((e) => e.action === 'recording.export_key_rewrap').length, 1, 'the export rewrap is audited');
});
