import t from 'tap';
import pg from 'pg';
import { startTestAppliance } from '../helpers/appliance.js';
import { ManualClock } from '../helpers/clock.js';
import { asVisitor, seedKb, startVisit, type Visitor } from './helpers.js';

const ID_NUMBER = '11010519491231002X';

t.test('visit → cited answer → transfer → queue positions → skilled offer → timeout moves on → accept → join → call → rating; report', async (t) => {
  const clock = new ManualClock();
  const a = await startTestAppliance(t, { env: { KYC_QUEUE_OFFER_TIMEOUT_SECONDS: '8', KYC_SERVICE_VISITS_PER_MINUTE: '1000' }, clock });
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const auth = async (user: string) => ({ authorization: `Bearer ${await a.tokenFor(user)}` });
  const [teller1, teller2, teller3, admin] = await Promise.all([auth('teller1'), auth('teller2'), auth('teller_auditor1'), auth('admin1')]);

  // the knowledge base is the admin's: a teller may not change it
  const denied = await a.app.inject({
    method: 'POST',
    url: '/api/admin/kb/entries',
    headers: teller1,
    payload: { productCode: 'VIDEO-WITNESS', lang: 'en', kind: 'qa', title: 'x', body: 'y' },
  });
  t.equal(denied.statusCode, 403);
  const kbIds = await seedKb(a);
  const unknownKb = await a.app.inject({ method: 'POST', url: '/api/admin/kb/entries', headers: admin, payload: { productCode: 'NOPE-1', lang: 'en', kind: 'qa', title: 'x', body: 'y' } });
  t.equal(unknownKb.json().error.code, 'KYC_ERR_PRODUCT_UNKNOWN');

  // bad input at the entry: clear 4xx, nothing stored
  const before = Number((await su.query('SELECT count(*) FROM service_visits')).rows[0].count);
  const bad = async (payload: Record<string, unknown>, status: number, code: string, what: string) => {
    const res = await a.app.inject({ method: 'POST', url: '/api/service/visits', payload: { productCode: 'VIDEO-WITNESS', lang: 'zh-CN', name: '李小龙', consent: true, ...payload } });
    t.equal(res.statusCode, status, `${what}: ${status}`);
    t.equal(res.json().error.code, code, `${what}: ${code}`);
  };
  await bad({ productCode: 'NO-SUCH' }, 400, 'KYC_ERR_PRODUCT_UNKNOWN', 'unknown product');
  await bad({ consent: false }, 400, 'KYC_ERR_VALIDATION', 'no consent');
  await bad({ lang: 'fr' }, 400, 'KYC_ERR_VALIDATION', 'unknown language');
  await bad({ name: 'x'.repeat(101) }, 400, 'KYC_ERR_VALIDATION', 'oversized name');
  await bad({ name: '   ' }, 400, 'KYC_ERR_VALIDATION', 'blank name');
  t.equal(Number((await su.query('SELECT count(*) FROM service_visits')).rows[0].count), before, 'nothing stored');

  const c1 = await startVisit(a);
  t.ok((await su.query('SELECT name_enc FROM service_visits WHERE id = $1', [c1.id])).rows[0].name_enc.indexOf(Buffer.from('李小龙')) < 0, 'name stored encrypted');

  // the ticket works only with its browser
  const wrongDevice = await a.app.inject({ ...asVisitor(c1, 'GET', ''), cookies: { '__Host-kyc_device': 'x'.repeat(43) } });
  t.equal(wrongDevice.statusCode, 403);
  t.equal(wrongDevice.json().error.code, 'KYC_ERR_SERVICE_TICKET_INVALID');
  const noTicket = await a.app.inject({ ...asVisitor(c1, 'GET', ''), headers: {} });
  t.equal(noTicket.json().error.code, 'KYC_ERR_SERVICE_TICKET_INVALID');

  // the assistant: a cited answer from the product's zh-CN entries
  const ask = await a.app.inject(asVisitor(c1, 'POST', '/messages', { text: '我的信用卡丢了怎么办' }));
  t.equal(ask.statusCode, 200);
  t.match(ask.json(), { citation: { entryId: kbIds[0], title: '信用卡丢了怎么办？', version: 1 }, offerTransfer: false });
  t.match(ask.json().text, /挂失/);
  const unsure = await a.app.inject(asVisitor(c1, 'POST', '/messages', { text: '股票期权的行权价格是多少' }));
  t.match(unsure.json(), { citation: null, offerTransfer: true }, 'not confident: offers a person');
  const person = await a.app.inject(asVisitor(c1, 'POST', '/messages', { text: '转人工' }));
  t.match(person.json(), { citation: null, offerTransfer: true }, 'asks for a person');
  const oversized = await a.app.inject(asVisitor(c1, 'POST', '/messages', { text: '长'.repeat(1001) }));
  t.equal(oversized.statusCode, 400);
  t.equal(oversized.json().error.code, 'KYC_ERR_VALIDATION');

  // an edit is a new version: the next answer cites version 2
  const edit = await a.app.inject({
    method: 'PUT',
    url: `/api/admin/kb/entries/${kbIds[0]}`,
    headers: admin,
    payload: { title: '信用卡丢了怎么办？', body: '请立即拨打客服热线办理信用卡挂失，补卡约需五个工作日。' },
  });
  t.equal(edit.json().version, 2);
  const c0 = await startVisit(a, { lang: 'en', name: 'Ann Lee' });
  const en = await a.app.inject(asVisitor(c0, 'POST', '/messages', { text: 'I lost my credit card' }));
  t.match(en.json(), { citation: { entryId: kbIds[3], version: 1 }, offerTransfer: false }, 'English question, English entry');

  // tellers: teller1 and teller_auditor1 have the skill; teller2 only ACCT-OPEN
  const presence = async (h: Record<string, string>, status: string, products: string[], languages = ['zh-CN']) => {
    const res = await a.app.inject({ method: 'PUT', url: '/api/me/presence', headers: h, payload: { status, skills: { products, languages } } });
    t.equal(res.statusCode, 200, `presence ${status}`);
  };
  const badSkill = await a.app.inject({
    method: 'PUT',
    url: '/api/me/presence',
    headers: teller1,
    payload: { status: 'available', skills: { products: ['NO-SUCH'], languages: ['zh-CN'] } },
  });
  t.equal(badSkill.json().error.code, 'KYC_ERR_PRODUCT_UNKNOWN');
  await presence(teller2, 'available', ['ACCT-OPEN']);
  await presence(teller1, 'away', ['VIDEO-WITNESS']);
  await presence(teller3, 'away', ['VIDEO-WITNESS']);

  // three customers queue at once: positions 1, 2, 3 in the order they transferred
  const c2 = await startVisit(a, { name: '王五' });
  const c3 = await startVisit(a, { name: '赵六', phone: '13900001111' });
  for (const c of [c1, c2, c3]) t.equal((await a.app.inject(asVisitor(c, 'POST', '/transfer'))).statusCode, 200);
  const pos = async (c: Visitor) =>
    (await a.app.inject(asVisitor(c, 'GET', ''))).json().visit as { state: string; position: number | null; estimatedWaitSeconds: number | null; joinUrl: string | null };
  t.same([(await pos(c1)).position, (await pos(c2)).position, (await pos(c3)).position], [1, 2, 3]);
  const w1 = (await pos(c1)).estimatedWaitSeconds ?? -1;
  const w3 = (await pos(c3)).estimatedWaitSeconds ?? -1;
  t.ok(w3 > w1 && w1 > 0, `waits grow with the position (${w1} s, ${w3} s) while nobody staffs the queue`);

  // nobody skilled is available: no offer (teller2 lacks the skill)
  await a.runtime.ctx.desk.routeNow();
  t.same((await a.app.inject({ method: 'GET', url: '/api/service/offers', headers: teller2 })).json(), [], 'the unskilled teller gets nothing');

  // two skilled tellers become available: c1 and c2 are offered, one each, at random
  await presence(teller1, 'available', ['VIDEO-WITNESS']);
  await presence(teller3, 'available', ['VIDEO-WITNESS']);
  const offers1 = (await a.app.inject({ method: 'GET', url: '/api/service/offers?waitMs=5000', headers: teller1 })).json() as {
    id: string;
    visitId: string;
    conversation: { text: string }[];
    topic: string;
    customerName: string;
  }[];
  const offers3 = (await a.app.inject({ method: 'GET', url: '/api/service/offers?waitMs=5000', headers: teller3 })).json() as typeof offers1;
  t.equal(offers1.length, 1);
  t.equal(offers3.length, 1);
  t.same(new Set([offers1[0]!.visitId, offers3[0]!.visitId]), new Set([c1.id, c2.id]), 'the two oldest visits are offered');
  t.same((await a.app.inject({ method: 'GET', url: '/api/service/offers', headers: teller2 })).json(), [], 'still nothing for the unskilled teller');
  const o1 = [...offers1, ...offers3].find((o) => o.visitId === c1.id)!;
  const holderOf1 = offers1[0]!.visitId === c1.id ? teller1 : teller3;
  const holderOf2 = holderOf1 === teller1 ? teller3 : teller1;
  t.equal(o1.topic, '我的信用卡丢了怎么办', 'the topic is the first question');
  t.match(o1.conversation.map((m) => m.text).join('\n'), /挂失[\s\S]*转人工/, 'the conversation reaches the teller');
  t.equal(o1.customerName, '李**', 'the name masked');

  // the holder of c2's offer lets it time out: c2 goes to the next teller once one is free
  const o2 = (holderOf2 === teller1 ? offers1 : offers3)[0]!;
  // the holder of c1's offer accepts it: confirms the details, opens the case
  const noId = await a.app.inject({
    method: 'POST',
    url: `/api/service/offers/${o1.id}/accept`,
    headers: holderOf1,
    payload: { customerIdNumber: '110105194912310021', customerPhone: '13812345678' },
  });
  t.equal(noId.statusCode, 400, 'an invalid ID number is refused');
  t.equal(noId.json().error.code, 'KYC_ERR_VALIDATION');
  const stolen = await a.app.inject({
    method: 'POST',
    url: `/api/service/offers/${o1.id}/accept`,
    headers: holderOf2,
    payload: { customerIdNumber: ID_NUMBER, customerPhone: '13812345678' },
  });
  t.equal(stolen.statusCode, 404, "another teller cannot take someone else's offer");
  const accepted = await a.app.inject({
    method: 'POST',
    url: `/api/service/offers/${o1.id}/accept`,
    headers: holderOf1,
    payload: { customerIdNumber: ID_NUMBER, customerPhone: '13812345678' },
  });
  t.equal(accepted.statusCode, 200, accepted.body);
  const { caseId } = accepted.json() as { caseId: string };
  t.match(
    accepted
      .json()
      .conversation.map((m: { text: string }) => m.text)
      .join('\n'),
    /挂失/,
  );
  t.equal((await a.app.inject({ method: 'GET', url: '/api/me/presence', headers: holderOf1 })).json().status, 'busy', 'accepting makes the teller busy');

  const moved = (await a.app.inject({ method: 'GET', url: '/api/service/offers?waitMs=8000', headers: holderOf2 })).json() as { id: string; visitId: string }[];
  // the holder's own offer is still open until it expires; the teller sees that one first
  t.equal(moved[0]?.id, o2.id);
  // the offer timeout (8 s) passes on the appliance's clock: the offer expires and its teller is taken as away
  const offerState = async () => (await su.query('SELECT state FROM service_offers WHERE id = $1', [o2.id])).rows[0].state as string;
  clock.advance(7000);
  await a.runtime.ctx.desk.routeNow();
  t.equal(await offerState(), 'open', 'not before its time');
  t.same(
    (await a.app.inject({ method: 'GET', url: '/api/service/offers', headers: holderOf2 })).json().map((o: { id: string }) => o.id),
    [o2.id],
    'still offered to its teller',
  );
  clock.advance(1000);
  await a.runtime.ctx.desk.routeNow();
  t.equal(await offerState(), 'expired', 'an unanswered offer expires');
  t.equal((await a.app.inject({ method: 'GET', url: '/api/me/presence', headers: holderOf2 })).json().status, 'away', 'a teller who let an offer run out is away');
  t.same((await a.app.inject({ method: 'GET', url: '/api/service/offers', headers: holderOf2 })).json(), [], 'and gets no new offer');
  // a teller frees up: the next offer of c2 goes to the teller who has not had it
  await presence(holderOf1, 'available', ['VIDEO-WITNESS']);
  const next = (await a.app.inject({ method: 'GET', url: '/api/service/offers?waitMs=8000', headers: holderOf1 })).json() as { id: string; visitId: string }[];
  t.equal(next[0]?.visitId, c2.id, 'the timed-out visit moves on to the next teller');
  const declined = await a.app.inject({ method: 'POST', url: `/api/service/offers/${next[0]!.id}/decline`, headers: holderOf1 });
  t.equal(declined.statusCode, 204);

  // positions update: c1 was taken, so c2 is first and c3 second; c3 leaves and is removed
  t.equal((await pos(c2)).position, 1);
  t.equal((await pos(c3)).position, 2);
  const left = await a.app.inject(asVisitor(c3, 'POST', '/leave'));
  t.equal(left.json().state, 'left');
  t.equal((await pos(c3)).position, null);
  t.equal((await a.app.inject(asVisitor(c3, 'POST', '/transfer'))).json().error.code, 'KYC_ERR_SERVICE_VISIT_CLOSED', 'a visit that left stays closed');
  const cb = await a.app.inject(asVisitor(c0, 'POST', '/callback', {}));
  t.equal(cb.json().error.code, 'KYC_ERR_VALIDATION', 'a call-back needs a phone number');
  t.equal((await a.app.inject(asVisitor(c0, 'POST', '/callback', { phone: '13900002222' }))).json().state, 'callback');

  // the accepted customer continues as an invited one, on the same browser: code step already done
  const v1 = await pos(c1);
  t.equal(v1.state, 'accepted');
  const token = new URL(v1.joinUrl ?? 'https://x/join/none').pathname.split('/')[2] ?? '';
  const open = await a.app.inject({ method: 'POST', url: `/api/join/${token}/open`, cookies: c1.cookies });
  t.equal(open.statusCode, 200, open.body);
  t.equal(open.json().step, 'device', 'bound to the visit browser, past the code');
  const otherBrowser = await a.app.inject({ method: 'POST', url: `/api/join/${token}/open` });
  t.equal(otherBrowser.json().error.code, 'KYC_ERR_INVITATION_IN_USE', 'another browser cannot use the link');
  t.equal((await a.app.inject(asVisitor(c1, 'POST', '/rating', { score: 5 }))).json().error.code, 'KYC_ERR_WRONG_STEP', 'no rating before the call');
  await a.app.inject({ method: 'POST', url: `/api/join/${token}/device-check`, cookies: c1.cookies, payload: { camera: true, microphone: true } });
  await a.app.inject({ method: 'POST', url: `/api/join/${token}/consent`, cookies: c1.cookies, payload: { accept: true, consentVersion: '2026-11' } });
  const admit = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/admit`, headers: holderOf1 });
  t.equal(admit.statusCode, 200, admit.body);
  const hangup = await a.app.inject({ method: 'POST', url: `/api/sessions/${admit.json().id}/hangup`, headers: holderOf1 });
  t.equal(hangup.statusCode, 200, hangup.body);
  t.equal(((await pos(c1)) as unknown as { callEnded: boolean }).callEnded, true, 'the page learns the call ended');
  t.equal((await a.app.inject(asVisitor(c1, 'POST', '/rating', { score: 6 }))).statusCode, 400, 'score out of range');
  t.equal((await a.app.inject(asVisitor(c1, 'POST', '/rating', { score: 4, comment: '很耐心' }))).statusCode, 204);
  t.equal((await a.app.inject(asVisitor(c1, 'POST', '/rating', { score: 1 }))).json().error.code, 'KYC_ERR_CONFLICT', 'rated once');

  // the admin report: figures, no personal data; tellers cannot read it
  t.equal((await a.app.inject({ method: 'GET', url: '/api/admin/service/report', headers: teller1 })).statusCode, 403);
  const report = await a.app.inject({ method: 'GET', url: '/api/admin/service/report', headers: admin });
  t.equal(report.statusCode, 200);
  const r = report.json();
  t.same(r.waiting, [{ productCode: 'VIDEO-WITNESS', lang: 'zh-CN', count: 1 }], 'c2 waits');
  t.equal(r.handled, 1);
  t.equal(r.abandoned, 1);
  t.equal(r.callbacks, 0, 'c0 never queued, so its call-back is not a queue figure');
  t.equal(r.perTeller.length, 1);
  t.equal(r.perTeller[0].handled, 1);
  t.match(r.ratings, [{ productCode: 'VIDEO-WITNESS', count: 1, average: 4 }]);
  t.ok(typeof r.p90WaitSeconds === 'number' && r.p90WaitSeconds >= r.avgWaitSeconds - 1e-9);
  t.notMatch(report.body, /李|王五|赵六|很耐心|1381234|110105/, 'no personal data in the report');

  // a customer whose page stopped polling has gone: routing takes the visit out of the queue
  await su.query(`UPDATE service_visits SET last_seen_at = now() - interval '100 seconds' WHERE id = $1`, [c2.id]);
  await a.runtime.ctx.desk.routeNow();
  t.equal((await pos(c2)).state, 'left', 'an abandoned visit leaves the queue');
  t.same((await a.app.inject({ method: 'GET', url: '/api/admin/service/report', headers: admin })).json().waiting, [], 'nobody waits any more');

  // every step audited in its transaction
  const actions = (await a.auditEvents()).map((e) => e.action);
  for (const action of [
    'kb.entry_create',
    'kb.entry_update',
    'service.visit_create',
    'service.message',
    'service.transfer',
    'teller.presence',
    'service.offer',
    'service.offer_expire',
    'service.offer_accept',
    'service.offer_decline',
    'case.create',
    'invitation.create',
    'service.leave',
    'service.callback',
    'service.rating',
    'service.visit_abandon',
  ]) {
    t.ok(actions.includes(action), `audited: ${action}`);
  }
});

t.test('floods are refused with 429', async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_SERVICE_VISITS_PER_MINUTE: '5' } });
  const codes: number[] = [];
  for (let i = 0; i < 7; i++) {
    const res = await a.app.inject({ method: 'POST', url: '/api/service/visits', payload: { productCode: 'VIDEO-WITNESS', lang: 'en', name: 'Flood', consent: true } });
    codes.push(res.statusCode);
    if (res.statusCode === 429) t.equal(res.json().error.code, 'KYC_ERR_RATE_LIMITED');
  }
  t.same(codes, [201, 201, 201, 201, 201, 429, 429]);
  // questions are limited per visit: a flood of them is refused
  const c = await a.app.inject({
    method: 'POST',
    url: '/api/service/visits',
    remoteAddress: '10.0.0.2',
    payload: { productCode: 'VIDEO-WITNESS', lang: 'en', name: 'Flood', consent: true },
  });
  t.equal(c.statusCode, 201);
  const v = {
    id: c.json().visit.id as string,
    headers: { [c.json().ticketHeader as string]: c.json().ticket as string },
    cookies: { '__Host-kyc_device': c.cookies.find((x) => x.name === '__Host-kyc_device')?.value ?? '' },
  };
  const answers: number[] = [];
  for (let i = 0; i < 22; i++) answers.push((await a.app.inject(asVisitor(v, 'POST', '/messages', { text: `question ${i}` }))).statusCode);
  t.same(answers.slice(0, 20), Array(20).fill(200));
  t.same(answers.slice(20), [429, 429], 'the 21st question in a minute is refused');
});
