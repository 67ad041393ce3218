import t from 'tap';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startTestAppliance } from '../helpers/appliance.js';
import { insertSession } from '../helpers/recording-fixtures.js';
import { recordingRepository } from '../../src/repositories/recording.repository.js';

t.test('sessions of a case and the recording status: recording, processing, failed, sealed', async (t) => {
  const a = await startTestAppliance(t);
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 2 });
  t.teardown(() => pool.end());
  const auth = async (user: string) => ({ authorization: `Bearer ${await a.tokenFor(user)}` });
  const get = async (user: string, url: string) => a.app.inject({ method: 'GET', url, headers: await auth(user) });

  const live = await insertSession(pool, { admittedAt: new Date(Date.now() - 60_000), endedAt: null, teller: 'teller1' });
  let res = await get('teller1', `/api/sessions/${live.sessionId}/recording`);
  t.equal(res.statusCode, 200);
  t.match(res.json(), { id: null, sessionId: live.sessionId, caseId: live.caseId, status: 'recording', parties: [] });

  const ended = await insertSession(pool, { admittedAt: new Date(Date.now() - 60_000), endedAt: new Date(), teller: 'teller1' });
  res = await get('teller1', `/api/sessions/${ended.sessionId}/recording`);
  t.match(res.json(), { status: 'processing', progress: 0, step: 'queued' }, 'ended, seal not started yet: processing');

  const rec = await recordingRepository.createForSession(pool, { id: randomUUID(), sessionId: ended.sessionId, caseId: ended.caseId });
  await recordingRepository.startAttempt(pool, rec!.id);
  await recordingRepository.setStep(pool, rec!.id, 'convert', 0.4);
  res = await get('auditor1', `/api/sessions/${ended.sessionId}/recording`);
  t.match(res.json(), { id: rec!.id, status: 'processing', step: 'convert', attempts: 1 });
  t.ok(Math.abs(res.json().progress - 0.4) < 1e-6);

  await recordingRepository.markFailed(pool, rec!.id, 'disk full (ENOSPC) during write', true);
  res = await get('admin1', `/api/sessions/${ended.sessionId}/recording`);
  t.match(res.json(), { status: 'failed', reason: 'disk full (ENOSPC) during write', willRetry: true });

  await pool.query(`UPDATE recordings SET kek_id = 'kek-20260101-00000000', wrapped_key = $2 WHERE id = $1`, [rec!.id, Buffer.alloc(61, 7)]);
  await recordingRepository.replaceFiles(pool, rec!.id, [
    {
      name: 'teller-s01.webm.kseal',
      kind: 'media',
      party: 'teller',
      segment: 1,
      durationMs: 10_050,
      plaintextBytes: 1000,
      plaintextSha256: 'a'.repeat(64),
      ciphertextBytes: 1072,
      ciphertextSha256: 'b'.repeat(64),
    },
    {
      name: 'customer-s01.webm.kseal',
      kind: 'media',
      party: 'customer',
      segment: 1,
      durationMs: 9_980,
      plaintextBytes: 900,
      plaintextSha256: 'c'.repeat(64),
      ciphertextBytes: 972,
      ciphertextSha256: 'd'.repeat(64),
    },
    {
      name: 'manifest.json.kseal',
      kind: 'manifest',
      party: null,
      segment: null,
      durationMs: null,
      plaintextBytes: 10,
      plaintextSha256: 'e'.repeat(64),
      ciphertextBytes: 82,
      ciphertextSha256: 'f'.repeat(64),
    },
  ]);
  await recordingRepository.markSealed(pool, rec!.id, { manifest: {}, manifestSha256: '1'.repeat(64), complete: true, issues: [] });
  res = await get('auditor1', `/api/sessions/${ended.sessionId}/recording`);
  const view = res.json();
  t.match(view, { status: 'sealed', complete: true, manifestSha256: '1'.repeat(64), progress: null, reason: null });
  t.same(view.parties, [
    { party: 'customer', segment: 1, durationMs: 9980, bytes: 900, sha256: 'c'.repeat(64) },
    { party: 'teller', segment: 1, durationMs: 10050, bytes: 1000, sha256: 'a'.repeat(64) },
  ]);
  t.notMatch(res.body, /wrapped|kek|key/i, 'no key material or key ids in the answer');

  res = await get('teller1', `/api/cases/${ended.caseId}/sessions`);
  t.equal(res.statusCode, 200);
  t.match(res.json(), { items: [{ id: ended.sessionId, state: 'ended', recording: { id: rec!.id, status: 'sealed' } }] });
  res = await get('auditor1', `/api/cases/${live.caseId}/sessions`);
  t.match(res.json(), { items: [{ id: live.sessionId, state: 'live', endedAt: null, recording: { id: null, status: 'recording' } }] });
});

t.test('other tellers, unknown ids and bad ids', async (t) => {
  const a = await startTestAppliance(t);
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 2 });
  t.teardown(() => pool.end());
  const s = await insertSession(pool, { admittedAt: new Date(), endedAt: null, teller: 'teller1' });
  const headers = { authorization: `Bearer ${await a.tokenFor('teller2')}` };
  let res = await a.app.inject({ method: 'GET', url: `/api/sessions/${s.sessionId}/recording`, headers });
  t.equal(res.statusCode, 404, "another teller's session is not found");
  t.equal(res.json().error.code, 'KYC_ERR_NOT_FOUND');
  res = await a.app.inject({ method: 'GET', url: `/api/cases/${s.caseId}/sessions`, headers });
  t.equal(res.statusCode, 404);
  res = await a.app.inject({ method: 'GET', url: `/api/sessions/${randomUUID()}/recording`, headers });
  t.equal(res.statusCode, 404);
  res = await a.app.inject({ method: 'GET', url: '/api/sessions/not-a-uuid/recording', headers });
  t.equal(res.statusCode, 400);
  t.equal(res.json().error.code, 'KYC_ERR_BAD_PARAMETER');
});
