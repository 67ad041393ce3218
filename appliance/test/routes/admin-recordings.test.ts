import t from 'tap';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startTestAppliance } from '../helpers/appliance.js';
import { insertSession } from '../helpers/recording-fixtures.js';
import { recordingRepository } from '../../src/repositories/recording.repository.js';

t.test('admin status of the seal pipeline: failed with the reason, in progress with the step; admins only', async (t) => {
  const a = await startTestAppliance(t);
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 2 });
  t.teardown(() => pool.end());
  const get = async (user: string, url: string) => a.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await a.tokenFor(user)}` } });
  const newRecording = async () => {
    const s = await insertSession(pool, { admittedAt: new Date(Date.now() - 60_000), endedAt: new Date() });
    const rec = await recordingRepository.createForSession(pool, { id: randomUUID(), sessionId: s.sessionId, caseId: s.caseId });
    if (!rec) throw new Error('recording not created');
    return { ...s, id: rec.id };
  };

  const failed = await newRecording();
  await recordingRepository.startAttempt(pool, failed.id);
  await recordingRepository.setStep(pool, failed.id, 'encrypt', 0.7);
  await recordingRepository.markFailed(pool, failed.id, 'disk full (ENOSPC) while sealing teller-s01.webm', true);
  const processing = await newRecording();
  await recordingRepository.startAttempt(pool, processing.id);
  await recordingRepository.setStep(pool, processing.id, 'convert', 0.25);
  const sealed = await newRecording();
  await pool.query(`UPDATE recordings SET kek_id = 'kek-20260101-00000000', wrapped_key = $2 WHERE id = $1`, [sealed.id, Buffer.alloc(61, 7)]);
  await recordingRepository.markSealed(pool, sealed.id, { manifest: {}, manifestSha256: '1'.repeat(64), complete: true, issues: [] });
  await recordingRepository.markPlaintextRemoved(pool, sealed.id);
  const uncleaned = await newRecording();
  await pool.query(`UPDATE recordings SET kek_id = 'kek-20260101-00000000', wrapped_key = $2 WHERE id = $1`, [uncleaned.id, Buffer.alloc(61, 7)]);
  await recordingRepository.markSealed(pool, uncleaned.id, {
    manifest: {},
    manifestSha256: '2'.repeat(64),
    complete: false,
    issues: [{ code: 'gap', severity: 'warning', message: 'a gap' }],
  });

  let res = await get('admin1', '/api/admin/recordings');
  t.equal(res.statusCode, 200);
  const items = res.json().items as Array<Record<string, unknown>>;
  t.same(
    items.map((i) => i.id),
    [uncleaned.id, processing.id, failed.id],
    'newest first; the sealed and cleaned one is left out, the sealed one still holding plaintext is listed',
  );
  t.match(
    items.find((i) => i.id === failed.id),
    {
      sessionId: failed.sessionId,
      caseId: failed.caseId,
      status: 'failed',
      step: 'encrypt',
      attempts: 1,
      failureReason: 'disk full (ENOSPC) while sealing teller-s01.webm',
      failedAt: String,
      willRetry: true,
      complete: null,
      issueCount: 0,
    },
  );
  const p = items.find((i) => i.id === processing.id);
  t.match(p, { status: 'processing', step: 'convert', attempts: 1, failureReason: null, failedAt: null, willRetry: false });
  t.ok(Math.abs((p?.progress as number) - 0.25) < 1e-6, 'progress as stored');
  t.match(
    items.find((i) => i.id === uncleaned.id),
    { status: 'sealed', complete: false, issueCount: 1 },
  );
  t.notMatch(res.body, /wrapped|kek|key/i, 'no key material or key ids in the answer');

  res = await get('admin1', '/api/admin/recordings?status=failed');
  t.same(
    res.json().items.map((i: { id: string }) => i.id),
    [failed.id],
  );
  res = await get('admin1', '/api/admin/recordings?status=processing');
  t.same(
    res.json().items.map((i: { id: string }) => i.id),
    [processing.id],
  );
  res = await get('admin1', '/api/admin/recordings?status=queued');
  t.same(res.json().items, []);

  res = await get('admin1', '/api/admin/recordings?status=sealed');
  t.equal(res.statusCode, 400, 'an unknown status is refused');
  t.match(res.json(), { error: { code: /^KYC_ERR_/ } });
  for (const user of ['teller1', 'auditor1']) {
    res = await get(user, '/api/admin/recordings');
    t.equal(res.statusCode, 403, `${user} may not read it`);
    t.equal(res.json().error.code, 'KYC_ERR_FORBIDDEN');
  }
});
