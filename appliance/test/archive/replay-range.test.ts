import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startTestAppliance } from '../helpers/appliance.js';
import { findPlaintextMedia, fixtureCallTimes, insertSession, sealFixtureRecording } from '../helpers/recording-fixtures.js';
import { decryptRecording } from '../../src/recording/archive-reader.js';
import { ArchiveMedia, ReplayGrants, sealedRecording } from '../../src/services/archive.service.js';

const SEGMENT = 64 * 1024;

t.test('replay of a really sealed recording: grants, HTTP Range edge cases, byte-exact plaintext, audited download', async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_WORKER_IN_PROCESS: 'false' } });
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 4 });
  t.teardown(() => pool.end());
  const rec = a.config.recording;
  const { caseId, sessionId } = await insertSession(pool, await fixtureCallTimes());
  const { recordingId, keyring, status } = await sealFixtureRecording(a, pool, { caseId, sessionId });
  t.equal(status, 'sealed');

  // The reference plaintext, decrypted by the archive reader (disaster-recovery path) into a scratch folder.
  const out = await mkdtemp(join(tmpdir(), 'kyc-replay-ref-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  await decryptRecording({ archiveDir: rec.archiveDir, recordingId, keyring, outDir: join(out, 'plain') });
  const plain = await readFile(join(out, 'plain', 'teller-s01.webm'));
  t.ok(plain.length > 2 * SEGMENT, `the teller's file spans several 64 KiB segments (${plain.length} bytes)`);
  const size = plain.length;

  const auth = async (user: string) => ({ authorization: `Bearer ${await a.tokenFor(user)}` });
  let res = await a.app.inject({ method: 'POST', url: `/api/recordings/${recordingId}/replay`, headers: await auth('auditor1') });
  t.equal(res.statusCode, 200, res.body);
  const replay = res.json();
  const teller = replay.parties.find((p: { party: string; segment: number }) => p.party === 'teller' && p.segment === 1);
  t.ok(teller, 'teller segment 1 listed');
  t.equal(teller.bytes, size);
  t.ok(
    replay.parties.some((p: { segment: number }) => p.segment > 1),
    'the reconnect shows as a further segment',
  );
  const url: string = teller.url;
  t.match(url, new RegExp(`^/api/recordings/${recordingId}/media/teller\\?grant=`));

  const get = async (range?: string, u = url, user = 'auditor1') => a.app.inject({ method: 'GET', url: u, headers: { ...(await auth(user)), ...(range === undefined ? {} : { range }) } });

  res = await get();
  t.equal(res.statusCode, 200, 'no Range: the whole file');
  t.equal(res.headers['accept-ranges'], 'bytes');
  t.equal(res.headers['content-type'], 'video/webm');
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(Number(res.headers['content-length']), size);
  t.ok(res.rawPayload.equals(plain), 'byte-exact whole file');

  const ranged = async (range: string, from: number, to: number, what: string) => {
    const r = await get(range);
    t.equal(r.statusCode, 206, `${what}: 206`);
    t.equal(r.headers['content-range'], `bytes ${from}-${to}/${size}`, `${what}: Content-Range`);
    t.equal(Number(r.headers['content-length']), to - from + 1, `${what}: Content-Length`);
    t.ok(r.rawPayload.equals(plain.subarray(from, to + 1)), `${what}: byte-exact`);
  };
  await ranged('bytes=0-0', 0, 0, 'first byte');
  await ranged(`bytes=${size - 1}-${size - 1}`, size - 1, size - 1, 'last byte');
  await ranged(`bytes=${SEGMENT - 100}-${SEGMENT + 99}`, SEGMENT - 100, SEGMENT + 99, 'across the first segment boundary');
  await ranged(`bytes=${SEGMENT}-${2 * SEGMENT - 1}`, SEGMENT, 2 * SEGMENT - 1, 'exactly the second segment');
  await ranged(`bytes=${SEGMENT + 5}-`, SEGMENT + 5, size - 1, 'open-ended');
  await ranged('bytes=-500', size - 500, size - 1, 'suffix');
  await ranged(`bytes=-${size * 3}`, 0, size - 1, 'suffix larger than the file');
  await ranged(`bytes=100-${size * 10}`, 100, size - 1, 'last position beyond the end is clamped');

  for (const bad of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=5-2', 'bytes=-0', 'bytes=0-1,5-9']) {
    const r = await get(bad);
    t.equal(r.statusCode, 416, `${bad}: 416`);
    t.equal(r.headers['content-range'], `bytes */${size}`, `${bad}: Content-Range bytes */size`);
    t.equal(r.json().error.code, 'KYC_ERR_RANGE_NOT_SATISFIABLE');
  }
  for (const bad of ['bytes=abc', 'items=0-1', 'bytes=-', 'bytes=1-2-3', 'bytes 0-1']) {
    const r = await get(bad);
    t.equal(r.statusCode, 400, `${bad}: 400`);
    t.equal(r.json().error.code, 'KYC_ERR_RANGE_MALFORMED');
  }

  // Grants: bound to the auditor, the recording and a short lifetime.
  const noGrant = url.replace(/\?grant=[^&]+/, '');
  res = await get('bytes=0-9', noGrant);
  t.equal(res.statusCode, 403);
  t.equal(res.json().error.code, 'KYC_ERR_REPLAY_GRANT');
  const expired = new ReplayGrants(a.runtime.ctx.sessionKey).issue(recordingId, 'auditor1', new Date(Date.now() - 16 * 60_000)).grant;
  res = await get('bytes=0-9', `${noGrant}?grant=${encodeURIComponent(expired)}`);
  t.equal(res.statusCode, 403, 'expired grant');
  res = await get('bytes=0-9', url, 'teller_auditor1');
  t.equal(res.statusCode, 403, "another auditor's grant");
  t.equal(res.json().error.code, 'KYC_ERR_REPLAY_GRANT');
  const forged = new ReplayGrants(Buffer.alloc(32, 1)).issue(recordingId, 'auditor1').grant;
  res = await get('bytes=0-9', `${noGrant}?grant=${encodeURIComponent(forged)}`);
  t.equal(res.statusCode, 403, 'a grant not signed by this appliance');
  res = await get('bytes=0-9', url, 'teller1');
  t.equal(res.statusCode, 403, 'a teller cannot replay');

  // Download: needs a reason, audited with the auditor's identity.
  res = await get(undefined, `${url}&download=1`);
  t.equal(res.statusCode, 400, 'download without a reason');
  res = await get(undefined, `${url}&download=1&reason=${encodeURIComponent('complaint 2026-17')}`);
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-disposition'], /^attachment; filename="/);
  t.ok(res.rawPayload.equals(plain), 'download is byte-exact');

  const events = await a.auditEvents();
  const opened = events.filter((e) => e.action === 'recording.replay_open');
  t.equal(opened.length, 1, 'replay opening audited once');
  t.match(opened[0], { actor: { username: 'auditor1' }, object: { type: 'recording', id: recordingId }, result: 'success' });
  const downloads = events.filter((e) => e.action === 'recording.download');
  t.equal(downloads.length, 1, 'only the completed download is audited');
  t.match(downloads[0], { actor: { username: 'auditor1' }, reason: 'complaint 2026-17', details: { party: 'teller', segment: 1 } });

  t.same(await findPlaintextMedia(a.config.dataDir), [], 'no plaintext media anywhere in the data dir after replay');

  // The reader cache: a reader closed (evicted) between the lookup and the range is opened again, not reported.
  const media = new ArchiveMedia({ archiveDir: rec.archiveDir, keyring: a.runtime.ctx.keyring });
  t.teardown(() => media.close());
  const { rec: row, media: files } = await sealedRecording(pool, recordingId);
  const tellerFile = files.find((f) => f.party === 'teller' && f.segment === 1)!;
  const first = await media.open(row, tellerFile);
  t.equal(await media.open(row, tellerFile), first, 'a second request reuses the open reader');
  await first.reader.close();
  const chunks: Buffer[] = [];
  for await (const c of await media.range(row, tellerFile, 1000, 70_000)) chunks.push(c);
  t.ok(Buffer.concat(chunks).equals(plain.subarray(1000, 70_001)), 'a closed cached reader is replaced and the range served');
  t.not(await media.open(row, tellerFile), first, 'the closed reader left the cache');
});
