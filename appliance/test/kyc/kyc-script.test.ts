import t from 'tap';
import pg from 'pg';
import { newCaseBody, startTestAppliance, type TestAppliance } from '../helpers/appliance.js';
import { admitCustomer } from '../helpers/kyc-session.js';

async function headers(a: TestAppliance, user: string) {
  return { authorization: `Bearer ${await a.tokenFor(user)}` };
}

const wmSale = {
  code: 'TEST-FUND',
  nameZh: '测试基金',
  nameEn: 'Test fund',
  retentionYears: 6,
  steps: [
    { id: 'opening', kind: 'read', required: true, title: { 'zh-CN': '开场', en: 'Opening' }, text: { 'zh-CN': '您好', en: 'Hello' } },
    { id: 'risk', kind: 'read', required: true, confirm: true, title: { 'zh-CN': '风险揭示', en: 'Risk' }, text: { 'zh-CN': '有风险', en: 'Risky' } },
  ],
};

t.test('catalogue: admins create and edit products into versions with a diff; everything audited; bad input changes nothing', async (t) => {
  const a = await startTestAppliance(t);
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const [admin, teller, auditor] = [await headers(a, 'admin1'), await headers(a, 'teller1'), await headers(a, 'auditor1')];

  const list = await a.app.inject({ method: 'GET', url: '/api/products', headers: teller });
  t.equal(list.statusCode, 200);
  t.same(
    list
      .json()
      .items.map((p: { code: string }) => p.code)
      .sort(),
    ['ACCT-OPEN', 'VIDEO-WITNESS', 'WM-SALE'],
    'seeded products',
  );
  const acct = list.json().items.find((p: { code: string }) => p.code === 'ACCT-OPEN');
  t.same(
    acct.steps.map((s: { kind: string }) => s.kind),
    ['read', 'id-capture', 'face-match', 'liveness', 'question', 'read-aloud', 'read'],
  );

  t.equal((await a.app.inject({ method: 'POST', url: '/api/admin/products', headers: teller, payload: wmSale })).statusCode, 403, 'tellers cannot add products');
  const versionsBefore = Number((await su.query('SELECT count(*) FROM product_versions')).rows[0].count);
  for (const [why, body] of [
    ['duplicate step ids', { ...wmSale, steps: [wmSale.steps[0], wmSale.steps[0]] }],
    ['question without pool', { ...wmSale, steps: [{ id: 'q', kind: 'question', required: true, title: { 'zh-CN': '问', en: 'Q' } }] }],
    [
      'draw beyond the pool',
      { ...wmSale, steps: [{ id: 'q', kind: 'question', required: true, title: { 'zh-CN': '问', en: 'Q' }, pool: [{ id: 'a', text: { 'zh-CN': '甲', en: 'A' } }], draw: 2 }] },
    ],
    ['read-aloud of 3 digits', { ...wmSale, steps: [{ id: 'r', kind: 'read-aloud', required: true, title: { 'zh-CN': '读', en: 'R' }, digits: 3 }] }],
    ['unknown kind', { ...wmSale, steps: [{ id: 'x', kind: 'dance', required: true, title: { 'zh-CN': '跳', en: 'D' } }] }],
    ['lower-case code', { ...wmSale, code: 'fund' }],
    ['no English text', { ...wmSale, steps: [{ ...wmSale.steps[0], text: { 'zh-CN': '您好' } }] }],
  ] as const) {
    const res = await a.app.inject({ method: 'POST', url: '/api/admin/products', headers: admin, payload: body as object });
    t.equal(res.statusCode, 400, why);
    t.match(res.json().error.code, /^KYC_ERR_(VALIDATION)$/, why);
  }
  t.equal(Number((await su.query('SELECT count(*) FROM product_versions')).rows[0].count), versionsBefore, 'nothing stored');

  const created = await a.app.inject({ method: 'POST', url: '/api/admin/products', headers: admin, payload: wmSale });
  t.equal(created.statusCode, 201, created.body);
  t.match(created.json(), { code: 'TEST-FUND', version: 1, createdBy: 'admin1', requiresGeolocation: false });
  const again = await a.app.inject({ method: 'POST', url: '/api/admin/products', headers: admin, payload: wmSale });
  t.equal(again.statusCode, 409);
  t.equal(again.json().error.code, 'KYC_ERR_PRODUCT_EXISTS');

  // A case opened now keeps version 1 after the edit.
  const c1 = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody({ product: 'TEST-FUND' }) });
  t.equal(c1.statusCode, 201, c1.body);
  t.match(c1.json(), { product: 'TEST-FUND', productVersion: 1, branch: '北京分行营业部' });

  const edited = {
    ...wmSale,
    retentionYears: 10,
    steps: [
      wmSale.steps[1],
      { ...wmSale.steps[0], text: { 'zh-CN': '您好！', en: 'Hello!' } },
      { id: 'code', kind: 'read-aloud', required: true, title: { 'zh-CN': '读码', en: 'Code' }, digits: 4 },
    ],
  };
  const unchanged = await a.app.inject({ method: 'PUT', url: '/api/admin/products/TEST-FUND', headers: admin, payload: wmSale });
  t.equal(unchanged.statusCode, 409, 'an edit that changes nothing makes no version');
  const put = await a.app.inject({ method: 'PUT', url: '/api/admin/products/TEST-FUND', headers: admin, payload: edited });
  t.equal(put.statusCode, 200, put.body);
  t.equal(put.json().product.version, 2);
  const changes = put.json().diff.changes as Array<{ change: string; path: string; before: unknown; after: unknown }>;
  t.same(
    changes.find((c) => c.path === 'retentionYears'),
    { change: 'changed', path: 'retentionYears', before: 6, after: 10 },
  );
  t.ok(
    changes.find((c) => c.change === 'added' && c.path === 'steps.code'),
    'added step',
  );
  t.ok(
    changes.find((c) => c.change === 'moved' && c.path === 'steps.opening'),
    'moved step',
  );
  t.same(
    changes.find((c) => c.path === 'steps.opening.text'),
    { change: 'changed', path: 'steps.opening.text', before: { 'zh-CN': '您好', en: 'Hello' }, after: { 'zh-CN': '您好！', en: 'Hello!' } },
  );
  const diff = await a.app.inject({ method: 'GET', url: '/api/admin/products/TEST-FUND/diff?from=1&to=2', headers: auditor });
  t.same(diff.json().changes, changes, 'the stored diff is the same');
  t.equal((await a.app.inject({ method: 'GET', url: '/api/admin/products/TEST-FUND/diff?from=1&to=2', headers: teller })).statusCode, 403);
  t.equal((await a.app.inject({ method: 'PUT', url: '/api/admin/products/TEST-FUND', headers: admin, payload: { ...edited, code: 'OTHER' } })).statusCode, 400);

  t.equal((await a.app.inject({ method: 'GET', url: `/api/cases/${c1.json().id}`, headers: teller })).json().productVersion, 1, 'the case keeps its version');
  const c2 = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody({ product: 'TEST-FUND' }) });
  t.equal(c2.json().productVersion, 2, 'a new case takes the current version');
  const kyc1 = await a.app.inject({ method: 'GET', url: `/api/cases/${c1.json().id}/kyc`, headers: teller });
  t.same(
    kyc1.json().steps.map((s: { id: string }) => s.id),
    ['opening', 'risk'],
  );
  const versions = await a.app.inject({ method: 'GET', url: '/api/products/TEST-FUND/versions', headers: auditor });
  t.same(
    versions.json().items.map((v: { version: number }) => v.version),
    [1, 2],
  );

  const unknown = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody({ product: 'NO-SUCH' }) });
  t.equal(unknown.statusCode, 201, 'a product outside the catalogue opens a case without a script');
  t.equal(unknown.json().productVersion, null);
  const legacyKyc = await a.app.inject({ method: 'GET', url: `/api/cases/${unknown.json().id}/kyc`, headers: teller });
  t.same(legacyKyc.json().steps, [], 'no script steps');
  const otherBranch = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody({ branch: '上海分行营业部' }) });
  t.equal(otherBranch.statusCode, 201);
  t.not(otherBranch.json().branch, '上海分行营业部', "the identity's branch wins over a typed one");

  const events = await a.auditEvents();
  t.ok(events.find((e) => e.action === 'product.create' && e.object?.id === 'TEST-FUND' && e.actor.username === 'admin1'));
  t.ok(events.find((e) => e.action === 'product.update' && e.details?.['version'] === 2));
});

t.test('a case script: random draws recorded (R6), order enforced, confirmation by the customer, redo kept, markers, gate', async (t) => {
  const a = await startTestAppliance(t);
  const teller = await headers(a, 'teller1');
  const auditor = await headers(a, 'auditor1');

  // Draws differ between cases: 5 questions, 3 drawn in order → 60 sequences; 8 cases all alike is ~1e-14.
  const sequences = new Set<string>();
  const codes = new Set<string>();
  let caseId = '';
  for (let i = 0; i < 8; i++) {
    const c = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody({ product: 'WM-SALE' }) });
    caseId = c.json().id;
    const kyc = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/kyc`, headers: teller })).json();
    const q = kyc.steps.find((s: { kind: string }) => s.kind === 'question');
    t.equal(q.questions.length, 3);
    t.equal(new Set(q.questions.map((x: { id: string }) => x.id)).size, 3, 'three different questions');
    sequences.add(q.questions.map((x: { id: string }) => x.id).join(','));
    const code = kyc.steps.find((s: { kind: string }) => s.kind === 'read-aloud').code as string;
    t.match(code, /^[1-9]\d{5}$/, 'a 6-digit code');
    codes.add(code);
  }
  t.ok(sequences.size > 1, `question sequences differ between sessions (${sequences.size} distinct of 8)`);
  t.ok(codes.size > 1, 'codes differ');

  const url = (step: string) => `/api/cases/${caseId}/kyc/steps/${step}/complete`;
  const notLive = await a.app.inject({ method: 'POST', url: url('opening'), headers: teller, payload: {} });
  t.equal(notLive.statusCode, 409);
  t.equal(notLive.json().error.code, 'KYC_ERR_SESSION_NOT_LIVE');

  const { sessionId, token, cookies } = await admitCustomer(a, teller, caseId);
  const unknown = await a.app.inject({ method: 'POST', url: url('no-such-step'), headers: teller, payload: {} });
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().error.code, 'KYC_ERR_STEP_UNKNOWN');
  const skip = await a.app.inject({ method: 'POST', url: url('product-explanation'), headers: teller, payload: {} });
  t.equal(skip.statusCode, 409, 'a later required step before the earlier ones is refused');
  t.equal(skip.json().error.code, 'KYC_ERR_STEP_ORDER');
  t.same(
    skip.json().error.details.map((d: { field: string }) => d.field),
    ['opening', 'risk-disclosure'],
  );
  t.equal((await a.app.inject({ method: 'POST', url: url('opening'), headers: await headers(a, 'teller2'), payload: {} })).statusCode, 404, "another teller's case");

  // opening needs the customer's confirmation: the teller's "done" asks for it.
  const ask = await a.app.inject({ method: 'POST', url: url('opening'), headers: teller, payload: {} });
  t.equal(ask.statusCode, 200, ask.body);
  t.match(ask.json(), { stepId: 'opening', status: 'awaiting-confirmation', attemptId: null });
  const customerView = await a.app.inject({ method: 'GET', url: `/api/sessions/${sessionId}/kyc?invitation=${token}`, cookies });
  t.equal(customerView.statusCode, 200, customerView.body);
  t.equal(customerView.json().recording, true);
  t.same(
    customerView.json().prompts.map((p: { stepId: string }) => p.stepId),
    ['opening'],
  );
  const confirmationId = customerView.json().prompts[0].confirmationId as string;
  t.equal((await a.app.inject({ method: 'GET', url: `/api/sessions/${sessionId}/kyc?invitation=${token}` })).statusCode, 404, 'not from another browser');
  t.equal(
    (await a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/kyc/confirm`, headers: teller, payload: { confirmationId } })).statusCode,
    403,
    'the teller cannot tap for the customer',
  );
  const tap = await a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/kyc/confirm?invitation=${token}`, cookies, payload: { confirmationId } });
  t.equal(tap.statusCode, 200, tap.body);
  t.match(tap.json(), { stepId: 'opening', status: 'done' });
  t.equal(
    (await a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/kyc/confirm?invitation=${token}`, cookies, payload: { confirmationId } })).statusCode,
    404,
    'a tap counts once',
  );

  // Redo: the opening again; both attempts kept.
  await a.app.inject({ method: 'POST', url: url('opening'), headers: teller, payload: {} });
  const second = (await a.app.inject({ method: 'GET', url: `/api/sessions/${sessionId}/kyc?invitation=${token}`, cookies })).json().prompts[0].confirmationId;
  t.equal((await a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/kyc/confirm?invitation=${token}`, cookies, payload: { confirmationId: second } })).statusCode, 200);

  for (const step of ['risk-disclosure', 'product-explanation', 'suitability', 'customer-confirmation', 'read-aloud']) {
    const res = await a.app.inject({ method: 'POST', url: url(step), headers: teller, payload: { note: `${step} ok` } });
    t.equal(res.statusCode, 200, `${step}: ${res.body}`);
    if (res.json().status === 'awaiting-confirmation') {
      const tapIt = await a.app.inject({
        method: 'POST',
        url: `/api/sessions/${sessionId}/kyc/confirm?invitation=${token}`,
        cookies,
        payload: { confirmationId: res.json().confirmationId },
      });
      t.equal(tapIt.statusCode, 200, `${step} confirmed`);
    }
    if (step === 'customer-confirmation') {
      const v = (await a.app.inject({ method: 'GET', url: `/api/sessions/${sessionId}/kyc?invitation=${token}`, cookies })).json();
      t.match(v.readAloud, { stepId: 'read-aloud', code: /^\d{6}$/ }, 'the customer sees the code to read once it is the current step');
    }
  }

  const kyc = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/kyc`, headers: auditor })).json();
  const opening = kyc.steps.find((s: { id: string }) => s.id === 'opening');
  t.equal(opening.attempts.length, 2, 'a redo keeps both attempts');
  t.match(opening.attempts[0], { party: 'customer', result: { confirmed: true, tappedAt: String, requestedBy: 'teller1' } });
  t.ok(kyc.steps.every((s: { status: string; completedAt: string | null; offsetMs: number | null }) => s.status === 'done' && s.completedAt && typeof s.offsetMs === 'number'));
  t.same(kyc.missing, [{ id: 'recording', kind: 'sealed' }], 'only the sealed recording is missing');
  t.same(kyc.idDocument, { front: null, back: null });

  // The gate: the session still has no sealed recording.
  await a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/hangup`, headers: teller });
  const complete = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/complete`, headers: teller });
  t.equal(complete.statusCode, 409);
  t.equal(complete.json().error.code, 'KYC_ERR_STEPS_MISSING');
  t.same(complete.json().error.details, [{ field: 'recording', code: 'sealed' }]);

  const events = await a.auditEvents();
  const completed = events.filter((e) => e.action === 'kyc.step.completed' && e.object?.id === caseId);
  t.equal(completed.length, 7, 'every completion audited (6 steps + 1 redo)');
  t.ok(
    completed.some((e) => e.actor.auth === 'invitation' && e.details?.['stepId'] === 'opening'),
    "the customer's tap is the customer's event",
  );
  t.ok(events.some((e) => e.action === 'kyc.confirm.requested'));

  // Markers in the session's events, one per attempt, for the seal to put into the manifest.
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const markers = await su.query(`SELECT party, data FROM session_events WHERE session_id = $1 AND kind = 'kyc.step' ORDER BY id`, [sessionId]);
  t.equal(markers.rows.length, 7);
  t.same(
    markers.rows.slice(0, 2).map((r) => [r.party, r.data.stepId, r.data.attempt]),
    [
      ['customer', 'opening', 1],
      ['customer', 'opening', 2],
    ],
  );
});

t.test('a case whose script is not done cannot be completed; the refusal lists the steps', async (t) => {
  const a = await startTestAppliance(t);
  const teller = await headers(a, 'teller1');
  const c = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody({ product: 'ACCT-OPEN' }) });
  const caseId = c.json().id as string;
  const { sessionId } = await admitCustomer(a, teller, caseId);
  const identity = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/kyc/steps/id-capture/complete`, headers: teller, payload: {} });
  t.equal(identity.statusCode, 409, 'identity steps are completed by their checks, not by a click');
  await a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/hangup`, headers: teller });
  const res = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/complete`, headers: teller });
  t.equal(res.statusCode, 409);
  t.equal(res.json().error.code, 'KYC_ERR_STEPS_MISSING');
  t.same(res.json().error.details, [
    { field: 'opening', code: 'read' },
    { field: 'id-capture', code: 'id-capture' },
    { field: 'face-match', code: 'face-match' },
    { field: 'liveness', code: 'liveness' },
    { field: 'security-questions', code: 'question' },
    { field: 'read-serial', code: 'read-aloud' },
    { field: 'account-terms', code: 'read' },
    { field: 'geolocation', code: 'granted' },
    { field: 'recording', code: 'sealed' },
  ]);
  t.equal((await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}`, headers: teller })).json().status, 'in_session', 'nothing changed');
});

t.test('geolocation with consent, refusal recorded; shown to the auditor', async (t) => {
  const a = await startTestAppliance(t);
  const teller = await headers(a, 'teller1');
  const c = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody({ product: 'ACCT-OPEN' }) });
  const caseId = c.json().id as string;
  const { sessionId, token, cookies } = await admitCustomer(a, teller, caseId);
  const geo = (payload: object) => a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/geolocation?invitation=${token}`, cookies, payload });
  t.equal((await geo({ consent: 'granted' })).statusCode, 400, 'consent without coordinates');
  t.equal((await geo({ consent: 'refused', latitude: 1, longitude: 2 })).statusCode, 400, 'coordinates without consent');
  t.equal((await geo({ consent: 'granted', latitude: 91, longitude: 2 })).statusCode, 400, 'latitude out of range');
  t.equal((await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/kyc`, headers: teller })).json().geolocation, null, 'nothing stored');
  t.equal((await geo({ consent: 'refused' })).statusCode, 201);
  t.match((await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/kyc`, headers: teller })).json().geolocation, { consent: 'refused', latitude: null });
  const ok = await geo({ consent: 'granted', latitude: 39.9087, longitude: 116.3975, accuracy: 25, capturedAt: new Date().toISOString() });
  t.equal(ok.statusCode, 201, ok.body);
  const view = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/kyc`, headers: await headers(a, 'auditor1') })).json();
  t.match(view.geolocation, { consent: 'granted', latitude: 39.9087, longitude: 116.3975, accuracyM: 25, receivedAt: String });
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const stored = await su.query('SELECT coords_enc FROM case_geolocations WHERE consent = $1', ['granted']);
  t.notOk(stored.rows[0].coords_enc.toString('latin1').includes('39.9087'), 'coordinates encrypted at rest');
  const ev = await su.query(`SELECT data, text_enc FROM session_events WHERE session_id = $1 AND kind = 'geolocation' ORDER BY id`, [sessionId]);
  t.same(
    ev.rows.map((r) => r.data.consent),
    ['refused', 'granted'],
    'both marked in the session for the manifest',
  );
  t.notOk(
    JSON.stringify(ev.rows[1].data).includes('39.9087') || JSON.stringify(ev.rows[1].data).includes('116.3975'),
    'the marker (sealed into the manifest, kept in the database) holds no coordinates',
  );
  t.match(ev.rows[1].data, { consent: 'granted', geolocationId: String, accuracyM: 25, receivedAt: String });
  t.ok(Buffer.isBuffer(ev.rows[1].text_enc) && !ev.rows[1].text_enc.toString('latin1').includes('39.9087'), 'the coordinates of the marker are encrypted');
  t.equal(ev.rows[0].text_enc, null, 'a refusal has no coordinates to encrypt');
  // the auditor's timeline shows them decrypted; an admin has no way to it
  const timeline = await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/timeline`, headers: await headers(a, 'auditor1') });
  t.equal(timeline.statusCode, 200, 'the auditor reads the timeline');
  const shown = timeline
    .json()
    .sessions.flatMap((s: { events: Array<{ kind: string; data: Record<string, unknown> }> }) => s.events)
    .filter((e: { kind: string }) => e.kind === 'geolocation');
  t.match(
    shown.map((e: { data: Record<string, unknown> }) => e.data),
    [{ consent: 'refused' }, { consent: 'granted', latitude: 39.9087, longitude: 116.3975 }],
    'decrypted for the auditor',
  );
  t.equal((await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/timeline`, headers: await headers(a, 'admin1') })).statusCode, 403, 'not for admins');
  t.equal((await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/kyc`, headers: await headers(a, 'admin1') })).statusCode, 403, 'nor the KYC view');
  const missing = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/kyc`, headers: teller })).json().missing as Array<{ id: string }>;
  t.notOk(
    missing.some((x) => x.id === 'geolocation'),
    'the product requires the location: given, it is no longer missing',
  );
  t.equal((await geo({ consent: 'refused' })).statusCode, 201);
  const after = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/kyc`, headers: teller })).json().missing as Array<{ id: string }>;
  t.ok(
    after.some((x) => x.id === 'geolocation'),
    'refused last: the required location is missing again',
  );
});

t.test("the KYC view: the teller's polling of their own case is audited once per sign-in; every auditor read is audited", async (t) => {
  const a = await startTestAppliance(t);
  const teller = await headers(a, 'teller1');
  const c = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody({ product: 'ACCT-OPEN' }) });
  const caseId = c.json().id as string;
  await admitCustomer(a, teller, caseId);
  const views = async () => (await a.auditEvents()).filter((e) => e.action === 'case.kyc.view' && e.object?.id === caseId);
  const read = async (h: Record<string, string>) => t.equal((await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/kyc`, headers: h })).statusCode, 200);
  for (let i = 0; i < 5; i++) await read(teller);
  const tellerViews = await views();
  t.equal(tellerViews.length, 1, 'five polls of the panel: one event');
  t.match(tellerViews[0], { actor: { username: 'teller1' }, details: { ownCase: true, signIn: /^[0-9a-f]{32}$/ } });
  // a second sign-in (a new token from the identity provider) is a new event
  const res = await fetch(`${a.idp.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', client_id: 'kyc-cli', username: 'teller1', password: 'teller1', scope: 'openid' }),
  });
  const again = { authorization: `Bearer ${((await res.json()) as { access_token: string }).access_token}` };
  await read(again);
  await read(again);
  t.equal((await views()).length, 2, 'a new sign-in session: one more event');
  const auditor = await headers(a, 'auditor1');
  await read(auditor);
  await read(auditor);
  const byAuditor = (await views()).filter((e) => e.actor.username === 'auditor1');
  t.equal(byAuditor.length, 2, "every auditor read of the customer's data is audited");
  t.match(byAuditor[0], { details: { ownCase: false } });
});
