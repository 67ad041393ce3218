// Call-backs: a customer who would rather be called back leaves the queue with a phone number; the request waits on
// a worklist that skilled tellers take from, oldest first and one at a time (no picking), and closes with an outcome.
import t from 'tap';
import pg from 'pg';
import { startTestAppliance } from '../helpers/appliance.js';
import { destroyExpiredVisitKeys } from '../../src/services/case-keys.js';
import { asVisitor, seedKb, startVisit } from './helpers.js';

t.test('call-back worklist: skilled tellers take the oldest, one at a time, see the phone, record the outcome; audited', async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_SERVICE_VISITS_PER_MINUTE: '1000' } });
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const auth = async (user: string) => ({ authorization: `Bearer ${await a.tokenFor(user)}` });
  const [teller1, teller2, teller3, admin, auditor] = await Promise.all([auth('teller1'), auth('teller2'), auth('teller_auditor1'), auth('admin1'), auth('auditor1')]);
  await seedKb(a);
  const presence = async (h: Record<string, string>, products: string[], languages = ['zh-CN']) => {
    const res = await a.app.inject({ method: 'PUT', url: '/api/me/presence', headers: h, payload: { status: 'away', skills: { products, languages } } });
    t.equal(res.statusCode, 200);
  };
  await presence(teller1, ['VIDEO-WITNESS']);
  await presence(teller2, ['ACCT-OPEN']);
  await presence(teller3, ['VIDEO-WITNESS'], ['en']);

  // two customers ask to be called back (the first asked a question; the second gives the number only now)
  const c1 = await startVisit(a, { name: '李小龙', phone: '13800001111' });
  await a.app.inject(asVisitor(c1, 'POST', '/messages', { text: '我的信用卡丢了怎么办' }));
  await a.app.inject(asVisitor(c1, 'POST', '/transfer'));
  t.equal((await a.app.inject(asVisitor(c1, 'POST', '/callback', {}))).json().state, 'callback', 'the phone given at the entry serves');
  const c2 = await startVisit(a, { name: '王五' });
  t.equal((await a.app.inject(asVisitor(c2, 'POST', '/callback', { phone: '13900002222' }))).json().state, 'callback');

  const list = async (h: Record<string, string>) =>
    (await a.app.inject({ method: 'GET', url: '/api/service/callbacks', headers: h })).json() as { waiting: number; mine: null | Record<string, unknown> };
  t.same(await list(teller1), { waiting: 2, mine: null }, 'two wait for the skilled teller');
  t.same(await list(teller2), { waiting: 0, mine: null }, 'none for another product');
  t.same(await list(teller3), { waiting: 0, mine: null }, 'none for another language');

  const none = await a.app.inject({ method: 'POST', url: '/api/service/callbacks/next', headers: teller2 });
  t.equal(none.statusCode, 404, 'nothing to take without the skill');
  t.equal(none.json().error.code, 'KYC_ERR_NOT_FOUND');

  // the oldest comes first; the phone in full, the name masked, the conversation along
  const took = await a.app.inject({ method: 'POST', url: '/api/service/callbacks/next', headers: teller1 });
  t.equal(took.statusCode, 200, took.body);
  t.match(took.json(), { visitId: c1.id, productCode: 'VIDEO-WITNESS', lang: 'zh-CN', customerName: '李**', phone: '13800001111', topic: '我的信用卡丢了怎么办' });
  t.match(
    took
      .json()
      .conversation.map((m: { text: string }) => m.text)
      .join('\n'),
    /挂失/,
    'the assistant conversation comes along',
  );
  const again = await a.app.inject({ method: 'POST', url: '/api/service/callbacks/next', headers: teller1 });
  t.equal(again.statusCode, 409, 'one call-back held at a time');
  t.equal(again.json().error.code, 'KYC_ERR_CONFLICT');
  t.match(await list(teller1), { waiting: 1, mine: { visitId: c1.id, phone: '13800001111' } }, 'the held one stays in view');

  // bad input and someone else's call-back: 4xx, nothing changes
  const badOutcome = await a.app.inject({ method: 'POST', url: `/api/service/callbacks/${c1.id}/done`, headers: teller1, payload: { outcome: 'maybe' } });
  t.equal(badOutcome.statusCode, 400);
  t.equal(badOutcome.json().error.code, 'KYC_ERR_VALIDATION');
  const badId = await a.app.inject({ method: 'POST', url: '/api/service/callbacks/not-a-uuid/done', headers: teller1, payload: { outcome: 'reached' } });
  t.equal(badId.statusCode, 400);
  const notMine = await a.app.inject({ method: 'POST', url: `/api/service/callbacks/${c1.id}/done`, headers: teller3, payload: { outcome: 'reached' } });
  t.equal(notMine.statusCode, 404, "another teller cannot close someone else's call-back");
  const auditorTry = await a.app.inject({ method: 'POST', url: '/api/service/callbacks/next', headers: auditor });
  t.equal(auditorTry.statusCode, 403, 'auditors do not act');
  t.equal((await su.query('SELECT callback_done_at FROM service_visits WHERE id = $1', [c1.id])).rows[0].callback_done_at, null, 'still open');

  const done = await a.app.inject({ method: 'POST', url: `/api/service/callbacks/${c1.id}/done`, headers: teller1, payload: { outcome: 'reached' } });
  t.equal(done.statusCode, 204, done.body);
  const twice = await a.app.inject({ method: 'POST', url: `/api/service/callbacks/${c1.id}/done`, headers: teller1, payload: { outcome: 'unreachable' } });
  t.equal(twice.statusCode, 404, 'closed once');
  t.same(await list(teller1), { waiting: 1, mine: null });

  // two tellers taking at once get different call-backs (or one gets none): never the same customer twice
  const c3 = await startVisit(a, { name: '赵六', phone: '13700003333' });
  await a.app.inject(asVisitor(c3, 'POST', '/callback', {}));
  await presence(teller3, ['VIDEO-WITNESS'], ['zh-CN', 'en']);
  const [x, y] = await Promise.all([teller1, teller3].map((h) => a.app.inject({ method: 'POST', url: '/api/service/callbacks/next', headers: h })));
  t.equal(x!.statusCode, 200);
  t.equal(y!.statusCode, 200);
  t.same(new Set([x!.json().visitId, y!.json().visitId]), new Set([c2.id, c3.id]), 'each teller got a different one');

  // the admin report counts the open ones; no phone numbers in it
  const report = (await a.app.inject({ method: 'GET', url: '/api/admin/service/report', headers: admin })).json();
  t.equal(report.callbacksOpen, 2);
  t.notMatch(JSON.stringify(report), /13[0-9]{9}/, 'no phone numbers in the report');

  // the same teller asking twice at once: one gets the call-back, the other a 409 (not a 500)
  const c4 = await startVisit(a, { name: '孙七', phone: '13600004444' });
  await a.app.inject(asVisitor(c4, 'POST', '/callback', {}));
  await a.app.inject({ method: 'POST', url: `/api/service/callbacks/${x!.json().visitId}/done`, headers: teller1, payload: { outcome: 'unreachable' } });
  const twin = await Promise.all([1, 2].map(() => a.app.inject({ method: 'POST', url: '/api/service/callbacks/next', headers: teller1 })));
  const codes = twin.map((r) => r.statusCode).sort();
  t.equal(codes[0], 200, 'one take wins');
  t.ok(codes[1] === 404 || codes[1] === 409, `the other gets a 4xx, never a 500 (${codes[1]})`);

  // the retention period ends: the visits' keys are destroyed and their call-backs, held or waiting, close as expired
  t.ok((await destroyExpiredVisitKeys(a.runtime.ctx, 90, new Date(Date.now() + 91 * 86_400_000))) >= 4);
  t.same(await list(teller1), { waiting: 0, mine: null }, 'the held call-back is gone with its key: the teller is not stuck');
  t.equal((await a.app.inject({ method: 'POST', url: '/api/service/callbacks/next', headers: teller1 })).statusCode, 404, 'nothing left to take');
  const outcomes = (await su.query(`SELECT callback_outcome FROM service_visits WHERE state = 'callback'`)).rows.map((r) => r.callback_outcome as string).sort();
  t.same(outcomes, ['expired', 'expired', 'reached', 'unreachable'], 'done ones keep their outcome; the rest expired');
  t.equal((await a.app.inject({ method: 'GET', url: '/api/admin/service/report', headers: admin })).json().callbacksOpen, 0);

  // every step audited, without the phone number
  const events = await a.auditEvents();
  const takes = events.filter((e) => e.action === 'service.callback_take' && e.result === 'success');
  t.equal(takes.length, 4, 'four takes audited');
  t.ok(
    events.some((e) => e.action === 'service.callback_done' && e.result === 'success' && (e.details as { outcome?: string }).outcome === 'reached'),
    'the outcome audited',
  );
  t.notMatch(JSON.stringify(events.filter((e) => e.action.startsWith('service.callback'))), /1[3-9][0-9]{9}/, 'no phone numbers in the audit');
});
