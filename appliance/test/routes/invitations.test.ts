import t from 'tap';
import pg from 'pg';
import type { LightMyRequestResponse } from 'fastify';
import { multipartFile, newCaseBody, PNG, startTestAppliance } from '../helpers/appliance.js';

function deviceCookie(res: LightMyRequestResponse): string {
  const c = res.cookies.find((x) => x.name === '__Host-kyc_device');
  if (!c) throw new Error('no device cookie');
  return c.value;
}

t.test('invitation → code → device check → consent → admit → hang-up, with refusals', async (t) => {
  const a = await startTestAppliance(t);
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const auth = async (user: string) => ({ authorization: `Bearer ${await a.tokenFor(user)}` });
  const teller1 = await auth('teller1');
  const teller2 = await auth('teller2');
  const created = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller1, payload: newCaseBody() });
  const caseId = created.json().id as string;

  const other = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/invitations`, headers: teller2 });
  t.equal(other.statusCode, 404, "teller2 cannot invite to teller1's case");

  const inv = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/invitations`, headers: teller1 });
  t.equal(inv.statusCode, 201);
  const { url, code, id: invitationId } = inv.json() as { url: string; code: string; id: string };
  const token = new URL(url).pathname.split('/')[2] ?? '';
  t.match(url, /^https:\/\/127\.0\.0\.1:8443\/join\/[A-Za-z0-9_-]{43}$/, 'a link with a 256-bit token');
  t.match(code, /^\d{6}$/);
  const row = (await su.query('SELECT token_hash, code_hash FROM invitations WHERE id = $1', [invitationId])).rows[0];
  t.notOk(row.token_hash.equals(Buffer.from(token)), 'token stored hashed');
  t.equal((await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}`, headers: teller1 })).json().status, 'invited');

  const open = await a.app.inject({ method: 'POST', url: `/api/join/${token}/open` });
  t.equal(open.statusCode, 200);
  t.equal(open.json().step, 'code');
  const device = deviceCookie(open);
  const cookies = { '__Host-kyc_device': device };

  const second = await a.app.inject({ method: 'POST', url: `/api/join/${token}/open` });
  t.equal(second.statusCode, 409, 'a second device is refused');
  t.equal(second.json().error.code, 'KYC_ERR_INVITATION_IN_USE');
  const secondState = await a.app.inject({ method: 'GET', url: `/api/join/${token}` });
  t.equal(secondState.statusCode, 409);
  const reopen = await a.app.inject({ method: 'POST', url: `/api/join/${token}/open`, cookies });
  t.equal(reopen.statusCode, 200, 'the same browser may reload');

  const skip = await a.app.inject({ method: 'POST', url: `/api/join/${token}/consent`, cookies, payload: { accept: true, consentVersion: '2026-11' } });
  t.equal(skip.statusCode, 409, 'steps cannot be skipped');
  t.equal(skip.json().error.code, 'KYC_ERR_WRONG_STEP');

  const wrongCode = code === '000000' ? '000001' : '000000';
  const wrong = await a.app.inject({ method: 'POST', url: `/api/join/${token}/code`, cookies, payload: { code: wrongCode } });
  t.equal(wrong.statusCode, 400);
  t.equal(wrong.json().error.code, 'KYC_ERR_CODE_INVALID');
  t.match(wrong.json().error.message, /4 attempt/);
  const malformed = await a.app.inject({ method: 'POST', url: `/api/join/${token}/code`, cookies, payload: { code: '12ab56' } });
  t.equal(malformed.statusCode, 400);
  t.equal((await su.query('SELECT code_attempts FROM invitations WHERE id = $1', [invitationId])).rows[0].code_attempts, 1, 'only the real wrong code counted');

  const right = await a.app.inject({ method: 'POST', url: `/api/join/${token}/code`, cookies, payload: { code } });
  t.equal(right.statusCode, 200);
  t.equal(right.json().step, 'device');
  const dc = await a.app.inject({ method: 'POST', url: `/api/join/${token}/device-check`, cookies, payload: { camera: true, microphone: true } });
  t.equal(dc.json().step, 'consent');
  const early = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/admit`, headers: teller1 });
  t.equal(early.statusCode, 409, 'no admission before consent');
  // The consent text comes from the server, one document per language, each with its SHA-256.
  const texts = dc.json().consentTexts as Array<{ version: string; language: string; intro: string; sections: unknown[]; sha256: string }>;
  t.same(
    texts.map((d) => d.language),
    ['zh-CN', 'en'],
    'the words to show, in both languages',
  );
  t.ok(
    texts.every((d) => /^[0-9a-f]{64}$/.test(d.sha256) && d.sections.length === 5),
    'each with its hash',
  );
  t.match(texts[1]!.intro, new RegExp(`"${dc.json().product}"`), 'with the product filled in');
  const answer = (payload: Record<string, unknown>) => a.app.inject({ method: 'POST', url: `/api/join/${token}/consent`, cookies, payload });
  for (const [what, payload] of [
    ['a document the server did not serve', { accept: true, consentVersion: '2026-11', consentTextSha256: 'a'.repeat(64) }],
    ['another version', { accept: true, consentVersion: '2025-01' }],
  ] as const) {
    const r = await answer(payload);
    t.equal(r.statusCode, 409, `${what}: refused`);
    t.equal(r.json().error.code, 'KYC_ERR_CONSENT_TEXT_CHANGED');
  }
  t.equal((await answer({ accept: true, consentVersion: '2026-11', consentTextSha256: 'xyz' })).statusCode, 400, 'not a hash: 400');
  t.equal((await su.query('SELECT consent FROM invitations WHERE id = $1', [invitationId])).rows[0].consent, null, 'nothing recorded by the refusals');
  const consent = await answer({ accept: true, consentVersion: '2026-11', consentTextSha256: texts[0]!.sha256 });
  t.equal(consent.json().step, 'waiting');
  t.equal(consent.json().consentTexts, null, 'past the step, no text');
  const stored = (await su.query('SELECT consent_text_hash FROM invitations WHERE id = $1', [invitationId])).rows[0].consent_text_hash as Buffer;
  t.equal(stored.toString('hex'), texts[0]!.sha256, 'the record carries the hash of the exact document shown');
  const given = (await a.auditEvents()).find((e) => e.action === 'consent.given');
  t.match(given?.details, { consentVersion: '2026-11', consentTextSha256: texts[0]!.sha256, consentLanguage: 'zh-CN' }, 'and so does the audit event');

  const live = await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/live`, headers: teller1 });
  t.match(live.json(), { invitation: { step: 'waiting', opened: true, deviceChecked: true, consent: 'accepted', code }, session: null });

  const admit = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/admit`, headers: teller1 });
  t.equal(admit.statusCode, 200);
  const sessionId = admit.json().id as string;
  t.equal((await a.app.inject({ method: 'GET', url: `/api/join/${token}`, cookies })).json().step, 'in_call');
  t.equal((await a.app.inject({ method: 'GET', url: `/api/join/${token}`, cookies })).json().sessionId, sessionId);
  t.equal((await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}`, headers: teller1 })).json().status, 'in_session');

  await t.test('files exchanged in the session', async (t) => {
    const up = multipartFile('../../etc/身份证<script>.png', PNG, 'text/html');
    const teller = await a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/files`, headers: { ...teller1, ...up.headers }, payload: up.payload });
    t.equal(teller.statusCode, 201);
    t.match(teller.json(), { name: '身份证script.png', mediaType: 'image/png', size: PNG.length, from: 'teller' });
    const cust = multipartFile('scan.pdf', Buffer.from('%PDF-1.4\n%%EOF\n'));
    const customer = await a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/files?invitation=${token}`, cookies, headers: cust.headers, payload: cust.payload });
    t.equal(customer.statusCode, 201);
    t.equal(customer.json().from, 'customer');
    const html = multipartFile('x.png', Buffer.from('<html><script>alert(1)</script></html>'));
    const refused = await a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/files`, headers: { ...teller1, ...html.headers }, payload: html.payload });
    t.equal(refused.statusCode, 415, 'content that is not an image or PDF is refused whatever its name');
    const stranger = await a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/files?invitation=${token}`, headers: cust.headers, payload: cust.payload });
    t.equal(stranger.statusCode, 404, 'the link without its browser gets nothing');
    const list = await a.app.inject({ method: 'GET', url: `/api/sessions/${sessionId}/files?invitation=${token}`, cookies });
    t.equal(list.json().items.length, 2);
    const auditor = { authorization: `Bearer ${await a.tokenFor('auditor1')}` };
    const dl = await a.app.inject({ method: 'GET', url: `/api/files/${teller.json().id}`, headers: auditor });
    t.equal(dl.statusCode, 200);
    t.same(dl.rawPayload, PNG, 'the same bytes come back');
    t.match(String(dl.headers['content-disposition']), /^attachment;/);
    t.match(String(dl.headers['content-security-policy']), /sandbox/);
    const other = await a.app.inject({ method: 'GET', url: `/api/files/${teller.json().id}`, headers: teller2 });
    t.equal(other.statusCode, 404);
    const stored = (await su.query('SELECT content_enc FROM case_files WHERE id = $1', [teller.json().id])).rows[0].content_enc as Buffer;
    t.notOk(stored.includes(PNG.subarray(0, 8)), 'stored encrypted');
  });

  const hangOther = await a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/hangup`, headers: teller2 });
  t.equal(hangOther.statusCode, 404);
  const hang = await a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/hangup`, headers: teller1 });
  t.equal(hang.statusCode, 200);
  t.equal(hang.json().state, 'ended');
  const after = await a.app.inject({ method: 'POST', url: `/api/join/${token}/open`, cookies });
  t.equal(after.statusCode, 410, 'a used link does not open again');
  t.equal(after.json().error.code, 'KYC_ERR_INVITATION_CLOSED');

  const actions = (await a.auditEvents()).map((e) => e.action);
  for (const action of [
    'file.upload',
    'file.download',
    'invitation.create',
    'invitation.open',
    'invitation.refused',
    'invitation.code_failed',
    'invitation.code_verified',
    'invitation.device_checked',
    'consent.given',
    'session.admit',
    'session.hangup',
  ]) {
    t.ok(actions.includes(action), `${action} audited`);
  }
});

t.test('expired, revoked, locked and declined invitations', async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_INVITATION_CODE_ATTEMPTS: '3' } });
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const teller1 = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const newInvitation = async () => {
    const c = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller1, payload: newCaseBody() });
    const caseId = c.json().id as string;
    const inv = (await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/invitations`, headers: teller1 })).json();
    return { caseId, id: inv.id as string, code: inv.code as string, token: new URL(inv.url).pathname.split('/')[2] ?? '' };
  };

  const expired = await newInvitation();
  await su.query(`UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE id = $1`, [expired.id]);
  const e = await a.app.inject({ method: 'POST', url: `/api/join/${expired.token}/open` });
  t.equal(e.statusCode, 410);
  t.equal(e.json().error.code, 'KYC_ERR_INVITATION_EXPIRED');
  t.match(e.json().error.message, /expired/);

  const revoked = await newInvitation();
  const rv = await a.app.inject({ method: 'POST', url: `/api/cases/${revoked.caseId}/invitations/${revoked.id}/revoke`, headers: teller1 });
  t.equal(rv.statusCode, 200);
  t.equal(rv.json().step, 'revoked');
  const r = await a.app.inject({ method: 'POST', url: `/api/join/${revoked.token}/open` });
  t.equal(r.json().error.code, 'KYC_ERR_INVITATION_REVOKED');

  const replaced = await newInvitation();
  const again = await a.app.inject({ method: 'POST', url: `/api/cases/${replaced.caseId}/invitations`, headers: teller1 });
  t.equal(again.statusCode, 201);
  const old = await a.app.inject({ method: 'POST', url: `/api/join/${replaced.token}/open` });
  t.equal(old.json().error.code, 'KYC_ERR_INVITATION_REVOKED', 'a new invitation replaces the old link');

  const locked = await newInvitation();
  const open = await a.app.inject({ method: 'POST', url: `/api/join/${locked.token}/open` });
  const cookies = { '__Host-kyc_device': deviceCookie(open) };
  const wrongCode = locked.code === '111111' ? '222222' : '111111';
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await a.app.inject({ method: 'POST', url: `/api/join/${locked.token}/code`, cookies, payload: { code: wrongCode } })).json().error.code);
  t.same(codes, ['KYC_ERR_CODE_INVALID', 'KYC_ERR_CODE_INVALID', 'KYC_ERR_INVITATION_LOCKED']);
  const late = await a.app.inject({ method: 'POST', url: `/api/join/${locked.token}/code`, cookies, payload: { code: locked.code } });
  t.equal(late.json().error.code, 'KYC_ERR_INVITATION_LOCKED', 'the right code no longer helps');

  const declined = await newInvitation();
  const o = await a.app.inject({ method: 'POST', url: `/api/join/${declined.token}/open` });
  const dk = { '__Host-kyc_device': deviceCookie(o) };
  await a.app.inject({ method: 'POST', url: `/api/join/${declined.token}/code`, cookies: dk, payload: { code: declined.code } });
  await a.app.inject({ method: 'POST', url: `/api/join/${declined.token}/device-check`, cookies: dk, payload: { camera: true, microphone: true } });
  const d = await a.app.inject({ method: 'POST', url: `/api/join/${declined.token}/consent`, cookies: dk, payload: { accept: false, consentVersion: '2026-11' } });
  t.equal(d.json().step, 'declined');
  const admit = await a.app.inject({ method: 'POST', url: `/api/cases/${declined.caseId}/admit`, headers: teller1 });
  t.equal(admit.statusCode, 409, 'no session after a declined consent');
  t.equal((await su.query('SELECT count(*)::int AS n FROM call_sessions WHERE case_id = $1', [declined.caseId])).rows[0].n, 0);

  const unknown = await a.app.inject({ method: 'POST', url: `/api/join/${'A'.repeat(43)}/open` });
  t.equal(unknown.statusCode, 404);
  const tricky = await a.app.inject({ method: 'POST', url: '/api/join/..%2F..%2Fetc%2Fpasswd/open' });
  t.equal(tricky.statusCode, 400, 'path tricks are refused by the token pattern');
  const foreign = await a.app.inject({ method: 'POST', url: `/api/join/${declined.token}/open`, headers: { origin: 'https://evil.example' } });
  t.equal(foreign.statusCode, 403, 'cross-origin writes are refused');
});
