import t from 'tap';
import pg from 'pg';
import { newCaseBody, startTestAppliance } from '../helpers/appliance.js';

t.test('cases API through real tokens, database and audit log', async (t) => {
  const a = await startTestAppliance(t);
  const teller1 = await a.tokenFor('teller1');
  const teller2 = await a.tokenFor('teller2');
  const auditor1 = await a.tokenFor('auditor1');
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const caseCount = async () => (await su.query('SELECT count(*)::int AS n FROM cases')).rows[0].n as number;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  t.test('GET /api/me shows the user and roles from the token', async (t) => {
    const res = await a.app.inject({ method: 'GET', url: '/api/me', headers: bearer(teller1) });
    t.equal(res.statusCode, 200);
    t.same(res.json(), { username: 'teller1', roles: ['teller'], branch: '北京分行营业部', csrfToken: null }, 'the branch comes from the identity');
  });

  t.test('refusals change nothing', async (t) => {
    const anon = await a.app.inject({ method: 'POST', url: '/api/cases', payload: newCaseBody() });
    t.equal(anon.statusCode, 401);
    t.equal(anon.json().error.code, 'KYC_ERR_UNAUTHENTICATED');
    const auditor = await a.app.inject({ method: 'POST', url: '/api/cases', headers: bearer(auditor1), payload: newCaseBody() });
    t.equal(auditor.statusCode, 403);
    t.equal(auditor.json().error.code, 'KYC_ERR_FORBIDDEN');
    const malformed = await a.app.inject({
      method: 'POST',
      url: '/api/cases',
      headers: { ...bearer(teller1), 'content-type': 'application/json' },
      payload: '{"customerName": "张三",',
    });
    t.equal(malformed.statusCode, 400);
    t.equal(malformed.json().error.code, 'KYC_ERR_MALFORMED_BODY');
    const wrongType = await a.app.inject({ method: 'POST', url: '/api/cases', headers: bearer(teller1), payload: newCaseBody({ customerName: 123 }) });
    t.equal(wrongType.statusCode, 400);
    t.equal(wrongType.json().error.code, 'KYC_ERR_VALIDATION');
    t.match(wrongType.json().error.details, [{ field: 'customerName' }]);
    const extra = await a.app.inject({ method: 'POST', url: '/api/cases', headers: bearer(teller1), payload: newCaseBody({ isAdmin: true }) });
    t.equal(extra.statusCode, 400, 'unknown property refused');
    const badId = await a.app.inject({
      method: 'POST',
      url: '/api/cases',
      headers: bearer(teller1),
      payload: newCaseBody({ customerIdNumber: '110105194912310021', bankCard: '4111111111111112' }),
    });
    t.equal(badId.statusCode, 400);
    t.same(
      badId
        .json()
        .error.details.map((d: { field: string }) => d.field)
        .sort(),
      ['bankCard', 'customerIdNumber'],
      'both field errors reported',
    );
    const huge = await a.app.inject({
      method: 'POST',
      url: '/api/cases',
      headers: { ...bearer(teller1), 'content-type': 'application/json' },
      payload: JSON.stringify(newCaseBody({ product: 'x'.repeat(2_000_000) })),
    });
    t.equal(huge.statusCode, 413);
    t.equal(huge.json().error.code, 'KYC_ERR_BODY_TOO_LARGE');
    const text = await a.app.inject({ method: 'POST', url: '/api/cases', headers: { ...bearer(teller1), 'content-type': 'text/plain' }, payload: 'hello' });
    t.equal(text.statusCode, 415);
    t.equal(await caseCount(), 0, 'nothing was written');
  });

  t.test('a teller creates a case; PII is masked; other tellers cannot see it', async (t) => {
    const created = await a.app.inject({ method: 'POST', url: '/api/cases', headers: bearer(teller1), payload: newCaseBody() });
    t.equal(created.statusCode, 201);
    const c = created.json();
    t.match(c, {
      status: 'draft',
      teller: 'teller1',
      customerName: '张*',
      customerIdNumber: '110***********002X',
      customerPhone: '138****5678',
      bankCard: '4111********1111',
    });
    const stored = (await su.query('SELECT * FROM cases WHERE id = $1', [c.id])).rows[0];
    t.notOk(JSON.stringify(stored).includes('11010519491231002X'), 'the ID number is not stored in clear');
    const list = await a.app.inject({ method: 'GET', url: '/api/cases', headers: bearer(teller1) });
    t.equal(list.json().items.length, 1);
    const other = await a.app.inject({ method: 'GET', url: '/api/cases', headers: bearer(teller2) });
    t.equal(other.json().items.length, 0);
    const otherGet = await a.app.inject({ method: 'GET', url: `/api/cases/${c.id}`, headers: bearer(teller2) });
    t.equal(otherGet.statusCode, 404, "another teller's case is not found");
    t.equal(otherGet.json().error.code, 'KYC_ERR_NOT_FOUND');
    const auditorGet = await a.app.inject({ method: 'GET', url: `/api/cases/${c.id}`, headers: bearer(auditor1) });
    t.equal(auditorGet.statusCode, 200);
    t.equal(auditorGet.json().customerIdNumber, '110***********002X');
    const badId = await a.app.inject({ method: 'GET', url: '/api/cases/not-a-uuid', headers: bearer(teller1) });
    t.equal(badId.statusCode, 400);
    t.equal(badId.json().error.code, 'KYC_ERR_BAD_PARAMETER');

    const mine = await a.auditEvents();
    t.ok(
      mine.some((e) => e.action === 'case.create' && e.actor.username === 'teller1' && e.object?.id === c.id),
      'case.create audited',
    );
    t.ok(
      mine.some((e) => e.action === 'case.view' && e.actor.username === 'auditor1'),
      'case.view audited',
    );
    t.notOk(JSON.stringify(mine).includes('张三') || JSON.stringify(mine).includes('13812345678'), 'no PII in audit events');
  });

  t.test('pagination', async (t) => {
    for (let i = 0; i < 3; i++) {
      const r = await a.app.inject({ method: 'POST', url: '/api/cases', headers: bearer(teller2), payload: newCaseBody({ customerName: `客户${i}` }) });
      t.equal(r.statusCode, 201);
    }
    const p1 = await a.app.inject({ method: 'GET', url: '/api/cases?limit=2', headers: bearer(teller2) });
    t.equal(p1.json().items.length, 2);
    t.ok(p1.json().nextCursor);
    const p2 = await a.app.inject({ method: 'GET', url: `/api/cases?limit=2&cursor=${p1.json().nextCursor}`, headers: bearer(teller2) });
    t.equal(p2.json().items.length, 1);
    t.equal(p2.json().nextCursor, null);
    const bad = await a.app.inject({ method: 'GET', url: '/api/cases?limit=abc', headers: bearer(teller2) });
    t.equal(bad.statusCode, 400);
    const badCursor = await a.app.inject({ method: 'GET', url: '/api/cases?cursor=AAAA', headers: bearer(teller2) });
    t.equal(badCursor.statusCode, 400);
  });

  t.test('bearer tokens that are not valid', async (t) => {
    const garbage = await a.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: 'Bearer abc.def.ghi' } });
    t.equal(garbage.statusCode, 401);
    const notBearer = await a.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: 'Basic dGVsbGVyMTp0ZWxsZXIx' } });
    t.equal(notBearer.statusCode, 401);
    const [h, p, s] = teller1.split('.');
    const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString());
    claims.realm_access.roles = ['teller', 'auditor', 'admin'];
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    const res = await a.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${forged}` } });
    t.equal(res.statusCode, 401, 'a token with edited roles fails its signature');
  });
});
