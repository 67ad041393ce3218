import t from 'tap';
import pg from 'pg';
import { newCaseBody, startTestAppliance } from '../helpers/appliance.js';
import { caseWithEndedCall, waitFor } from '../helpers/recording-fixtures.js';

const DAY = 86_400_000;

t.test('retention policies, contract end and legal holds through the API', async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_RETENTION_RUN_HOURS: '0' } });
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const as = async (user: string) => ({ authorization: `Bearer ${await a.tokenFor(user)}` });
  const [admin, auditor, teller] = [await as('admin1'), await as('auditor1'), await as('teller1')];
  const call = (method: 'GET' | 'PUT' | 'POST', url: string, headers: Record<string, string>, payload?: unknown) =>
    a.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  const count = async (sql: string) => Number((await su.query(sql)).rows[0].n);
  const events = async (action: string) => (await a.auditEvents()).filter((e) => e.action === action);

  const { caseId } = await caseWithEndedCall(a, a.runtime.ctx.pool, 'teller1', { admittedAt: new Date(Date.now() - 60_000), endedAt: new Date(Date.now() - 30_000) });
  const other = (await call('POST', '/api/cases', teller, newCaseBody({ product: 'WM-SALE' }))).json().id as string;

  await t.test('a case whose product has no policy never expires', async (t) => {
    const res = await call('GET', `/api/cases/${caseId}/retention`, auditor);
    t.equal(res.statusCode, 200);
    t.match(res.json(), { caseId, policy: null, expiresAt: null, reason: 'no_policy', hold: null, shredded: null });
    t.same(
      res.json().items.map((i: { kind: string }) => i.kind),
      ['pii'],
      'the case has its personal data and nothing else yet',
    );
    t.notOk(JSON.stringify(res.json()).includes('张三'), 'no personal data in the answer');
  });

  await t.test('policies: admins set them (audited with old and new), bad input changes nothing', async (t) => {
    t.equal((await call('PUT', '/api/admin/retention/policies/VIDEO-WITNESS', teller, { retentionDays: 30, anchor: 'case_completed' })).statusCode, 403);
    t.equal((await call('PUT', '/api/admin/retention/policies/VIDEO-WITNESS', auditor, { retentionDays: 30, anchor: 'case_completed' })).statusCode, 403);
    for (const [body, code] of [
      [{ retentionDays: 0, anchor: 'case_completed' }, 'KYC_ERR_VALIDATION'],
      [{ retentionDays: 36501, anchor: 'case_completed' }, 'KYC_ERR_VALIDATION'],
      [{ retentionDays: 1.5, anchor: 'case_completed' }, 'KYC_ERR_VALIDATION'],
      [{ retentionDays: 30, anchor: 'signature' }, 'KYC_ERR_VALIDATION'],
      [{ retentionDays: 30 }, 'KYC_ERR_VALIDATION'],
    ] as const) {
      const res = await call('PUT', '/api/admin/retention/policies/VIDEO-WITNESS', admin, body);
      t.equal(res.statusCode, 400, JSON.stringify(body));
      t.equal(res.json().error.code, code);
    }
    const unknown = await call('PUT', '/api/admin/retention/policies/NO-SUCH', admin, { retentionDays: 30, anchor: 'case_completed' });
    t.equal(unknown.statusCode, 400);
    t.equal(unknown.json().error.code, 'KYC_ERR_PRODUCT_UNKNOWN');
    const badCode = await call('PUT', '/api/admin/retention/policies/lower-case', admin, { retentionDays: 30, anchor: 'case_completed' });
    t.equal(badCode.statusCode, 400);
    t.equal(await count('SELECT count(*) AS n FROM retention_policies'), 0, 'nothing stored');
    t.equal((await events('retention.policy_set')).length, 0, 'nothing audited');

    const first = await call('PUT', '/api/admin/retention/policies/VIDEO-WITNESS', admin, { retentionDays: 30, anchor: 'case_completed' });
    t.equal(first.statusCode, 200);
    t.match(first.json(), { productCode: 'VIDEO-WITNESS', retentionDays: 30, anchor: 'case_completed', updatedBy: 'admin1' });
    const second = await call('PUT', '/api/admin/retention/policies/VIDEO-WITNESS', admin, { retentionDays: 1825, anchor: 'case_completed' });
    t.equal(second.json().retentionDays, 1825);
    const audited = await events('retention.policy_set');
    t.equal(audited.length, 2);
    const change = audited.find((e) => e.details?.toDays === 1825);
    t.same(change?.details, { fromDays: 30, fromAnchor: 'case_completed', toDays: 1825, toAnchor: 'case_completed' }, 'old and new values');
    t.match(change, { object: { type: 'product', id: 'VIDEO-WITNESS' }, actor: { username: 'admin1' } });
    const list = await call('GET', '/api/admin/retention/policies', auditor);
    t.equal(list.statusCode, 200);
    t.same(
      list.json().items.map((p: { productCode: string; retentionDays: number }) => [p.productCode, p.retentionDays]),
      [['VIDEO-WITNESS', 1825]],
    );
  });

  await t.test('case completion anchors the expiry', async (t) => {
    const before = (await call('GET', `/api/cases/${caseId}/retention`, admin)).json();
    t.match(before, { policy: { productCode: 'VIDEO-WITNESS', retentionDays: 1825, anchor: 'case_completed' }, expiresAt: null, reason: 'not_completed' });
    const done = await call('POST', `/api/cases/${caseId}/complete`, teller);
    t.equal(done.statusCode, 200, done.body);
    const completedAt = (await su.query('SELECT completed_at FROM cases WHERE id = $1', [caseId])).rows[0].completed_at as Date;
    const after = (await call('GET', `/api/cases/${caseId}/retention`, admin)).json();
    t.equal(after.anchorAt, completedAt.toISOString());
    t.equal(after.expiresAt, new Date(completedAt.getTime() + 1825 * DAY).toISOString(), '1825 days after completion');
    t.equal(after.reason, null);
    t.ok(
      after.items.every((i: { expiresAt: string; state: string }) => i.expiresAt === after.expiresAt && i.state === 'retained'),
      'every item expires with the case',
    );
    const view = await call('GET', `/api/cases/${caseId}`, auditor);
    t.same(view.json().retention, { expiresAt: after.expiresAt, held: false, shreddedAt: null }, 'the case view carries the summary');
  });

  await t.test('contract end: admins enter and correct it (audited old → new); bad dates change nothing', async (t) => {
    t.equal((await call('PUT', '/api/admin/retention/policies/WM-SALE', admin, { retentionDays: 3650, anchor: 'contract_end' })).statusCode, 200);
    t.match((await call('GET', `/api/cases/${other}/retention`, admin)).json(), { expiresAt: null, reason: 'no_contract_end' });
    for (const body of [
      { contractEnd: '2030-02-30', reason: 'contract signed' },
      { contractEnd: '2030-1-5', reason: 'contract signed' },
      { contractEnd: '2030-01-05' },
      { contractEnd: '2030-01-05', reason: 'x' },
      { contractEnd: '2030-01-05', reason: 'contract signed', extra: 1 },
    ]) {
      const res = await call('PUT', `/api/cases/${other}/contract-end`, admin, body);
      t.equal(res.statusCode, 400, JSON.stringify(body));
      t.match(res.json().error.code, /^KYC_ERR_(VALIDATION|BAD_PARAMETER)$/);
    }
    t.equal((await call('PUT', `/api/cases/${other}/contract-end`, auditor, { contractEnd: '2030-01-05', reason: 'contract signed' })).statusCode, 403);
    const missing = await call('PUT', '/api/cases/00000000-0000-4000-8000-000000000000/contract-end', admin, { contractEnd: '2030-01-05', reason: 'contract signed' });
    t.equal(missing.statusCode, 404);
    t.equal(await count(`SELECT count(*) AS n FROM cases WHERE contract_end IS NOT NULL`), 0, 'nothing stored');
    const set = await call('PUT', `/api/cases/${other}/contract-end`, admin, { contractEnd: '2030-01-05', reason: 'contract signed' });
    t.equal(set.statusCode, 200);
    t.match(set.json(), { contractEnd: '2030-01-05', anchorAt: '2030-01-05T00:00:00.000Z', expiresAt: new Date(Date.UTC(2030, 0, 5) + 3650 * DAY).toISOString() });
    await call('PUT', `/api/cases/${other}/contract-end`, admin, { contractEnd: '2031-06-30', reason: 'contract extended' });
    const audited = await events('retention.contract_end_set');
    t.equal(audited.length, 2);
    const byTo = (to: string) => audited.find((e) => e.details?.to === to);
    t.same(byTo('2030-01-05')?.details, { from: null, to: '2030-01-05' });
    t.same(byTo('2031-06-30')?.details, { from: '2030-01-05', to: '2031-06-30' });
    t.equal(byTo('2031-06-30')?.reason, 'contract extended');
  });

  await t.test('legal holds: placed and released with reasons, both audited; listed', async (t) => {
    t.equal((await call('POST', `/api/cases/${caseId}/holds`, teller, { reason: 'dispute filed' })).statusCode, 403);
    const short = await call('POST', `/api/cases/${caseId}/holds`, auditor, { reason: 'x' });
    t.equal(short.statusCode, 400);
    t.equal((await call('POST', '/api/cases/00000000-0000-4000-8000-000000000000/holds', auditor, { reason: 'dispute filed' })).statusCode, 404);
    t.equal(await count('SELECT count(*) AS n FROM legal_holds'), 0, 'refusals stored nothing');
    const placed = await call('POST', `/api/cases/${caseId}/holds`, auditor, { reason: 'dispute filed' });
    t.equal(placed.statusCode, 201);
    const hold = placed.json();
    t.match(hold, { caseId, reason: 'dispute filed', placedBy: 'auditor1', releasedAt: null });
    const held = (await call('GET', `/api/cases/${caseId}/retention`, admin)).json();
    t.equal(held.hold.id, hold.id);
    t.ok(
      held.items.every((i: { state: string }) => i.state === 'held'),
      'held items',
    );
    t.same(
      (await call('GET', '/api/holds?active=true', admin)).json().items.map((h: { id: string }) => h.id),
      [hold.id],
    );
    t.equal((await call('GET', '/api/holds?active=maybe', admin)).statusCode, 400);
    const overview = (await call('GET', '/api/admin/retention', admin)).json();
    t.same(
      overview.holds.map((h: { id: string }) => h.id),
      [hold.id],
    );

    t.equal((await call('POST', `/api/holds/${hold.id}/release`, teller, { reason: 'dispute settled' })).statusCode, 403);
    const released = await call('POST', `/api/holds/${hold.id}/release`, admin, { reason: 'dispute settled' });
    t.equal(released.statusCode, 200);
    t.match(released.json(), { releasedBy: 'admin1', releaseReason: 'dispute settled' });
    const again = await call('POST', `/api/holds/${hold.id}/release`, admin, { reason: 'dispute settled' });
    t.equal(again.statusCode, 409);
    t.equal(again.json().error.code, 'KYC_ERR_CONFLICT');
    t.same((await call('GET', '/api/holds?active=true', auditor)).json().items, []);
    t.same(
      (await call('GET', '/api/holds?active=false', auditor)).json().items.map((h: { id: string }) => h.id),
      [hold.id],
    );
    const placedEvents = await events('retention.hold_placed');
    const releasedEvents = await events('retention.hold_released');
    t.equal(placedEvents.length, 1);
    t.equal(releasedEvents.length, 1);
    t.match(placedEvents[0], { object: { type: 'case', id: caseId }, reason: 'dispute filed', details: { holdId: hold.id } });
    t.match(releasedEvents[0], { object: { type: 'case', id: caseId }, reason: 'dispute settled', details: { holdId: hold.id } });
  });

  await t.test('overview and dry run', async (t) => {
    await su.query(`UPDATE cases SET completed_at = now() - interval '1800 days' WHERE id = $1`, [caseId]);
    const overview = (await call('GET', '/api/admin/retention', auditor)).json();
    t.equal(overview.upcoming.within30, 1, 'expires within 30 days');
    t.equal(overview.upcoming.within90, 1);
    t.same(
      overview.upcoming.items.map((i: { caseId: string }) => i.caseId),
      [caseId],
    );
    t.equal(overview.lastRun, null);
    t.equal((await call('POST', '/api/admin/retention/dry-run', auditor)).statusCode, 403);
    const dry = await call('POST', '/api/admin/retention/dry-run', admin);
    t.equal(dry.statusCode, 200);
    t.match(dry.json(), { cases: 0, items: [] }, 'not yet expired (25 days left)');
    await su.query(`UPDATE cases SET completed_at = now() - interval '1826 days' WHERE id = $1`, [caseId]);
    const due = (await call('POST', '/api/admin/retention/dry-run', admin)).json();
    t.equal(due.cases, 1);
    t.same(due.items, [{ caseId, kind: 'pii', id: caseId }]);
    t.equal((await events('retention.dry_run')).length, 2, 'each dry run audited');
    t.equal(await count('SELECT count(*) AS n FROM shred_items'), 0, 'a dry run destroys nothing');
    t.equal(await count('SELECT count(*) AS n FROM cases WHERE shredded_at IS NOT NULL'), 0);
  });

  await t.test('run now: the job is queued (202), the worker runs it, the overview shows the run', async (t) => {
    t.equal((await call('POST', '/api/admin/retention/run', auditor, { reason: 'monthly check' })).statusCode, 403);
    for (const bad of [undefined, {}, { reason: '' }, { reason: 'ok', extra: 1 }]) {
      const r = await call('POST', '/api/admin/retention/run', admin, bad);
      t.equal(r.statusCode, 400, `no run without a reason: ${JSON.stringify(bad)}`);
    }
    t.equal(Number((await su.query(`SELECT count(*) AS n FROM pgboss.job WHERE name = 'retention.run'`)).rows[0].n), 0, 'nothing queued by them');
    const res = await call('POST', '/api/admin/retention/run', admin, { reason: 'monthly check' });
    t.equal(res.statusCode, 202);
    t.same(res.json(), { queued: true });
    t.match(await events('retention.run_requested'), [{ reason: 'monthly check' }], 'audited with its reason');
    const last = await waitFor(
      'the retention run',
      async () => {
        const o = (await call('GET', '/api/admin/retention', admin)).json();
        return o.lastRun?.finishedAt ? o.lastRun : null;
      },
      60_000,
    );
    t.match(last, { dryRun: false, shredded: { pii: 1, recording: 0 } }, "the expired case's personal data shredded");
    const after = (await call('GET', `/api/cases/${caseId}/retention`, auditor)).json();
    t.ok(after.shredded?.at, 'shredded on …');
    t.same(
      after.items.map((i: { state: string }) => i.state),
      ['shredded'],
    );
    t.equal((await call('POST', `/api/cases/${caseId}/holds`, auditor, { reason: 'too late for a hold' })).statusCode, 409, 'nothing left to hold');
    t.equal((await call('PUT', `/api/cases/${caseId}/contract-end`, admin, { contractEnd: '2030-01-05', reason: 'late entry' })).statusCode, 409);
  });
});
