import t from 'tap';
import { createHash } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { startTestAppliance } from '../helpers/appliance.js';
import { exportAndWait, kycArchive } from '../helpers/archive-cli.js';
import { fixtureCallTimes, insertSession, sealFixtureRecording } from '../helpers/recording-fixtures.js';

t.test(
  'KEK rotation: the running appliance wraps new exports under the new KEK, rewrap moves exports too, and after the old KEK is destroyed every export still downloads and decrypts',
  async (t) => {
    const a = await startTestAppliance(t, { env: { KYC_WORKER_IN_PROCESS: 'false' } });
    const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 4 });
    t.teardown(() => pool.end());
    const sealed = await sealFixtureRecording(a, pool, await insertSession(pool, await fixtureCallTimes()));
    t.equal(sealed.status, 'sealed');
    const firstKid = sealed.keyring.currentKeyId();
    const auth = async () => ({ authorization: `Bearer ${await a.tokenFor('auditor1')}` });

    const exportOnce = async (reason: string): Promise<{ id: string; sha256: string; kid: string }> => {
      const e = await exportAndWait(a, sealed.recordingId, reason);
      const kid = (await pool.query<{ kek_id: string }>('SELECT kek_id FROM recording_exports WHERE id = $1', [e.id])).rows[0]!.kek_id;
      return { ...e, kid };
    };

    const before = await exportOnce('regulator request 7');
    t.equal(before.kid, firstKid, 'the first export is wrapped under the first KEK');

    const rotated = await kycArchive(a, {}, 'rotate-kek');
    t.equal(rotated.code, 0, JSON.stringify(rotated.json));
    const newKid = String(rotated.json.currentKid);
    t.not(newKid, firstKid);

    const after = await exportOnce('regulator request 8');
    t.equal(after.kid, newKid, 'the running appliance wraps a new export under the rotated KEK (no restart)');

    const rewrapped = await kycArchive(a, {}, 'rewrap');
    t.match(rewrapped, { code: 0, json: { ok: true, currentKid: newKid, rewrapped: 1, rewrappedExports: 1 } }, 'rewrap moves the recording and the older export');
    const kids = (await pool.query<{ kek_id: string }>('SELECT DISTINCT kek_id FROM recording_exports')).rows.map((r) => r.kek_id);
    t.same(kids, [newKid], 'every export is under the current KEK');
    t.match(await kycArchive(a, {}, 'rewrap'), { code: 0, json: { rewrapped: 0, rewrappedExports: 0 } }, 'a second rewrap has nothing to do');

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
  },
);
