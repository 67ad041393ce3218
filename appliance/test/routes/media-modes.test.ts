import t from 'tap';
import pg from 'pg';
import { newCaseBody, startTestAppliance, type TestAppliance } from '../helpers/appliance.js';
import { admitCustomer } from '../helpers/kyc-session.js';
import { asVisitor, startVisit } from '../service/helpers.js';
import { devicesMissing } from '../../src/services/invitation.service.js';

// How the customer takes part: video (camera and microphone), audio (voice only) or chat (text only). The device
// check records it, the invitation and the call carry it, a service transfer proposes it, the camera steps refuse
// without video. The browsers' side runs in test/e2e/media-modes.e2e.test.ts; the seal's in test/recording.

const auth = async (a: TestAppliance, user: string) => ({ authorization: `Bearer ${await a.tokenFor(user)}` });

/** An invitation opened and past its code: the join link's token and the customer's device cookie. */
async function pastCode(a: TestAppliance, teller: Record<string, string>): Promise<{ caseId: string; token: string; cookies: Record<string, string>; invitationId: string }> {
  const created = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody() });
  const caseId = created.json().id as string;
  const inv = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/invitations`, headers: teller });
  const { url, code, id } = inv.json() as { url: string; code: string; id: string };
  const token = new URL(url).pathname.split('/')[2] ?? '';
  const open = await a.app.inject({ method: 'POST', url: `/api/join/${token}/open` });
  const cookies = { '__Host-kyc_device': open.cookies.find((c) => c.name === '__Host-kyc_device')?.value ?? '' };
  t.equal((await a.app.inject({ method: 'POST', url: `/api/join/${token}/code`, cookies, payload: { code } })).statusCode, 200);
  return { caseId, token, cookies, invitationId: id };
}

t.test('devicesMissing: video needs both devices, audio the microphone, chat none', async (t) => {
  t.same(devicesMissing('video', { camera: true, microphone: true }), []);
  t.same(devicesMissing('video', { camera: false, microphone: true }), ['camera']);
  t.same(devicesMissing('audio', { camera: false, microphone: true }), []);
  t.same(devicesMissing('audio', { camera: true, microphone: false }), ['microphone']);
  t.same(devicesMissing('chat', { camera: false, microphone: false }), []);
});

t.test('device check: the mode is validated, recorded on the invitation and audited; the call carries it', async (t) => {
  const a = await startTestAppliance(t);
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const teller = await auth(a, 'teller1');
  const { caseId, token, cookies, invitationId } = await pastCode(a, teller);
  const check = (payload: unknown) => a.app.inject({ method: 'POST', url: `/api/join/${token}/device-check`, cookies, payload: payload as Record<string, unknown> });
  const checks = async () => (await a.auditEvents()).filter((e) => e.action === 'invitation.device_checked' && e.result === 'success' && e.object?.id === invitationId);
  const auditCount = async () => (await checks()).length;
  const before = await auditCount();

  // refusals change nothing
  for (const [payload, what] of [
    [{ camera: true, microphone: true, mode: 'hologram' }, 'an unknown mode'],
    [{ camera: true, microphone: true, mode: 7 }, 'a mode of the wrong type'],
    [{ camera: false, microphone: true }, 'video without a camera'],
    [{ camera: true, microphone: false, mode: 'audio' }, 'voice without a microphone'],
  ] as const) {
    const res = await check(payload);
    t.equal(res.statusCode, 400, what);
    t.equal(res.json().error.code, 'KYC_ERR_VALIDATION', what);
  }
  const noCamera = (await check({ camera: false, microphone: true })).json();
  t.match(noCamera.error.details, [{ field: 'camera', code: 'required' }], 'the missing device is named');
  t.equal((await su.query('SELECT device_checked_at, media_mode FROM invitations WHERE id = $1', [invitationId])).rows[0].device_checked_at, null, 'nothing recorded');
  t.equal(await auditCount(), before, 'no audit event for a refusal');

  // voice only, without a camera
  const audio = await check({ camera: false, microphone: true, mode: 'audio' });
  t.equal(audio.statusCode, 200, audio.body);
  t.match(audio.json(), { step: 'consent', mediaMode: 'audio' });
  // changed again before the call: text only needs no device at all
  const chat = await check({ camera: false, microphone: false, mode: 'chat' });
  t.equal(chat.statusCode, 200, chat.body);
  t.equal(chat.json().mediaMode, 'chat');
  t.same((await checks()).map((e) => String(e.details?.mode)).sort(), ['audio', 'chat'], 'each check audited with its mode');
  const live = await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/live`, headers: teller });
  t.equal(live.json().invitation.mediaMode, 'chat', "the teller's view shows the mode");

  await a.app.inject({ method: 'POST', url: `/api/join/${token}/consent`, cookies, payload: { accept: true, consentVersion: '2026-11' } });
  const admit = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/admit`, headers: teller });
  t.equal(admit.statusCode, 200, admit.body);
  t.equal((await su.query('SELECT media_mode FROM call_sessions WHERE id = $1', [admit.json().id])).rows[0].media_mode, 'chat', 'the call carries the mode');
  const late = await check({ camera: true, microphone: true, mode: 'video' });
  t.equal(late.statusCode, 409, 'no change once the session started');
  t.equal((await su.query('SELECT media_mode FROM invitations WHERE id = $1', [invitationId])).rows[0].media_mode, 'chat');
});

t.test('an invitation without a mode stays video, as before', async (t) => {
  const a = await startTestAppliance(t);
  const teller = await auth(a, 'teller1');
  const { token, cookies } = await pastCode(a, teller);
  const res = await a.app.inject({ method: 'POST', url: `/api/join/${token}/device-check`, cookies, payload: { camera: true, microphone: true } });
  t.equal(res.statusCode, 200);
  t.equal(res.json().mediaMode, 'video');
});

t.test('the camera steps refuse a voice-only or text-only customer with 409 KYC_ERR_NO_CUSTOMER_VIDEO', async (t) => {
  const a = await startTestAppliance(t);
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const teller = await auth(a, 'teller1');
  for (const mode of ['audio', 'chat'] as const) {
    const created = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody() });
    const caseId = created.json().id as string;
    const { sessionId } = await admitCustomer(a, teller, caseId, mode);
    const requests = async () => Number((await su.query('SELECT count(*) FROM identity_capture_requests WHERE session_id = $1', [sessionId])).rows[0].count);
    for (const [url, payload] of [
      [`/api/sessions/${sessionId}/identity/captures`, { purpose: 'id-front' }],
      [`/api/sessions/${sessionId}/identity/captures`, { purpose: 'face' }],
      [`/api/sessions/${sessionId}/identity/liveness`, {}],
    ] as const) {
      const res = await a.app.inject({ method: 'POST', url, headers: teller, payload });
      t.equal(res.statusCode, 409, `${mode}: ${url} ${JSON.stringify(payload)}`);
      t.equal(res.json().error.code, 'KYC_ERR_NO_CUSTOMER_VIDEO', `${mode}: stable code`);
    }
    t.equal(await requests(), 0, `${mode}: no capture request stored`);
  }
  // a video customer is asked as before
  const created = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody() });
  const { sessionId } = await admitCustomer(a, teller, created.json().id as string);
  const ok = await a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/identity/captures`, headers: teller, payload: { purpose: 'id-front' } });
  t.equal(ok.statusCode, 201, ok.body);
});

t.test('service: the transfer proposes the mode, the offer shows it, accepting carries it to the invitation', async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_SERVICE_VISITS_PER_MINUTE: '1000' } });
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const teller = await auth(a, 'teller1');
  const put = await a.app.inject({
    method: 'PUT',
    url: '/api/me/presence',
    headers: teller,
    payload: { status: 'available', skills: { products: ['VIDEO-WITNESS'], languages: ['zh-CN'] } },
  });
  t.equal(put.statusCode, 200, put.body);

  const v = await startVisit(a);
  const bad = await a.app.inject(asVisitor(v, 'POST', '/transfer', { mediaMode: 'fax' }));
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().error.code, 'KYC_ERR_VALIDATION');
  const extra = await a.app.inject(asVisitor(v, 'POST', '/transfer', { mediaMode: 'audio', other: 1 }));
  t.equal(extra.statusCode, 400, 'unknown fields refused');
  t.equal((await a.app.inject(asVisitor(v, 'GET', ''))).json().visit.state, 'assistant', 'a refused transfer changes nothing');

  const queued = await a.app.inject(asVisitor(v, 'POST', '/transfer', { mediaMode: 'audio' }));
  t.equal(queued.statusCode, 200, queued.body);
  t.equal(queued.json().state, 'queued');
  const offers = (await a.app.inject({ method: 'GET', url: '/api/service/offers?waitMs=8000', headers: teller })).json() as Array<{ id: string; visitId: string; mediaMode: string }>;
  const offer = offers.find((o) => o.visitId === v.id);
  t.equal(offer?.mediaMode, 'audio', 'the teller sees the mode before accepting');
  const accepted = await a.app.inject({
    method: 'POST',
    url: `/api/service/offers/${offer?.id}/accept`,
    headers: teller,
    payload: { customerIdNumber: '11010519491231002X', customerPhone: '13812345678' },
  });
  t.equal(accepted.statusCode, 200, accepted.body);
  const joinUrl = (await a.app.inject(asVisitor(v, 'GET', ''))).json().visit.joinUrl as string;
  const token = new URL(joinUrl).pathname.split('/')[2] ?? '';
  const open = await a.app.inject({ method: 'POST', url: `/api/join/${token}/open`, cookies: v.cookies });
  t.match(open.json(), { step: 'device', mediaMode: 'audio' }, 'the join page starts from the transfer’s mode');
  const live = await a.app.inject({ method: 'GET', url: `/api/cases/${accepted.json().caseId}/live`, headers: teller });
  t.equal(live.json().invitation.mediaMode, 'audio');
  // the device check without a mode keeps the proposed one; voice needs no camera
  const check = await a.app.inject({ method: 'POST', url: `/api/join/${token}/device-check`, cookies: v.cookies, payload: { camera: false, microphone: true } });
  t.equal(check.statusCode, 200, check.body);
  t.equal(check.json().mediaMode, 'audio');

  // a transfer without a body is video, as before
  const w = await startVisit(a);
  const plain = await a.app.inject(asVisitor(w, 'POST', '/transfer'));
  t.equal(plain.statusCode, 200, plain.body);
  t.equal((await su.query('SELECT media_mode FROM service_visits WHERE id = $1', [w.id])).rows[0].media_mode, 'video');
  // asking again while queued changes only the mode
  const again = await a.app.inject(asVisitor(w, 'POST', '/transfer', { mediaMode: 'chat' }));
  t.equal(again.json().state, 'queued');
  t.equal((await su.query('SELECT media_mode FROM service_visits WHERE id = $1', [w.id])).rows[0].media_mode, 'chat');
});
