import t from 'tap';
import { startTestAppliance } from '../helpers/appliance.js';
import { faceFixture } from './fixtures.js';

t.test('POST /api/face/compare: auditor or admin, audited without images; bad images → 400/413 with codes', async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_FACE_MAX_IMAGE_BYTES: '200000' } });
  const h = async (u: string) => ({ authorization: `Bearer ${await a.tokenFor(u)}` });
  const [teller, auditor, admin] = [await h('teller1'), await h('auditor1'), await h('admin1')];
  const b64 = (p: string) => faceFixture(p).toString('base64');
  const body = { reference: b64('id-cards/person-a-front.jpg'), probe: b64('people/london-005/smiling.jpg') };

  t.equal((await a.app.inject({ method: 'POST', url: '/api/face/compare', payload: body })).statusCode, 401);
  t.equal((await a.app.inject({ method: 'POST', url: '/api/face/compare', headers: teller, payload: body })).statusCode, 403, 'tellers do not calibrate');

  const same = await a.app.inject({ method: 'POST', url: '/api/face/compare', headers: auditor, payload: body });
  t.equal(same.statusCode, 200);
  const r = same.json();
  t.equal(r.decision, 'match');
  t.ok(r.score > 0.5 && r.score <= 1);
  t.equal(r.engine, 'builtin-face-api');
  t.same(r.faces, { reference: 1, probe: 1 });

  const other = await a.app.inject({
    method: 'POST',
    url: '/api/face/compare',
    headers: admin,
    payload: { reference: b64('id-cards/person-a-data-person-b-photo-front.jpg'), probe: b64('people/london-005/smiling.jpg') },
  });
  t.equal(other.statusCode, 200);
  t.not(other.json().decision, 'match');
  t.ok(other.json().score < r.score);

  const events = (await a.auditEvents()).filter((e) => e.action === 'face.compare');
  t.equal(events.length, 2, 'each comparison is audited');
  const byAuditor = events.find((e) => e.actor.username === 'auditor1');
  t.ok(byAuditor && events.some((e) => e.actor.username === 'admin1'), 'by whom');
  t.match(byAuditor?.details, { decision: 'match', engine: 'builtin-face-api', referenceSha256: /^[0-9a-f]{64}$/ });
  const serialized = JSON.stringify(events);
  t.notOk(serialized.includes(body.probe.slice(0, 200)), 'no image in the audit log');

  const refuse = async (payload: unknown, status: number, code: string) => {
    const before = (await a.auditEvents()).length;
    const res = await a.app.inject({ method: 'POST', url: '/api/face/compare', headers: auditor, payload: payload as Record<string, unknown> });
    t.equal(res.statusCode, status, `${code}: ${status}`);
    t.equal(res.json().error.code, code);
    t.equal((await a.auditEvents()).length, before, `${code}: nothing written`);
    return res.json();
  };
  const notImage = await refuse({ reference: Buffer.from('just some text, not an image').toString('base64'), probe: body.probe }, 400, 'KYC_ERR_IMAGE_INVALID');
  t.same(notImage.error.details, [{ field: 'reference', code: 'KYC_ERR_IMAGE_INVALID' }]);
  await refuse({ reference: body.reference, probe: b64('id-cards/person-a-back.jpg') }, 400, 'KYC_ERR_NO_FACE');
  await refuse({ reference: body.reference, probe: 'not base64 !!' }, 400, 'KYC_ERR_VALIDATION');
  await refuse({ reference: body.reference }, 400, 'KYC_ERR_VALIDATION');
  // over the configured image size (200 kB here): refused as too large, before or after parsing
  const big = Buffer.alloc(190_000 * 1.2, 1).toString('base64');
  await refuse({ reference: big, probe: body.probe }, 413, 'KYC_ERR_IMAGE_TOO_LARGE');
  const huge = Buffer.alloc(600_000, 1).toString('base64');
  await refuse({ reference: huge, probe: huge }, 413, 'KYC_ERR_BODY_TOO_LARGE');
});
