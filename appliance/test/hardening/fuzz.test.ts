import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import pg from 'pg';
import t from 'tap';
import { newCaseBody, startTestAppliance, type TestAppliance } from '../helpers/appliance.js';
import { RETENTION_QUEUE } from '../../src/recording/retention-queue.js';

/**
 * A black-box fuzz of the running appliance over real HTTPS: every route of its own OpenAPI document × anonymous,
 * teller, auditor and admin (real tokens from the dev IdP) × malformed path parameters, query values, JSON bodies,
 * content types and Range headers, with a fixed seed. No answer may be a 5xx, no connection may drop, every 4xx
 * carries a stable KYC_ERR_* code, and the database is unchanged except for audit events of refusals and of reads.
 */
const SEED = 0x6b79_6331;
const ROUNDS = 48;
const SOCKETS = 4;

/** mulberry32: small, seeded, good enough to pick cases reproducibly */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  format?: string;
  minimum?: number;
  minItems?: number;
  minLength?: number;
  maxLength?: number;
};
interface Operation {
  parameters?: { name: string; in: 'path' | 'query' | 'header' | 'cookie'; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
interface Route {
  method: string;
  path: string;
  op: Operation;
}

/** A value the schema accepts (the starting point that mutations break). */
function sample(s: Schema | undefined, rnd: () => number): unknown {
  if (!s) return 'x';
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return s.enum[Math.floor(rnd() * s.enum.length)];
  const alt = s.anyOf ?? s.oneOf;
  if (alt?.length) return sample(alt[Math.floor(rnd() * alt.length)], rnd);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s.properties ?? {})) if (s.required?.includes(k) || rnd() < 0.5) out[k] = sample(v, rnd);
      return out;
    }
    case 'array':
      return Array.from({ length: Math.max(1, s.minItems ?? 0) }, () => sample(s.items, rnd));
    case 'integer':
    case 'number':
      return Math.max(s.minimum ?? 0, 1);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      if (s.format === 'uuid') return randomUuid(rnd);
      if (s.format === 'date-time') return '2026-01-01T00:00:00.000Z';
      return 'a'.repeat(Math.max(1, Math.min(s.minLength ?? 1, 64)));
  }
}

function randomUuid(rnd: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

/** Path parameter values: unknown ids, traversal, NUL, encodings, huge, injection-shaped text. */
function badPathValue(rnd: () => number): string {
  return pick(rnd, [
    () => randomUuid(rnd),
    () => randomUuid(rnd).toUpperCase(),
    () => '..',
    () => '..%2F..%2Fetc%2Fpasswd',
    () => '%2e%2e%2f%2e%2e%2f',
    () => 'a%00b',
    () => '%00',
    () => '%FF%FE',
    () => '%E4%B8',
    () => 'x'.repeat(300),
    () => '9'.repeat(60),
    () => '-1',
    () => '0',
    () => 'NaN',
    () => "'%20OR%201=1--",
    () => '%25',
    () => encodeURIComponent('张三'),
    () => '%20',
    () => encodeURIComponent('{"$ne":null}'),
    () => '__proto__',
    () => 'constructor',
  ])();
}

/** Query values: wrong types, huge, NUL, arrays, nested keys, dates out of range. */
function badQueryValue(rnd: () => number, valid: unknown): string[] {
  const v = pick(rnd, [
    () => [String(valid)],
    () => ['-1'],
    () => ['1e309'],
    () => ['99999999999999999999999'],
    () => ['NaN'],
    () => [''],
    () => ['%00'],
    () => ['x'.repeat(rnd() < 0.5 ? 300 : 9000)],
    () => ['a', 'b'],
    () => ['true'],
    () => ['null'],
    () => ['2026-13-45T99:99:99Z'],
    () => ['0001-01-01T00:00:00Z'],
    () => [encodeURIComponent('../../etc/passwd')],
    () => ['%FF%FE'],
    () => [randomUuid(rnd)],
    () => [encodeURIComponent('{"a":1}')],
  ])();
  return v;
}

/** Body mutations of a valid sample: wrong types, nulls, huge strings, deep nesting, prototype keys, extras. */
function mutateBody(rnd: () => number, valid: unknown, limit: number): { body: Buffer; note: string } {
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  const obj = valid !== null && typeof valid === 'object' && !Array.isArray(valid) ? (valid as Record<string, unknown>) : {};
  const keys = Object.keys(obj);
  const key = keys.length ? pick(rnd, keys) : 'x';
  const kind = pick(rnd, [
    'valid',
    'wrong-type',
    'null-field',
    'null',
    'huge-string',
    'deep-array',
    'deep-object',
    'proto',
    'constructor',
    'extra',
    'invalid-utf8',
    'over-limit',
    'truncated',
    'array',
    'number',
    'string',
    'empty',
    'nul-in-string',
    'lone-surrogate',
    'control-chars',
    'duplicate-keys',
  ] as const);
  switch (kind) {
    case 'valid':
      return { body: json(valid), note: kind };
    case 'wrong-type':
      return { body: json({ ...obj, [key]: pick(rnd, [1, true, [], {}, 1.5, -1, 'x']) }), note: kind };
    case 'null-field':
      return { body: json({ ...obj, [key]: null }), note: kind };
    case 'null':
      return { body: Buffer.from('null'), note: kind };
    case 'huge-string':
      return { body: json({ ...obj, [key]: 'A'.repeat(pick(rnd, [2_000, 70_000, 600_000])) }), note: kind };
    case 'deep-array':
      return { body: Buffer.from('['.repeat(50_000) + ']'.repeat(50_000)), note: kind };
    case 'deep-object':
      return { body: Buffer.from('{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000)), note: kind };
    case 'proto':
      return { body: Buffer.from(JSON.stringify(obj).replace(/^\{/, '{"__proto__":{"admin":true,"roles":["admin"]},')), note: kind };
    case 'constructor':
      return { body: Buffer.from(JSON.stringify(obj).replace(/^\{/, '{"constructor":{"prototype":{"polluted":1}},')), note: kind };
    case 'extra':
      return { body: json({ ...obj, unexpected: 'field' }), note: kind };
    case 'invalid-utf8': {
      const text = JSON.stringify({ ...obj, [key]: 'PLACEHOLDER' });
      const [a, b] = text.split('PLACEHOLDER') as [string, string];
      return { body: Buffer.concat([Buffer.from(a), Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]), Buffer.from(b)]), note: kind };
    }
    case 'over-limit':
      return { body: Buffer.concat([Buffer.from('{"x":"'), Buffer.alloc(limit + 16, 0x61), Buffer.from('"}')]), note: kind };
    case 'truncated':
      return { body: json(valid).subarray(0, Math.max(1, Math.floor(json(valid).length / 2))), note: kind };
    case 'array':
      return { body: json([valid]), note: kind };
    case 'number':
      return { body: Buffer.from('12345678901234567890e99999'), note: kind };
    case 'string':
      return { body: Buffer.from('"hello"'), note: kind };
    case 'empty':
      return { body: Buffer.alloc(0), note: kind };
    case 'nul-in-string':
      return { body: json({ ...obj, [key]: 'a\u0000b' }), note: kind };
    case 'lone-surrogate':
      return { body: Buffer.from(JSON.stringify({ ...obj, [key]: 'PLACEHOLDER' }).replace('PLACEHOLDER', '\\ud800x')), note: kind };
    case 'control-chars':
      return { body: json({ ...obj, [key]: 'line1\nline2\r\t\u001b[31m\u2028' }), note: kind };
    case 'duplicate-keys':
      return { body: Buffer.from(JSON.stringify(obj).replace(/^\{/, `{"${key}":1,`)), note: kind };
  }
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'multipart/form-data; boundary=zzz',
  'application/xml',
  'application/octet-stream',
  '*/*',
  ';;;',
  null,
] as const;

const RANGES = ['bytes=0-', 'bytes=-0', 'bytes=0-0', 'bytes=5-1', 'bytes=99999999999999999999-', 'bytes=0-1,2-3', 'items=0-1', 'bytes=-', 'bytes=abc', 'bytes=-99999999999'];

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
  note: string;
}
interface Answer {
  status: number;
  body: string;
}

/** Every table's row count and content checksum, for the before/after comparison. */
async function snapshot(client: pg.Client): Promise<Map<string, string>> {
  const tables = await client.query<{ s: string; n: string }>(
    `SELECT table_schema AS s, table_name AS n FROM information_schema.tables
      WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
  );
  const out = new Map<string, string>();
  for (const { s, n } of tables.rows) {
    const q = `"${s}"."${n}"`;
    const r = await client.query<{ c: string; h: string | null }>(`SELECT count(*)::text AS c, md5(string_agg(t::text, '|' ORDER BY t::text)) AS h FROM ${q} t`);
    out.set(q, `${r.rows[0]?.c}:${r.rows[0]?.h ?? ''}`);
  }
  return out;
}

/** Audit tables grow with audited refusals and reads; everything else must be unchanged. */
const AUDIT_TABLES = new Set(['"public"."audit_event"', '"public"."audit_leaf"', '"public"."audit_node"', '"public"."audit_tree_head"', '"public"."audit_checkpoint"']);
/** Successful events that change nothing but the log: reading (a retention dry run is one), and signing out a bearer caller (no session to end). */
const READ_ACTIONS = new Set(['case.view', 'archive.search', 'audit.read', 'case.kyc.view', 'kyc.still.viewed', 'file.download', 'auth.logout', 'retention.dry_run']);

function send(agent: Agent, port: number, req: Sent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = httpsRequest({ host: '127.0.0.1', port, method: req.method, path: req.path, headers: req.headers, agent, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < 65_536) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    if (req.body) r.end(req.body);
    else r.end();
  });
}

function buildRequests(routes: Route[], tokens: Record<string, string | null>, realIds: string[], limit: number): Sent[] {
  const rnd = prng(SEED);
  const out: Sent[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const route of routes) {
      for (const [who, token] of Object.entries(tokens)) {
        const params = route.op.parameters ?? [];
        // path: every parameter replaced; a real id only for reads (writes to real rows are not malformed input)
        let path = route.path.replace(/\{([^}]+)\}/g, () => (route.method === 'GET' && realIds.length && rnd() < 0.2 ? pick(rnd, realIds) : badPathValue(rnd)));
        const query: string[] = [];
        for (const p of params.filter((x) => x.in === 'query')) {
          if (rnd() < 0.6) for (const v of badQueryValue(rnd, sample(p.schema, rnd))) query.push(`${encodeURIComponent(p.name)}=${v}`);
        }
        if (rnd() < 0.1) query.push(pick(rnd, ['a[b]=c', '__proto__[x]=1', 'constructor[prototype][y]=1', 'unknown=1', '%00=%00', '&&&', '=']));
        if (query.length) path += `?${query.join('&')}`;
        const headers: Record<string, string> = {};
        if (token) headers['authorization'] = `Bearer ${token}`;
        else if (rnd() < 0.1) headers['authorization'] = pick(rnd, ['Bearer', 'Bearer a.b.c', 'Basic YTpi', `Bearer ${'A'.repeat(4000)}.b.c`]);
        if (rnd() < 0.25) headers['range'] = pick(rnd, RANGES);
        if (rnd() < 0.05) headers['cookie'] = pick(rnd, ['__Host-kyc_session=' + 'A'.repeat(43), '__Host-kyc_session=%00', 'kyc_device=../../x']);
        if (rnd() < 0.05) headers['origin'] = pick(rnd, ['https://evil.example', 'null']);
        const schema = route.op.requestBody?.content?.['application/json']?.schema;
        let body: Buffer | null = null;
        let note = 'no-body';
        if (route.method !== 'GET' || rnd() < 0.05) {
          let m = mutateBody(rnd, sample(schema, rnd), limit);
          // a write with no path parameter and a valid body is a well-formed request, not malformed input: redraw
          // (duplicate keys are legal JSON, the last one wins: such a body is as valid as its last value)
          while ((m.note === 'valid' || m.note === 'duplicate-keys') && route.method !== 'GET' && !route.path.includes('{')) m = mutateBody(rnd, sample(schema, rnd), limit);
          if (schema || rnd() < 0.5) {
            body = m.body;
            note = m.note;
          }
        }
        if (body) {
          const ct = rnd() < 0.7 ? 'application/json' : pick(rnd, CONTENT_TYPES);
          if (ct) headers['content-type'] = ct;
          headers['content-length'] = String(body.length);
        }
        // now and then the wrong method on the route's path
        const method = rnd() < 0.03 ? pick(rnd, ['DELETE', 'PATCH', 'PUT', 'OPTIONS']) : route.method;
        out.push({ method, path, headers, body, note: `${who} ${route.method} ${route.path} ${note}` });
      }
    }
  }
  return out;
}

async function fuzz(a: TestAppliance, requests: Sent[]) {
  const port = Number(new URL(a.baseUrl).port);
  const agent = new Agent({ keepAlive: true, maxSockets: SOCKETS, ca: readFileSync(a.caCertPath ?? '', 'utf8') });
  const counts = { requests: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, dropped: 0, '4xxWithoutCode': 0 };
  const problems: string[] = [];
  const perKind = new Map<string, number>();
  const note = (kind: string, text: string) => {
    const n = perKind.get(kind) ?? 0;
    perKind.set(kind, n + 1);
    if (n < 8) problems.push(`${kind}: ${text}`);
  };
  const loginRedirects = { n: 0 };
  let next = 0;
  async function lane() {
    while (next < requests.length) {
      const req = requests[next++] as Sent;
      counts.requests++;
      let ans: Answer;
      try {
        ans = await send(agent, port, req);
      } catch (err) {
        counts.dropped++;
        note('dropped', `(${(err as Error).message}) ${req.method} ${req.path.slice(0, 200)} [${req.note}]`);
        continue;
      }
      const cls = `${Math.floor(ans.status / 100)}xx` as '2xx' | '3xx' | '4xx' | '5xx';
      if (cls in counts) counts[cls]++;
      if (ans.status >= 300 && ans.status < 400 && req.path.startsWith('/auth/login')) loginRedirects.n++;
      if (ans.status >= 500) note('5xx', `${ans.status} ${req.method} ${req.path.slice(0, 200)} [${req.note}] ${ans.body.slice(0, 200)}`);
      if (ans.status >= 400 && ans.status < 500) {
        let code = '';
        try {
          code = (JSON.parse(ans.body) as { error?: { code?: string } }).error?.code ?? '';
        } catch {
          /* not JSON */
        }
        if (!/^KYC_ERR_[A-Z_]+$/.test(code)) {
          counts['4xxWithoutCode']++;
          note('no code', `${ans.status} ${req.method} ${req.path.slice(0, 200)} [${req.note}] ${ans.body.slice(0, 200)}`);
        }
      }
    }
  }
  await Promise.all(Array.from({ length: SOCKETS }, () => lane()));
  agent.destroy();
  return { counts, problems, loginRedirects: loginRedirects.n };
}

t.test('fuzz: every OpenAPI route × every role × malformed input', async (t) => {
  const a = await startTestAppliance(t, { listen: true });
  const roles = { teller: await a.tokenFor('teller1'), auditor: await a.tokenFor('auditor1'), admin: await a.tokenFor('admin1') };
  // something real to aim reads at: a case with an invitation
  const created = await a.app.inject({ method: 'POST', url: '/api/cases', headers: { authorization: `Bearer ${roles.teller}` }, payload: newCaseBody() });
  t.equal(created.statusCode, 201, 'a case to aim at');
  const caseId = (created.json() as { id: string }).id;
  const inv = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/invitations`, headers: { authorization: `Bearer ${roles.teller}` } });
  t.equal(inv.statusCode, 201, 'an invitation to aim at');
  const invJson = inv.json() as { id?: string; invitationId?: string };
  const realIds = [caseId, invJson.id ?? invJson.invitationId ?? caseId, 'VIDEO-WITNESS', 'teller', 'customer'];

  const doc = (await a.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as { paths: Record<string, Record<string, Operation>> };
  const routes: Route[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    // /readyz answers 503 by design while a required component (Janus, here absent) is down: it reports, it does not fail
    if (path === '/readyz') continue;
    for (const [method, op] of Object.entries(ops)) routes.push({ method: method.toUpperCase(), path, op });
  }
  t.ok(routes.length >= 55, `${routes.length} routes from the OpenAPI document`);

  const client = new pg.Client({ connectionString: a.db.superUrl });
  await client.connect();
  t.teardown(() => client.end());
  // The worker's start-up retention run is a pg-boss job of its own: it must be over before the snapshot, or its
  // writes (its run row, its job's state) would be counted against the fuzz.
  for (let i = 0; i < 480; i++) {
    const q = await client.query<{ done: string; open: string }>(
      `SELECT count(*) FILTER (WHERE state = 'completed')::text AS done, count(*) FILTER (WHERE state <> 'completed')::text AS open FROM pgboss.job WHERE name = $1`,
      [RETENTION_QUEUE],
    );
    if (Number(q.rows[0]?.done) > 0 && Number(q.rows[0]?.open) === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const eventsBefore = new Set((await a.auditEvents()).map((e) => JSON.stringify(e)));
  const before = await snapshot(client);

  const requests = buildRequests(routes, { anonymous: null, ...roles }, realIds, a.config.http.bodyLimitBytes);
  const { counts, problems, loginRedirects } = await fuzz(a, requests);
  t.comment(`fuzz: ${counts.requests} requests, ${counts['2xx']} 2xx, ${counts['3xx']} 3xx, ${counts['4xx']} 4xx, ${counts['5xx']} 5xx, ${counts.dropped} dropped (seed ${SEED})`);
  for (const p of problems) t.comment(p);
  t.ok(counts.requests >= 10_000, 'at least 10,000 requests');
  t.equal(counts['5xx'], 0, 'no answer is a 5xx');
  t.equal(counts.dropped, 0, 'no connection dropped');
  t.equal(counts['4xxWithoutCode'], 0, 'every 4xx carries a KYC_ERR_* code');

  // nothing changed but the audit log (and a sign-in state per login redirect, which is what /auth/login is for)
  const events = await a.auditEvents();
  const after = await snapshot(client);
  // pg-boss's own bookkeeping (the in-process worker's maintenance time stamps) moves with the clock, not with requests
  const changed = [...after.keys()].filter((k) => before.get(k) !== after.get(k) && !AUDIT_TABLES.has(k) && k !== '"pgboss"."version"');
  const states = await client.query<{ c: string }>('SELECT count(*)::text AS c FROM oidc_login_states');
  const unexpected = changed.filter((k) => k !== '"public"."oidc_login_states"');
  t.same(unexpected, [], 'no table changed except the audit log');
  t.equal(Number(states.rows[0]?.c ?? 0), loginRedirects, 'sign-in states: one per login redirect, nothing else');
  const fresh = events.filter((e) => !eventsBefore.has(JSON.stringify(e)));
  const bad = fresh.filter((e) => e.result === 'success' && !READ_ACTIONS.has(e.action));
  t.same(
    bad.map((e) => `${e.action} ${e.actor.username} ${JSON.stringify(e.object)}`),
    [],
    'every new audit event is a refusal or a read',
  );
  const denied = fresh.filter((e) => e.result !== 'success').length;
  t.comment(`fuzz: audit events written: ${fresh.length} (${denied} refusals, ${fresh.length - denied} reads); login redirects ${loginRedirects}`);
});
