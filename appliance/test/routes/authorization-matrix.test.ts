import t from 'tap';
import type { InjectOptions } from 'fastify';
import { multipartFile, newCaseBody, PNG, startTestAppliance } from '../helpers/appliance.js';
import type { Access } from '../../src/http/route-policy.js';

/**
 * Every route × anonymous, teller, auditor, admin. A route missing from `calls` fails this test, so a new route
 * cannot ship without its place in the matrix.
 */
const SOME_UUID = '00000000-0000-4000-8000-000000000000';
const calls: Record<string, () => InjectOptions> = {
  'GET /api/me': () => ({ method: 'GET', url: '/api/me' }),
  'GET /api/cases': () => ({ method: 'GET', url: '/api/cases' }),
  'POST /api/cases': () => ({ method: 'POST', url: '/api/cases', payload: newCaseBody() }),
  'GET /api/cases/:id': () => ({ method: 'GET', url: `/api/cases/${SOME_UUID}` }),
  'POST /auth/logout': () => ({ method: 'POST', url: '/auth/logout' }),
  'POST /api/cases/:id/invitations': () => ({ method: 'POST', url: `/api/cases/${SOME_UUID}/invitations` }),
  'POST /api/cases/:id/invitations/:invitationId/revoke': () => ({ method: 'POST', url: `/api/cases/${SOME_UUID}/invitations/${SOME_UUID}/revoke` }),
  'GET /api/cases/:id/live': () => ({ method: 'GET', url: `/api/cases/${SOME_UUID}/live` }),
  'POST /api/cases/:id/admit': () => ({ method: 'POST', url: `/api/cases/${SOME_UUID}/admit` }),
  'POST /api/sessions/:id/hangup': () => ({ method: 'POST', url: `/api/sessions/${SOME_UUID}/hangup` }),
  'POST /api/sessions/:id/files': () => ({ method: 'POST', url: `/api/sessions/${SOME_UUID}/files`, ...multipartFile('a.png', PNG) }),
  'GET /api/sessions/:id/files': () => ({ method: 'GET', url: `/api/sessions/${SOME_UUID}/files` }),
  'GET /api/files/:id': () => ({ method: 'GET', url: `/api/files/${SOME_UUID}` }),
  'GET /api/audit/checkpoint': () => ({ method: 'GET', url: '/api/audit/checkpoint' }),
  'GET /api/audit/verifier-key': () => ({ method: 'GET', url: '/api/audit/verifier-key' }),
  'GET /api/audit/proof/inclusion': () => ({ method: 'GET', url: '/api/audit/proof/inclusion?index=0&size=1' }),
  'GET /api/audit/proof/consistency': () => ({ method: 'GET', url: '/api/audit/proof/consistency?from=0&to=0' }),
  'GET /api/audit/events': () => ({ method: 'GET', url: '/api/audit/events' }),
  'GET /api/cases/:id/sessions': () => ({ method: 'GET', url: `/api/cases/${SOME_UUID}/sessions` }),
  'GET /api/sessions/:id/recording': () => ({ method: 'GET', url: `/api/sessions/${SOME_UUID}/recording` }),
  'GET /api/archive/search': () => ({ method: 'GET', url: '/api/archive/search' }),
  'GET /api/cases/:id/timeline': () => ({ method: 'GET', url: `/api/cases/${SOME_UUID}/timeline` }),
  'GET /api/cases/:id/quality': () => ({ method: 'GET', url: `/api/cases/${SOME_UUID}/quality` }),
  'POST /api/recordings/:id/replay': () => ({ method: 'POST', url: `/api/recordings/${SOME_UUID}/replay` }),
  'GET /api/recordings/:id/media/:party': () => ({ method: 'GET', url: `/api/recordings/${SOME_UUID}/media/teller?grant=x` }),
  'POST /api/recordings/:id/exports': () => ({ method: 'POST', url: `/api/recordings/${SOME_UUID}/exports`, payload: { reason: 'regulator request' } }),
  'GET /api/exports/:id': () => ({ method: 'GET', url: `/api/exports/${SOME_UUID}` }),
  'GET /api/exports/:id/file': () => ({ method: 'GET', url: `/api/exports/${SOME_UUID}/file` }),
  'GET /api/exports/:id/signature': () => ({ method: 'GET', url: `/api/exports/${SOME_UUID}/signature` }),
  'GET /api/exports/:id/evidence': () => ({ method: 'GET', url: `/api/exports/${SOME_UUID}/evidence` }),
  'GET /api/exports/:id/evidence/signature': () => ({ method: 'GET', url: `/api/exports/${SOME_UUID}/evidence/signature` }),
  'GET /api/admin/recordings': () => ({ method: 'GET', url: '/api/admin/recordings' }),
  'GET /api/admin/ops': () => ({ method: 'GET', url: '/api/admin/ops' }),
  'POST /api/face/compare': () => ({ method: 'POST', url: '/api/face/compare', payload: { reference: 'AAAA', probe: 'AAAA' } }),
  'POST /api/cases/:id/complete': () => ({ method: 'POST', url: `/api/cases/${SOME_UUID}/complete` }),
  'POST /api/cases/:id/review': () => ({ method: 'POST', url: `/api/cases/${SOME_UUID}/review`, payload: { decision: 'approved', comment: 'ok' } }),
  'POST /api/cases/:id/reveal': () => ({ method: 'POST', url: `/api/cases/${SOME_UUID}/reveal`, payload: { field: 'customerName', reason: 'check' } }),
  'GET /api/products': () => ({ method: 'GET', url: '/api/products' }),
  'GET /api/products/:code/versions': () => ({ method: 'GET', url: '/api/products/WM-SALE/versions' }),
  'GET /api/admin/products/:code/diff': () => ({ method: 'GET', url: '/api/admin/products/WM-SALE/diff?from=1&to=1' }),
  'POST /api/admin/products': () => ({
    method: 'POST',
    url: '/api/admin/products',
    payload: {
      code: 'MATRIX',
      nameZh: '测试',
      nameEn: 'Test',
      retentionYears: 5,
      steps: [{ id: 'a', kind: 'read', required: true, title: { 'zh-CN': '甲', en: 'A' }, text: { 'zh-CN': '甲', en: 'A' } }],
    },
  }),
  'PUT /api/admin/products/:code': () => ({
    method: 'PUT',
    url: '/api/admin/products/VIDEO-WITNESS',
    payload: {
      code: 'VIDEO-WITNESS',
      nameZh: '视频见证',
      nameEn: 'Video witness',
      retentionYears: 6,
      steps: [{ id: 'a', kind: 'read', required: false, title: { 'zh-CN': '甲', en: 'A' }, text: { 'zh-CN': '甲', en: 'A' } }],
    },
  }),
  'GET /api/cases/:id/kyc': () => ({ method: 'GET', url: `/api/cases/${SOME_UUID}/kyc` }),
  'POST /api/cases/:id/kyc/steps/:stepId/complete': () => ({ method: 'POST', url: `/api/cases/${SOME_UUID}/kyc/steps/opening/complete`, payload: {} }),
  'GET /api/sessions/:id/kyc': () => ({ method: 'GET', url: `/api/sessions/${SOME_UUID}/kyc` }),
  'POST /api/sessions/:id/kyc/confirm': () => ({ method: 'POST', url: `/api/sessions/${SOME_UUID}/kyc/confirm`, payload: { confirmationId: SOME_UUID } }),
  'POST /api/sessions/:id/geolocation': () => ({ method: 'POST', url: `/api/sessions/${SOME_UUID}/geolocation`, payload: { consent: 'refused' } }),
  'POST /api/sessions/:id/identity/captures': () => ({ method: 'POST', url: `/api/sessions/${SOME_UUID}/identity/captures`, payload: { purpose: 'id-front' } }),
  'POST /api/sessions/:id/identity/captures/:requestId': () => ({ method: 'POST', url: `/api/sessions/${SOME_UUID}/identity/captures/${SOME_UUID}`, ...multipartFile('a.png', PNG) }),
  'GET /api/sessions/:id/identity/pending': () => ({ method: 'GET', url: `/api/sessions/${SOME_UUID}/identity/pending` }),
  'POST /api/sessions/:id/identity/liveness': () => ({ method: 'POST', url: `/api/sessions/${SOME_UUID}/identity/liveness` }),
  'POST /api/identity/stills/:id/accept': () => ({ method: 'POST', url: `/api/identity/stills/${SOME_UUID}/accept` }),
  'POST /api/identity/stills/:id/retake': () => ({ method: 'POST', url: `/api/identity/stills/${SOME_UUID}/retake` }),
  'GET /api/identity/stills/:id': () => ({ method: 'GET', url: `/api/identity/stills/${SOME_UUID}` }),
  'POST /api/face-checks/:id/override': () => ({ method: 'POST', url: `/api/face-checks/${SOME_UUID}/override`, payload: { decision: 'match', reason: 'checked by eye' } }),
  'GET /api/cases/:id/identity': () => ({ method: 'GET', url: `/api/cases/${SOME_UUID}/identity` }),
  'POST /api/admin/users/:username/sessions/end': () => ({ method: 'POST', url: '/api/admin/users/nobody/sessions/end', payload: { reason: 'matrix check' } }),
  'GET /api/admin/retention/policies': () => ({ method: 'GET', url: '/api/admin/retention/policies' }),
  'PUT /api/admin/retention/policies/:productCode': () => ({ method: 'PUT', url: '/api/admin/retention/policies/VIDEO-WITNESS', payload: { retentionDays: 1825, anchor: 'case_completed' } }),
  'PUT /api/cases/:id/contract-end': () => ({ method: 'PUT', url: `/api/cases/${SOME_UUID}/contract-end`, payload: { contractEnd: '2030-01-31', reason: 'matrix check' } }),
  'GET /api/cases/:id/retention': () => ({ method: 'GET', url: `/api/cases/${SOME_UUID}/retention` }),
  'POST /api/cases/:id/holds': () => ({ method: 'POST', url: `/api/cases/${SOME_UUID}/holds`, payload: { reason: 'matrix check' } }),
  'POST /api/holds/:id/release': () => ({ method: 'POST', url: `/api/holds/${SOME_UUID}/release`, payload: { reason: 'matrix check' } }),
  'GET /api/holds': () => ({ method: 'GET', url: '/api/holds?active=true' }),
  'GET /api/admin/retention': () => ({ method: 'GET', url: '/api/admin/retention' }),
  'POST /api/admin/retention/dry-run': () => ({ method: 'POST', url: '/api/admin/retention/dry-run' }),
  'POST /api/admin/retention/run': () => ({ method: 'POST', url: '/api/admin/retention/run', payload: { reason: 'matrix run' } }),
  'GET /api/me/presence': () => ({ method: 'GET', url: '/api/me/presence' }),
  'PUT /api/me/presence': () => ({ method: 'PUT', url: '/api/me/presence', payload: { status: 'away' } }),
  'GET /api/service/offers': () => ({ method: 'GET', url: '/api/service/offers' }),
  'POST /api/service/offers/:id/accept': () => ({ method: 'POST', url: `/api/service/offers/${SOME_UUID}/accept`, payload: { customerIdNumber: '11010519491231002X' } }),
  'POST /api/service/offers/:id/decline': () => ({ method: 'POST', url: `/api/service/offers/${SOME_UUID}/decline` }),
  'GET /api/service/callbacks': () => ({ method: 'GET', url: '/api/service/callbacks' }),
  'POST /api/service/callbacks/next': () => ({ method: 'POST', url: '/api/service/callbacks/next' }),
  'POST /api/service/callbacks/:id/done': () => ({ method: 'POST', url: `/api/service/callbacks/${SOME_UUID}/done`, payload: { outcome: 'reached' } }),
  'GET /api/admin/service/report': () => ({ method: 'GET', url: '/api/admin/service/report' }),
  'GET /api/admin/kb/entries': () => ({ method: 'GET', url: '/api/admin/kb/entries' }),
  'GET /api/admin/kb/entries/:id/versions': () => ({ method: 'GET', url: `/api/admin/kb/entries/${SOME_UUID}/versions` }),
  'POST /api/admin/kb/entries': () => ({
    method: 'POST',
    url: '/api/admin/kb/entries',
    payload: { productCode: 'VIDEO-WITNESS', lang: 'en', kind: 'qa', title: 'Matrix?', body: 'Matrix.' },
  }),
  'PUT /api/admin/kb/entries/:id': () => ({ method: 'PUT', url: `/api/admin/kb/entries/${SOME_UUID}`, payload: { title: 'Matrix?', body: 'Matrix.' } }),
  'POST /api/admin/kb/entries/:id/retire': () => ({ method: 'POST', url: `/api/admin/kb/entries/${SOME_UUID}/retire`, payload: { reason: 'matrix check' } }),
};
type Who = 'authenticated' | ReadonlyArray<'teller' | 'auditor' | 'admin'>;
/**
 * Who may call each route, written out here rather than read from the route's config: widening a route (say, letting
 * admins at decrypted media or unmasked PII) fails this test until this table is changed on purpose. Admins operate:
 * no admin row reaches media, exports, replay, reveal, the archive or a case's personal data.
 */
const EXPECTED: Record<string, Who> = {
  'GET /api/me': 'authenticated',
  'POST /auth/logout': 'authenticated',
  'GET /api/cases': ['teller'],
  'POST /api/cases': ['teller'],
  'GET /api/cases/:id': ['teller', 'auditor'],
  'POST /api/cases/:id/invitations': ['teller'],
  'POST /api/cases/:id/invitations/:invitationId/revoke': ['teller'],
  'GET /api/cases/:id/live': ['teller'],
  'POST /api/cases/:id/admit': ['teller'],
  'POST /api/sessions/:id/hangup': ['teller'],
  'POST /api/sessions/:id/files': ['teller'],
  'GET /api/sessions/:id/files': ['teller', 'auditor'],
  'GET /api/files/:id': ['teller', 'auditor'],
  'GET /api/audit/checkpoint': ['auditor', 'admin'],
  'GET /api/audit/verifier-key': ['auditor', 'admin'],
  'GET /api/audit/proof/inclusion': ['auditor', 'admin'],
  'GET /api/audit/proof/consistency': ['auditor', 'admin'],
  'GET /api/audit/events': ['auditor', 'admin'],
  'GET /api/cases/:id/sessions': ['teller', 'auditor', 'admin'],
  'GET /api/sessions/:id/recording': ['teller', 'auditor', 'admin'],
  'GET /api/archive/search': ['auditor'],
  'GET /api/cases/:id/timeline': ['auditor'],
  'GET /api/cases/:id/quality': ['auditor'],
  'POST /api/recordings/:id/replay': ['auditor'],
  'GET /api/recordings/:id/media/:party': ['auditor'],
  'POST /api/recordings/:id/exports': ['auditor'],
  'GET /api/exports/:id': ['auditor'],
  'GET /api/exports/:id/file': ['auditor'],
  'GET /api/exports/:id/signature': ['auditor'],
  'GET /api/exports/:id/evidence': ['auditor'],
  'GET /api/exports/:id/evidence/signature': ['auditor'],
  'GET /api/admin/recordings': ['admin'],
  'GET /api/admin/ops': ['admin'],
  'POST /api/cases/:id/complete': ['teller'],
  'POST /api/cases/:id/review': ['auditor'],
  'POST /api/cases/:id/reveal': ['auditor'],
  'POST /api/face/compare': ['auditor', 'admin'],
  'GET /api/products': ['teller', 'auditor', 'admin'],
  'GET /api/products/:code/versions': ['teller', 'auditor', 'admin'],
  'GET /api/admin/products/:code/diff': ['admin', 'auditor'],
  'POST /api/admin/products': ['admin'],
  'PUT /api/admin/products/:code': ['admin'],
  'GET /api/cases/:id/kyc': ['teller', 'auditor'],
  'POST /api/cases/:id/kyc/steps/:stepId/complete': ['teller'],
  // Routes a customer reaches through the invitation's device cookie; by role only the teller, or nobody.
  'GET /api/sessions/:id/kyc': ['teller'],
  'POST /api/sessions/:id/kyc/confirm': [],
  'POST /api/sessions/:id/geolocation': [],
  'POST /api/sessions/:id/identity/captures': ['teller'],
  'POST /api/sessions/:id/identity/liveness': ['teller'],
  'GET /api/sessions/:id/identity/pending': ['teller'],
  'POST /api/sessions/:id/identity/captures/:requestId': ['teller'],
  'POST /api/identity/stills/:id/accept': ['teller'],
  'POST /api/identity/stills/:id/retake': ['teller'],
  'POST /api/face-checks/:id/override': ['teller'],
  'GET /api/cases/:id/identity': ['teller', 'auditor'],
  'GET /api/identity/stills/:id': ['teller', 'auditor'],
  'POST /api/admin/users/:username/sessions/end': ['admin'],
  // Retention: no personal data or media in any of these answers.
  'GET /api/admin/retention/policies': ['admin', 'auditor'],
  'PUT /api/admin/retention/policies/:productCode': ['admin'],
  'PUT /api/cases/:id/contract-end': ['admin'],
  'GET /api/cases/:id/retention': ['auditor', 'admin'],
  'POST /api/cases/:id/holds': ['auditor', 'admin'],
  'POST /api/holds/:id/release': ['auditor', 'admin'],
  'GET /api/holds': ['auditor', 'admin'],
  'GET /api/admin/retention': ['admin', 'auditor'],
  'POST /api/admin/retention/dry-run': ['admin'],
  'POST /api/admin/retention/run': ['admin'],
  // Customer-initiated service: tellers answer offers (never pick customers); the knowledge base and the queue
  // report are the admin's (figures only, no personal data).
  'GET /api/me/presence': ['teller'],
  'PUT /api/me/presence': ['teller'],
  'GET /api/service/offers': ['teller'],
  'POST /api/service/offers/:id/accept': ['teller'],
  'POST /api/service/offers/:id/decline': ['teller'],
  'GET /api/service/callbacks': ['teller'],
  'POST /api/service/callbacks/next': ['teller'],
  'POST /api/service/callbacks/:id/done': ['teller'],
  'GET /api/admin/service/report': ['admin'],
  'GET /api/admin/kb/entries': ['admin'],
  'GET /api/admin/kb/entries/:id/versions': ['admin'],
  'POST /api/admin/kb/entries': ['admin'],
  'PUT /api/admin/kb/entries/:id': ['admin'],
  'POST /api/admin/kb/entries/:id/retire': ['admin'],
};
/** Public routes, by exact URL or prefix: reachable by anyone. */
const PUBLIC = [
  '/healthz',
  '/readyz',
  '/models',
  '/auth/login',
  '/auth/callback',
  '/auth/backchannel-logout',
  '/api/openapi.json',
  '/docs',
  '/api/join',
  '/api/signaling',
  '/api/service/visits',
  '/api/service/products',
];

const identities = ['anonymous', 'teller1', 'auditor1', 'admin1'] as const;
const rolesOf: Record<string, string> = { teller1: 'teller', auditor1: 'auditor', admin1: 'admin' };

function expected(who: Who, identity: (typeof identities)[number]): 'allowed' | 401 | 403 {
  if (identity === 'anonymous') return 401;
  if (who === 'authenticated') return 'allowed';
  return who.includes(rolesOf[identity] as never) ? 'allowed' : 403;
}

/** The route's declared policy in the table's terms (to report a difference clearly). */
function declared(access: Access): Who | 'public' {
  return access === 'public' || access === 'authenticated' ? access : [...access.roles].sort();
}

t.test('authorization matrix over every route', async (t) => {
  const a = await startTestAppliance(t);
  const tokens: Record<string, string> = {};
  for (const id of identities) if (id !== 'anonymous') tokens[id] = await a.tokenFor(id);

  for (const route of a.app.routeRecords) {
    const key = `${route.method} ${route.url}`;
    if (route.method === 'HEAD' || route.method === 'OPTIONS') continue;
    if (route.access === 'public') {
      t.ok(
        PUBLIC.some((p) => route.url === p || route.url.startsWith(`${p}/`)),
        `${key} is meant to be public`,
      );
      continue;
    }
    const call = calls[key];
    const who = EXPECTED[key];
    t.ok(call, `${key} has a row in the matrix`);
    t.ok(who, `${key} has its expected roles in EXPECTED`);
    if (!call || !who || !route.access) continue;
    t.same(declared(route.access), who === 'authenticated' ? who : [...who].sort(), `${key}: declared access is exactly the expected one`);
    for (const identity of identities) {
      const opts = call();
      const headers = identity === 'anonymous' ? {} : { authorization: `Bearer ${tokens[identity]}` };
      const res = await a.app.inject({ ...opts, headers: { ...(opts.headers ?? {}), ...headers } });
      const want = expected(who, identity);
      if (want === 'allowed') t.notOk([401, 403].includes(res.statusCode), `${key} as ${identity}: allowed (got ${res.statusCode})`);
      else t.equal(res.statusCode, want, `${key} as ${identity}: ${want}`);
      if (res.statusCode >= 400) t.match(res.json(), { error: { code: /^KYC_ERR_/ } }, `${key} as ${identity}: coded error`);
    }
  }
});

t.test('routes without an access policy or audit action are refused at start-up', async (t) => {
  const Fastify = (await import('fastify')).default;
  const { installRoutePolicy } = await import('../../src/http/route-policy.js');
  const noAccess = Fastify();
  installRoutePolicy(noAccess);
  noAccess.get('/x', async () => 'x');
  await t.rejects(async () => {
    await noAccess.ready();
  }, /declares no access policy/);
  const noAudit = Fastify();
  installRoutePolicy(noAudit);
  noAudit.post('/y', { config: { access: 'authenticated' } }, async () => 'y');
  await t.rejects(async () => {
    await noAudit.ready();
  }, /declares no audit action/);
  const ok = Fastify();
  installRoutePolicy(ok);
  ok.post('/z', { config: { access: 'authenticated', audit: 'thing.change' } }, async () => 'z');
  await t.resolves(async () => {
    await ok.ready();
  });
  for (const f of [noAccess, noAudit, ok]) await f.close().catch(() => undefined);
});
