import t from 'tap';
import { archiveRepository } from '../../src/repositories/archive.repository.js';
import { TIMELINE_MAX_SESSION_EVENTS } from '../../src/routes/archive.js';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import pg from 'pg';
import { newCaseBody, startTestAppliance, type TestAppliance } from '../helpers/appliance.js';

/** A valid GB 11643 resident ID number with the given sequence digits (the check digit computed). */
function residentId(seq: number): string {
  const body = `11010519900101${String(seq).padStart(3, '0')}`;
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, d, i) => s + Number(d) * w[i]!, 0);
  return body + '10X98765432'[sum % 11]!;
}

async function api(a: TestAppliance, user: string, method: 'GET' | 'POST', url: string, payload?: unknown) {
  return a.app.inject({ method, url, headers: { authorization: `Bearer ${await a.tokenFor(user)}` }, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
}

/** An invitation and an ended session for an existing case (what a finished call leaves behind). */
async function endSession(pool: pg.Pool, caseId: string, teller: string): Promise<string> {
  const inv = randomUUID();
  const session = randomUUID();
  const b = () => randomBytes(16);
  await pool.query(
    `INSERT INTO invitations (id, case_id, token_hash, code_hash, code_enc, token_enc, created_by, expires_at, code_attempts)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now() + interval '1 hour', 2)`,
    [inv, caseId, b(), b(), b(), b(), teller],
  );
  await pool.query(
    `INSERT INTO call_sessions (id, case_id, invitation_id, teller, state, room_id, admitted_at, ended_at, end_reason)
     VALUES ($1, $2, $3, $4, 'ended', $5, now() - interval '5 minutes', now(), 'hangup')`,
    [session, caseId, inv, teller, randomInt(1, 2 ** 47)],
  );
  await pool.query(`UPDATE cases SET status = 'in_session' WHERE id = $1`, [caseId]);
  return session;
}

t.test('search: filters, exact ID number and name through blind indexes, keyset pages, total, masked, audited', async (t) => {
  const a = await startTestAppliance(t);
  const created: Array<{ id: string; teller: string; branch: string; product: string; idNumber: string; name: string }> = [];
  for (let i = 0; i < 7; i++) {
    const teller = i % 2 === 0 ? 'teller1' : 'teller2';
    const body = newCaseBody({ customerIdNumber: residentId(100 + i), customerName: `客户${i}`, product: i % 3 === 0 ? 'WM-SALE' : 'ACCT-OPEN' });
    const res = await api(a, teller, 'POST', '/api/cases', body);
    t.equal(res.statusCode, 201, res.body);
    created.push({ id: res.json().id, teller, branch: String(res.json().branch), product: String(body.product), idNumber: String(body.customerIdNumber), name: String(body.customerName) });
  }

  let res = await api(a, 'auditor1', 'GET', `/api/archive/search?idNumber=${created[3]!.idNumber}`);
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().total, 1);
  t.equal(res.json().items[0].caseId, created[3]!.id, 'exact ID number finds its case');
  t.notMatch(res.body, created[3]!.idNumber, 'the ID number is masked in the answer');
  t.match(res.json().items[0], { customerIdNumber: /\*/, teller: 'teller2', session: null, recording: null, flags: [] });

  res = await api(a, 'auditor1', 'GET', `/api/archive/search?idNumber=${created[3]!.idNumber.toLowerCase()}`);
  t.equal(res.json().total, 1, 'normalised like at creation (lower-case x)');
  res = await api(a, 'auditor1', 'GET', `/api/archive/search?name=${encodeURIComponent(` ${created[4]!.name} `)}`);
  t.same(
    res.json().items.map((x: { caseId: string }) => x.caseId),
    [created[4]!.id],
    'exact name, trimmed',
  );
  res = await api(a, 'auditor1', 'GET', `/api/archive/search?idNumber=${residentId(999)}`);
  t.same(res.json(), { items: [], nextCursor: null, total: 0, totalExact: true });
  res = await api(a, 'auditor1', 'GET', '/api/archive/search?idNumber=110105199001011234');
  t.equal(res.statusCode, 400, 'an impossible ID number is a bad parameter');

  res = await api(a, 'auditor1', 'GET', `/api/archive/search?teller=teller1&branch=${encodeURIComponent('北京分行营业部')}`);
  const want = created
    .filter((c) => c.teller === 'teller1' && c.branch === '北京分行营业部')
    .map((c) => c.id)
    .reverse();
  t.same(
    res.json().items.map((x: { caseId: string }) => x.caseId),
    want,
    'teller + branch, newest first',
  );
  res = await api(a, 'auditor1', 'GET', `/api/archive/search?product=${encodeURIComponent('WM-SALE')}&status=draft`);
  t.equal(res.json().total, created.filter((c) => c.product === 'WM-SALE').length);
  const capped = await archiveRepository.count(a.runtime.ctx.pool, { product: 'WM-SALE' }, 1);
  t.same(capped, { total: 1, exact: false }, 'beyond the cap the total says "more than"');
  t.same(await archiveRepository.count(a.runtime.ctx.pool, { product: 'WM-SALE' }, 1000), { total: created.filter((c) => c.product === 'WM-SALE').length, exact: true });
  res = await api(a, 'auditor1', 'GET', '/api/archive/search?status=approved');
  t.equal(res.json().total, 0);
  res = await api(a, 'auditor1', 'GET', `/api/archive/search?to=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`);
  t.equal(res.json().total, 0, 'time range excludes everything older than now');

  // Keyset pages of 3 over 7, both orders, with the exact total on each page.
  for (const sort of ['created_desc', 'created_asc'] as const) {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/archive/search?limit=3&sort=${sort}${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await api(a, 'auditor1', 'GET', url)).json() as { items: Array<{ caseId: string }>; nextCursor: string | null; total: number };
      t.equal(page.total, 7, `${sort}: total on every page`);
      seen.push(...page.items.map((x) => x.caseId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    const ids = created.map((c) => c.id);
    t.same(seen, sort === 'created_asc' ? ids : [...ids].reverse(), `${sort}: every case once, in order`);
    t.equal(pages, 3);
  }
  const first = (await api(a, 'auditor1', 'GET', '/api/archive/search?limit=3')).json();
  res = await api(a, 'auditor1', 'GET', `/api/archive/search?limit=3&sort=created_asc&cursor=${first.nextCursor}`);
  t.equal(res.statusCode, 400, 'a cursor of another sort order is refused');
  res = await api(a, 'auditor1', 'GET', '/api/archive/search?cursor=bm9wZQ');
  t.equal(res.statusCode, 400);
  t.equal(res.json().error.code, 'KYC_ERR_BAD_PARAMETER');
  res = await api(a, 'auditor1', 'GET', '/api/archive/search?flag=bogus');
  t.equal(res.statusCode, 400);

  const searches = (await a.auditEvents()).filter((e) => e.action === 'archive.search');
  t.ok(searches.length >= 10, 'every search is audited');
  const byId = searches.find((e) => e.details?.idNumberBidx && e.details.total === 1);
  t.match(byId, { actor: { username: 'auditor1' }, details: { idNumberBidx: /^[0-9a-f]{64}$/, total: 1 } });
  t.notMatch(JSON.stringify(searches), created[3]!.idNumber, 'no raw ID number in the audit log');
  t.notMatch(JSON.stringify(searches), created[4]!.name, 'no raw name in the audit log');
});

t.test('a teller gets 403 on every archive endpoint', async (t) => {
  const a = await startTestAppliance(t);
  const c = (await api(a, 'teller1', 'POST', '/api/cases', newCaseBody())).json();
  const rid = randomUUID();
  for (const [method, url, payload] of [
    ['GET', '/api/archive/search'],
    ['GET', `/api/cases/${c.id}/timeline`],
    ['POST', `/api/recordings/${rid}/replay`],
    ['GET', `/api/recordings/${rid}/media/teller?grant=x`],
    ['POST', `/api/cases/${c.id}/review`, { decision: 'approved', comment: 'fine' }],
    ['POST', `/api/cases/${c.id}/reveal`, { field: 'customerName', reason: 'curious' }],
  ] as const) {
    const res = await api(a, 'teller1', method, url, payload);
    t.equal(res.statusCode, 403, `${method} ${url}`);
    t.equal(res.json().error.code, 'KYC_ERR_FORBIDDEN');
  }
  t.equal((await a.auditEvents()).filter((e) => ['pii.reveal', 'case.approve', 'archive.search'].includes(e.action)).length, 0);
});

t.test('maker-checker: the teller completes, another auditor decides, the teller sees it; nobody reviews their own case', async (t) => {
  const a = await startTestAppliance(t);
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 2 });
  t.teardown(() => pool.end());

  const c = (await api(a, 'teller1', 'POST', '/api/cases', newCaseBody())).json();
  let res = await api(a, 'teller1', 'POST', `/api/cases/${c.id}/complete`);
  t.equal(res.statusCode, 409, 'no session yet: cannot complete');
  res = await api(a, 'auditor1', 'POST', `/api/cases/${c.id}/review`, { decision: 'approved', comment: 'ok' });
  t.equal(res.statusCode, 409, 'not completed: cannot review');
  const sessionId = await endSession(pool, c.id, 'teller1');
  res = await api(a, 'teller2', 'POST', `/api/cases/${c.id}/complete`);
  t.equal(res.statusCode, 404, "another teller cannot complete someone's case");
  res = await api(a, 'teller1', 'POST', `/api/cases/${c.id}/complete`);
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json(), { status: 'completed', review: null });
  res = await api(a, 'teller1', 'POST', `/api/cases/${c.id}/complete`);
  t.equal(res.statusCode, 409, 'completing twice');

  res = await api(a, 'auditor1', 'POST', `/api/cases/${c.id}/review`, { decision: 'maybe', comment: 'x' });
  t.equal(res.statusCode, 400);
  res = await api(a, 'auditor1', 'POST', `/api/cases/${c.id}/review`, { decision: 'rejected', comment: '  ' });
  t.equal(res.statusCode, 400, 'a blank comment');
  res = await api(a, 'auditor1', 'POST', `/api/cases/${c.id}/review`, { decision: 'rejected', comment: '风险揭示未完整朗读' });
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json(), { status: 'rejected', review: { decision: 'rejected', comment: '风险揭示未完整朗读', reviewer: 'auditor1' } });
  res = await api(a, 'auditor1', 'POST', `/api/cases/${c.id}/review`, { decision: 'approved', comment: 'changed my mind' });
  t.equal(res.statusCode, 409, 'one decision per case');

  res = await api(a, 'teller1', 'GET', `/api/cases/${c.id}`);
  t.match(res.json(), { status: 'rejected', review: { decision: 'rejected', comment: '风险揭示未完整朗读', reviewer: 'auditor1' } }, 'the teller sees outcome and comment');
  res = await api(a, 'teller1', 'GET', '/api/cases');
  t.match(res.json().items[0], { id: c.id, review: { decision: 'rejected' } });

  // A person holding both roles: may work a case as its teller, may not check it.
  const own = (await api(a, 'teller_auditor1', 'POST', '/api/cases', newCaseBody())).json();
  await endSession(pool, own.id, 'teller_auditor1');
  t.equal((await api(a, 'teller_auditor1', 'POST', `/api/cases/${own.id}/complete`)).statusCode, 200);
  res = await api(a, 'teller_auditor1', 'POST', `/api/cases/${own.id}/review`, { decision: 'approved', comment: 'looks fine to me' });
  t.equal(res.statusCode, 403);
  t.equal(res.json().error.code, 'KYC_ERR_SELF_REVIEW');
  t.equal((await api(a, 'auditor1', 'GET', `/api/cases/${own.id}`)).json().status, 'completed', 'nothing changed');
  res = await api(a, 'teller_auditor1', 'POST', `/api/cases/${c.id}/review`, { decision: 'approved', comment: 'x' });
  t.equal(res.statusCode, 409, "but may check another teller's case (this one is already decided)");
  res = await api(a, 'auditor1', 'POST', `/api/cases/${own.id}/review`, { decision: 'approved', comment: '合规' });
  t.match(res.json(), { status: 'approved', review: { reviewer: 'auditor1' } });

  const events = await a.auditEvents();
  const completes = events.filter((e) => e.action === 'case.complete');
  t.equal(completes.length, 2);
  t.match(
    completes.find((e) => e.object?.id === c.id),
    { actor: { username: 'teller1' }, details: { from: 'in_session' } },
  );
  t.match(
    completes.find((e) => e.object?.id === own.id),
    { actor: { username: 'teller_auditor1' } },
  );
  t.match(
    events.filter((e) => e.action === 'case.reject'),
    [{ actor: { username: 'auditor1' }, object: { id: c.id }, reason: '风险揭示未完整朗读' }],
  );
  t.match(
    events.filter((e) => e.action === 'case.approve'),
    [{ actor: { username: 'auditor1' }, object: { id: own.id } }],
  );
  t.equal(events.filter((e) => e.actor.username === 'teller_auditor1' && e.action.startsWith('case.approve')).length, 0);

  // The timeline gathers the case's objects and their audit events with leaf indexes.
  await a.runtime.auditLog.append({ actor: { username: 'system', roles: [], auth: 'system' }, action: 'session.end', object: { type: 'session', id: sessionId }, result: 'success' });
  await pool.query(`INSERT INTO session_events (session_id, party, kind, data) VALUES ($1, 'teller', 'join', '{}')`, [sessionId]);
  res = await api(a, 'auditor1', 'GET', `/api/cases/${c.id}/timeline`);
  t.equal(res.statusCode, 200, res.body);
  const tl = res.json();
  t.match(tl, {
    case: { id: c.id, status: 'rejected', customerIdNumber: /\*/ },
    invitations: [{ codeAttempts: 2, step: 'ended' }],
    sessions: [{ id: sessionId, state: 'ended', events: [{ kind: 'join' }], recording: null }],
  });
  const actions = tl.auditEvents.map((e: { action: string }) => e.action);
  t.ok(
    ['case.create', 'case.complete', 'case.reject'].every((x) => actions.includes(x)),
    `case events present: ${actions.join(', ')}`,
  );
  const idx = tl.auditEvents.map((e: { leafIndex: number }) => e.leafIndex);
  t.same(
    idx,
    [...idx].sort((x: number, y: number) => x - y),
    'in leaf order',
  );
  const leaf = tl.auditEvents[0];
  t.equal(JSON.parse(leaf.leaf).action, leaf.action, 'the leaf bytes are the event');
  const types = new Set(tl.auditEvents.map((e: { objectType: string }) => e.objectType));
  t.ok(types.has('case') && types.has('session'), `events of the case and of its session, in one query (${[...types].join(', ')})`);
  t.same(tl.truncated, { sessionEvents: false, auditEvents: false, qualityIncidents: false }, 'nothing left out');
  res = await api(a, 'auditor1', 'GET', `/api/cases/${randomUUID()}/timeline`);
  t.equal(res.statusCode, 404);

  // Bounded: a session with more events than the timeline holds lists the first ones and says so.
  await pool.query(`INSERT INTO session_events (session_id, party, kind, data) SELECT $1, 'customer', 'marker', jsonb_build_object('n', n) FROM generate_series(1, $2) n`, [
    sessionId,
    TIMELINE_MAX_SESSION_EVENTS + 10,
  ]);
  res = await api(a, 'auditor1', 'GET', `/api/cases/${c.id}/timeline`);
  t.equal(res.statusCode, 200);
  const big = res.json();
  t.equal(big.sessions[0].events.length, TIMELINE_MAX_SESSION_EVENTS, 'the first events, up to the bound');
  t.equal(big.sessions[0].events[0].kind, 'join', 'in time order from the start');
  t.same(big.truncated, { sessionEvents: true, auditEvents: false, qualityIncidents: false }, 'and the timeline says it stops there');
});

t.test('reveal: one field, with a reason, time-limited, audited without the value', async (t) => {
  const a = await startTestAppliance(t);
  const body = newCaseBody({ bankCard: null });
  const c = (await api(a, 'teller1', 'POST', '/api/cases', body)).json();
  let res = await api(a, 'auditor1', 'POST', `/api/cases/${c.id}/reveal`, { field: 'customerIdNumber', reason: 'identity dispute' });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().value, body.customerIdNumber);
  const ttl = new Date(res.json().expiresAt).getTime() - Date.now();
  t.ok(ttl > 0 && ttl <= 60_000, 'expires within a minute');
  res = await api(a, 'auditor1', 'POST', `/api/cases/${c.id}/reveal`, { field: 'customerIdNumber' });
  t.equal(res.statusCode, 400, 'no reason');
  res = await api(a, 'auditor1', 'POST', `/api/cases/${c.id}/reveal`, { field: 'customer_id_enc', reason: 'identity dispute' });
  t.equal(res.statusCode, 400, 'unknown field');
  res = await api(a, 'auditor1', 'POST', `/api/cases/${c.id}/reveal`, { field: 'bankCard', reason: 'identity dispute' });
  t.equal(res.statusCode, 404, 'no bank card on this case');
  const reveals = (await a.auditEvents()).filter((e) => e.action === 'pii.reveal');
  t.equal(reveals.length, 1, 'only the successful reveal is in the log');
  t.match(reveals[0], { actor: { username: 'auditor1' }, object: { type: 'case', id: c.id }, reason: 'identity dispute', details: { field: 'customerIdNumber' } });
  t.notMatch(JSON.stringify(reveals), String(body.customerIdNumber), 'the value is not in the log');
});

t.test(
  'review text follows the audit event’s text rule: newlines and the longest comment are accepted, what the event refuses is a 400; reject reasons with mandatory prompting notes (R18), audited and shown',
  async (t) => {
    const a = await startTestAppliance(t);
    const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 2 });
    t.teardown(() => pool.end());
    const completed = async (): Promise<string> => {
      const c = (await api(a, 'teller1', 'POST', '/api/cases', newCaseBody())).json();
      await endSession(pool, c.id, 'teller1');
      t.equal((await api(a, 'teller1', 'POST', `/api/cases/${c.id}/complete`)).statusCode, 200);
      return c.id;
    };
    const review = (id: string, body: Record<string, unknown>) => api(a, 'auditor1', 'POST', `/api/cases/${id}/review`, body);

    // Refused before anything changes: control characters, lone surrogates, longer than the event allows.
    const one = await completed();
    for (const [comment, why] of [
      ['bell\u0007', 'a control character'],
      ['a\r\nb', 'a carriage return'],
      ['x\ud800y', 'a lone surrogate'],
      ['x'.repeat(1500), '1,500 characters'],
      ['😀'.repeat(1025), 'one code point over the limit'],
    ] as const) {
      const res = await review(one, { decision: 'rejected', comment });
      t.equal(res.statusCode, 400, `${why}: ${res.body.slice(0, 120)}`);
      t.equal(res.json().error.code, 'KYC_ERR_VALIDATION', why);
    }
    const rules: Array<[Record<string, unknown>, string]> = [
      [{ decision: 'rejected', comment: 'x', rejectReasons: ['prompting_observed'] }, 'prompting observed without notes'],
      [{ decision: 'rejected', comment: 'x', rejectReasons: ['prompting_observed'], promptingNotes: ' \n ' }, 'blank notes'],
      [{ decision: 'rejected', comment: 'x', rejectReasons: ['other'], promptingNotes: 'who prompted' }, 'notes without prompting observed'],
      [{ decision: 'approved', comment: 'x', rejectReasons: ['other'] }, 'reasons on an approval'],
      [{ decision: 'rejected', comment: 'x', rejectReasons: ['other', 'other'] }, 'a reason twice'],
      [{ decision: 'rejected', comment: 'x', rejectReasons: ['bogus'] }, 'an unknown reason'],
    ];
    for (const [body, why] of rules) {
      const res = await review(one, body);
      t.equal(res.statusCode, 400, `${why}: ${res.body.slice(0, 120)}`);
    }
    t.equal((await api(a, 'auditor1', 'GET', `/api/cases/${one}`)).json().status, 'completed', 'nothing changed');

    // A multi-line comment: 200, stored and audited as written.
    let res = await review(one, { decision: 'rejected', comment: 'line 1\nline 2\n\tindented' });
    t.equal(res.statusCode, 200, res.body);
    t.match(res.json(), { status: 'rejected', review: { comment: 'line 1\nline 2\n\tindented', rejectReasons: [], promptingNotes: null } });

    // The longest comment (4-byte characters) with the longest notes and every reason still fits one audit event.
    const two = await completed();
    const comment = '😀'.repeat(1024);
    const notes = '👀'.repeat(500);
    const reasons = ['prompting_observed', 'identity_mismatch', 'document_unreadable', 'media_incomplete', 'script_incomplete', 'other'];
    res = await review(two, { decision: 'rejected', comment, rejectReasons: reasons, promptingNotes: notes });
    t.equal(res.statusCode, 200, res.body.slice(0, 200));

    // R18: prompting observed, with notes: kept, audited, shown to the auditor.
    const three = await completed();
    res = await review(three, {
      decision: 'rejected',
      comment: '客户被旁人提示',
      rejectReasons: ['prompting_observed', 'other'],
      promptingNotes: 'a voice off camera read the answers\nat 02:10',
    });
    t.equal(res.statusCode, 200, res.body);
    res = await api(a, 'auditor1', 'GET', `/api/cases/${three}`);
    t.match(res.json().review, { decision: 'rejected', rejectReasons: ['prompting_observed', 'other'], promptingNotes: 'a voice off camera read the answers\nat 02:10' });
    const events = (await a.auditEvents()).filter((e) => e.action === 'case.reject');
    t.equal(events.length, 3, 'every rejection audited');
    t.match(
      events.find((e) => e.object?.id === one),
      { reason: 'line 1\nline 2\n\tindented' },
    );
    t.match(
      events.find((e) => e.object?.id === two),
      { reason: comment, details: { rejectReasons: reasons.join(','), promptingNotes: notes } },
    );
    t.match(
      events.find((e) => e.object?.id === three),
      { details: { rejectReasons: 'prompting_observed,other', promptingNotes: 'a voice off camera read the answers\nat 02:10' } },
    );
  },
);

t.test('timeline pages: limit and after page through the session events and audit events; without them the whole timeline; bad input is a 400', async (t) => {
  const a = await startTestAppliance(t);
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 2 });
  t.teardown(() => pool.end());
  const c = (await api(a, 'teller1', 'POST', '/api/cases', newCaseBody())).json();
  const sessionId = await endSession(pool, c.id, 'teller1');
  // seven events, two of them at the same instant (the keyset runs on time and id)
  await pool.query(
    `INSERT INTO session_events (session_id, party, kind, data, at)
     SELECT $1, 'customer', 'marker', jsonb_build_object('n', n), now() - interval '1 minute' + least(n, 6) * interval '1 millisecond' FROM generate_series(1, 7) n`,
    [sessionId],
  );
  await a.runtime.auditLog.append({ actor: { username: 'system', roles: [], auth: 'system' }, action: 'session.end', object: { type: 'session', id: sessionId }, result: 'success' });
  // more audit events of the case than one page holds: three views of its call quality
  for (let i = 0; i < 3; i++) t.equal((await api(a, 'auditor1', 'GET', `/api/cases/${c.id}/quality`)).statusCode, 200);
  await a.auditEvents();

  let res = await api(a, 'auditor1', 'GET', `/api/cases/${c.id}/timeline`);
  t.equal(res.statusCode, 200, res.body);
  const whole = res.json();
  t.notOk('nextCursor' in whole, 'the whole timeline has no cursor (the answer as before pages existed)');
  const allEvents = whole.sessions[0].events.map((e: { id: string }) => e.id);
  t.equal(allEvents.length, 7);
  const allAudit = whole.auditEvents.map((e: { leafIndex: number }) => e.leafIndex);
  t.ok(allAudit.length >= 5, `the case's audit events (${allAudit.length}), more than a page`);

  const pagedEvents: string[] = [];
  const pagedAudit: number[] = [];
  let after: string | null = null;
  let pages = 0;
  do {
    res = await api(a, 'auditor1', 'GET', `/api/cases/${c.id}/timeline?limit=3${after ? `&after=${after}` : ''}`);
    t.equal(res.statusCode, 200, res.body);
    const page = res.json();
    t.ok(page.sessions[0].events.length <= 3 && page.auditEvents.length <= 3, 'at most limit of each');
    t.match(page, { case: { id: c.id }, invitations: [{ codeAttempts: 2 }], sessions: [{ id: sessionId }] }, 'every page carries the case and its sessions');
    pagedEvents.push(...page.sessions[0].events.map((e: { id: string }) => e.id));
    pagedAudit.push(...page.auditEvents.map((e: { leafIndex: number }) => e.leafIndex));
    t.equal(page.nextCursor !== null, page.truncated.sessionEvents || page.truncated.auditEvents, 'a cursor exactly while something is left');
    after = page.nextCursor;
    pages++;
  } while (after && pages < 50);
  t.equal(after, null, 'the pages end');
  t.same(pagedEvents, allEvents, 'the session events once each, in time order');
  t.same(
    pagedAudit,
    [...new Set(pagedAudit)].sort((x, y) => x - y),
    'the audit events once each, in leaf order',
  );
  t.ok(
    allAudit.every((i: number) => pagedAudit.includes(i)),
    'every audit event of the whole timeline is on a page',
  );

  // Bad input: a stable 400 naming the parameter, nothing read.
  const garbage = Buffer.from('{"v":1,"e":["yesterday","1"]}').toString('base64url');
  const foreignAudit = Buffer.from('{"v":1,"a":"bm90LWEtY3Vyc29y"}').toString('base64url');
  const feb30 = Buffer.from('{"v":1,"e":["2024-02-30T00:00:00.000000Z","1"]}').toString('base64url');
  for (const [query, why] of [
    ['limit=0', 'a limit of 0'],
    ['limit=5001', 'a limit over the bound'],
    ['limit=many', 'a limit that is no number'],
    ['after=not%20base64', 'a cursor of other characters'],
    [`after=${Buffer.from('not json').toString('base64url')}`, 'a cursor that is no JSON'],
    [`after=${garbage}`, 'a cursor with a bad event key'],
    [`after=${foreignAudit}`, 'a cursor the audit log does not accept'],
    [`after=${feb30}`, 'a cursor at a day that does not exist'],
  ] as const) {
    res = await api(a, 'auditor1', 'GET', `/api/cases/${c.id}/timeline?${query}`);
    t.equal(res.statusCode, 400, `${why}: ${res.body.slice(0, 160)}`);
    t.equal(res.json().error.code, 'KYC_ERR_BAD_PARAMETER', why);
  }
});
