import t from 'tap';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { startTestAppliance } from '../helpers/appliance.js';
import { findPlaintextMedia, fixtureCallTimes, insertSession, sealFixtureRecording } from '../helpers/recording-fixtures.js';

const run = promisify(execFile);

/** Top-level MP4 boxes in file order. */
function topBoxes(mp4: Buffer): string[] {
  const names: string[] = [];
  for (let at = 0; at + 8 <= mp4.length;) {
    let size = mp4.readUInt32BE(at);
    if (size === 1) size = Number(mp4.readBigUInt64BE(at + 8));
    names.push(mp4.toString('latin1', at + 4, at + 8));
    if (size < 8) break;
    at += size;
  }
  return names;
}

async function cmsVerify(sig: string, content: string, caFile: string): Promise<{ code: number; stderr: string }> {
  try {
    await run('openssl', ['cms', '-verify', '-purpose', 'any', '-binary', '-inform', 'DER', '-in', sig, '-content', content, '-CAfile', caFile, '-out', '/dev/null']);
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stderr: e.stderr ?? '' };
  }
}

t.test('signed composite export of a really sealed recording', async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_WORKER_IN_PROCESS: 'false' } });
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 4 });
  t.teardown(() => pool.end());
  const { caseId, sessionId } = await insertSession(pool, await fixtureCallTimes());
  const sealed = await sealFixtureRecording(a, pool, { caseId, sessionId });
  const recordingId = sealed.recordingId;
  t.equal(sealed.status, 'sealed');

  const auth = async (user: string) => ({ authorization: `Bearer ${await a.tokenFor(user)}` });
  const url = `/api/recordings/${recordingId}/exports`;

  let res = await a.app.inject({ method: 'POST', url, headers: await auth('teller1'), payload: { reason: 'regulator request 42' } });
  t.equal(res.statusCode, 403, 'a teller cannot export');
  res = await a.app.inject({ method: 'POST', url, headers: await auth('admin1'), payload: { reason: 'regulator request 42' } });
  t.equal(res.statusCode, 403, 'an admin cannot export (no admin path to decrypted media)');
  res = await a.app.inject({ method: 'POST', url, headers: await auth('auditor1'), payload: {} });
  t.equal(res.statusCode, 400, 'no reason, no export');
  t.match(res.json(), { error: { code: /^KYC_ERR_/ } });
  res = await a.app.inject({ method: 'POST', url: `/api/recordings/${randomUUID()}/exports`, headers: await auth('auditor1'), payload: { reason: 'regulator request 42' } });
  t.equal(res.statusCode, 404, 'unknown recording');
  t.equal((await pool.query('SELECT count(*)::int AS n FROM recording_exports')).rows[0].n, 0, 'refused requests changed nothing');

  res = await a.app.inject({ method: 'POST', url, headers: await auth('auditor1'), payload: { reason: 'regulator request 42' } });
  t.equal(res.statusCode, 202, res.body);
  const { id } = res.json() as { id: string; status: string };
  t.equal(res.json().status, 'queued');

  res = await a.app.inject({ method: 'GET', url: `/api/exports/${id}/file`, headers: await auth('auditor1') });
  t.ok([409, 200].includes(res.statusCode), 'file before done: 409 (or done already)');

  // Follow the job as the UI does; progress only grows.
  let status: string;
  let last = 0;
  let seenProgress = false;
  for (;;) {
    res = await a.app.inject({ method: 'GET', url: `/api/exports/${id}`, headers: await auth('auditor1') });
    t.equal(res.statusCode, 200);
    const v = res.json() as { status: string; progress: number; failureReason: string | null };
    if (v.progress < last) t.fail(`progress went back from ${last} to ${v.progress}`);
    if (v.progress > 0 && v.progress < 1) seenProgress = true;
    last = v.progress;
    status = v.status;
    if (status === 'done' || status === 'failed') {
      t.equal(v.failureReason, null, 'no failure');
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(status, 'done');
  t.equal(last, 1);
  t.comment(`intermediate progress observed: ${seenProgress}`);

  const out = await mkdtemp(join(tmpdir(), 'kyc-export-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  res = await a.app.inject({ method: 'GET', url: `/api/exports/${id}/file`, headers: await auth('auditor1') });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'video/mp4');
  const mp4 = res.rawPayload;
  const meta = (await a.app.inject({ method: 'GET', url: `/api/exports/${id}`, headers: await auth('auditor1') })).json() as { bytes: number; sha256: string };
  t.equal(mp4.length, meta.bytes);
  res = await a.app.inject({ method: 'GET', url: `/api/exports/${id}/signature`, headers: await auth('auditor1') });
  t.equal(res.statusCode, 200);
  await writeFile(join(out, 'export.mp4'), mp4);
  await writeFile(join(out, 'export.mp4.p7s'), res.rawPayload);

  const boxes = topBoxes(mp4);
  t.ok(boxes.includes('moov') && boxes.includes('mdat') && boxes.indexOf('moov') < boxes.indexOf('mdat'), `faststart: moov before mdat (${boxes.join(',')})`);
  const probe = JSON.parse(
    (await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height:format=duration', '-of', 'json', join(out, 'export.mp4')])).stdout,
  ) as { streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number }>; format: { duration: string } };
  const video = probe.streams.find((s) => s.codec_type === 'video');
  const audio = probe.streams.find((s) => s.codec_type === 'audio');
  t.match(video, { codec_name: 'h264', width: 1280, height: 480 }, 'H.264, two 640-wide tiles side by side');
  t.match(audio, { codec_name: 'aac' });
  t.ok(Number(probe.format.duration) > 3, `covers the recording (${probe.format.duration} s)`);

  const caFile = join(a.config.dataDir, 'pki', 'ca.crt');
  t.equal((await cmsVerify(join(out, 'export.mp4.p7s'), join(out, 'export.mp4'), caFile)).code, 0, 'openssl cms -verify accepts the signature');
  const tampered = Buffer.from(mp4);
  const at = Math.floor(tampered.length / 2);
  tampered[at] = (tampered[at] ?? 0) ^ 0x01;
  await writeFile(join(out, 'tampered.mp4'), tampered);
  const bad = await cmsVerify(join(out, 'export.mp4.p7s'), join(out, 'tampered.mp4'), caFile);
  t.not(bad.code, 0, 'one flipped byte breaks the signature');
  t.match(bad.stderr, /verify/i);

  res = await a.app.inject({ method: 'GET', url: `/api/exports/${id}/file`, headers: await auth('teller1') });
  t.equal(res.statusCode, 403, 'a teller cannot download');
  // The export is bound to the auditor who asked for it: another auditor does not see it, an admin may not look.
  for (const tail of ['', '/file', '/signature']) {
    res = await a.app.inject({ method: 'GET', url: `/api/exports/${id}${tail}`, headers: await auth('teller_auditor1') });
    t.equal(res.statusCode, 404, `another auditor: GET /api/exports/:id${tail} is 404`);
    t.equal(res.json().error.code, 'KYC_ERR_NOT_FOUND');
    res = await a.app.inject({ method: 'GET', url: `/api/exports/${id}${tail}`, headers: await auth('admin1') });
    t.equal(res.statusCode, 403, `an admin: GET /api/exports/:id${tail} is 403`);
  }

  const events = await a.auditEvents();
  t.match(
    events.filter((e) => e.action === 'recording.export_requested'),
    [{ actor: { username: 'auditor1' }, reason: 'regulator request 42', object: { id: recordingId } }],
  );
  t.equal(events.filter((e) => e.action === 'recording.export_done').length, 1);
  const downloads = events.filter((e) => e.action === 'recording.export_download');
  t.same(downloads.map((e) => (e.details as { part: string }).part).sort(), ['file', 'signature'], 'both downloads audited, nobody else downloaded');
  t.ok(
    downloads.every((e) => e.actor.username === 'auditor1' && e.reason === 'regulator request 42'),
    'each download audited with its requester and reason',
  );

  t.same(await findPlaintextMedia(a.config.dataDir), [], 'no plaintext media in the data dir (the export rests sealed)');
  t.same(
    (await readdir(join(a.config.dataDir, 'exports'))).filter((n) => n.startsWith('.work-')),
    [],
    'the scratch folder is gone',
  );
});
