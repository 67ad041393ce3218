import t from 'tap';
import { freePort, newCaseBody, startTestAppliance, type TestAppliance } from '../helpers/appliance.js';
import { admitCustomer } from '../helpers/kyc-session.js';
import { loadConfig } from '../../src/config/load.js';
import { sample } from './prometheus-text.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

async function headers(a: TestAppliance, user: string) {
  return { authorization: `Bearer ${await a.tokenFor(user)}` };
}

t.test('KYC_METRICS_LISTEN: host:port, off, and bad values reported', async (t) => {
  const dir = t.testdir({});
  const base = { KYC_PROFILE: 'development', KYC_DATA_DIR: dir };
  const load = (v?: string) => loadConfig({ env: { ...base, ...(v === undefined ? {} : { KYC_METRICS_LISTEN: v }) }, cwd: dir, allowMissingSecrets: true }).metrics.listen;
  t.same(load(), { host: '127.0.0.1', port: 9464 }, 'default 127.0.0.1:9464');
  t.same(load('[::1]:9100'), { host: '::1', port: 9100 });
  t.equal(load('off'), null, 'off disables');
  for (const bad of ['9464', '127.0.0.1:0', '127.0.0.1:70000', 'a b:1']) t.throws(() => load(bad), /KYC_METRICS_LISTEN/, `${bad} refused`);
});

t.test('GET /metrics on its own listener: every family, values that move with a live session', async (t) => {
  const port = await freePort();
  const secretDir = t.testdir({});
  const eventsSecret = join(secretDir, 'janus-events');
  writeFileSync(eventsSecret, 'events-secret-0123456789\n', { mode: 0o600 });
  const a = await startTestAppliance(t, { listen: true, env: { KYC_METRICS_LISTEN: `127.0.0.1:${port}`, KYC_JANUS_EVENTS_SECRET_FILE: eventsSecret } });
  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    t.equal(res.status, 200);
    t.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return res.text();
  };
  const before = await scrape();
  for (const family of [
    'kyc_sessions_active',
    'kyc_join_total',
    'kyc_join_seconds',
    'kyc_slowlink_total',
    'kyc_recordings_in_progress',
    'kyc_seal_queue_depth',
    'kyc_seal_seconds',
    'kyc_seal_failures_total',
    'kyc_av_skew_seconds',
    'kyc_audit_checkpoint_pending_events',
    'kyc_disk_free_bytes',
    'kyc_disk_days_left',
    'kyc_certificate_expiry_seconds',
    'kyc_audit_log_size',
    'kyc_audit_checkpoint_age_seconds',
    'kyc_db_pool_total',
    'kyc_db_pool_idle',
    'kyc_db_pool_waiting',
    'process_cpu_seconds_total',
    'nodejs_heap_size_used_bytes',
  ]) {
    t.match(before, new RegExp(`^# TYPE ${family} `, 'm'), `${family} present`);
  }
  t.equal(sample(before, 'kyc_sessions_active'), 0);
  t.equal(sample(before, 'kyc_seal_queue_depth'), 0);
  t.equal(sample(before, 'kyc_join_total', 'stage="socket_connected",result="ok"'), 0, 'funnel stages start at 0');
  t.ok((sample(before, 'kyc_disk_free_bytes', 'volume="recordings"') ?? 0) > 0, 'free bytes of the recordings volume');
  t.equal(sample(before, 'kyc_disk_days_left', 'volume="archive"'), Number.POSITIVE_INFINITY, 'nothing sealed yet: no ingest, +Inf days');
  const server = sample(before, 'kyc_certificate_expiry_seconds', 'cert="server"') ?? 0;
  t.ok(server > 30 * 86400, `server certificate expiry in the future (${Math.round(server / 86400)} days)`);
  t.ok((sample(before, 'kyc_certificate_expiry_seconds', 'cert="ca"') ?? 0) > server, 'the CA outlives the server certificate');
  t.ok((sample(before, 'kyc_db_pool_total') ?? 0) >= 1);

  const teller = await headers(a, 'teller1');
  const c = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody() });
  t.equal(c.statusCode, 201);
  const sizeBefore = sample(before, 'kyc_audit_log_size') ?? 0;
  const { sessionId } = await admitCustomer(a, teller, c.json().id as string);
  await a.runtime.auditLog.sequence();
  const live = await scrape();
  t.equal(sample(live, 'kyc_sessions_active'), 1, 'an admitted session is active');
  t.ok((sample(live, 'kyc_audit_log_size') ?? 0) > sizeBefore, 'the audit log grew');

  const admin = await headers(a, 'admin1');
  const ops = await a.app.inject({ method: 'GET', url: '/api/admin/ops', headers: admin });
  t.equal(ops.statusCode, 200);
  t.equal(ops.json().current.sessionsActive, 1, 'the admin dashboard sees the live session');
  t.ok(ops.json().history.length >= 1, 'with a history');
  t.same(ops.json().warnings, [], 'nothing to warn about');
  t.notMatch(ops.body, /张三|11010519491231002X|13812345678/, 'no customer data in the ops view');
  // the thresholds behind the warnings (disk < 7 days, checkpoint older than twice its 60 s interval with events pending)
  const values = await a.runtime.ctx.metrics.values();
  const warned = a.runtime.ctx.ops.warnings({
    ...values,
    disk: { recordings: { freeBytes: 2 ** 30, daysLeft: 3.25 }, archive: { freeBytes: 2 ** 31, daysLeft: 7.5 } },
    checkpointAgeSeconds: 121,
    checkpointUnsealedEvents: 4,
  });
  t.same(
    warned.map((w) => [w.code, w.subject, w.value]),
    [
      ['disk_low', 'recordings', 3.3],
      ['checkpoint_late', '', 121],
    ],
  );
  t.same(a.runtime.ctx.ops.warnings({ ...values, checkpointAgeSeconds: 121, checkpointUnsealedEvents: 0 }), [], 'an idle log needs no checkpoint');
  const end = await a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/hangup`, headers: teller, payload: {} });
  t.ok(end.statusCode < 300, `session ended (${end.statusCode} ${end.body.slice(0, 200)})`);
  const after = await scrape();
  t.equal(sample(after, 'kyc_sessions_active'), 0, 'ended: no longer active');
  t.equal(sample(after, 'kyc_seal_queue_depth'), 1, 'its recording waits in the seal queue');

  const wrongPath = await fetch(`http://127.0.0.1:${port}/api/cases`);
  t.equal(wrongPath.status, 404, 'the metrics listener serves nothing else');
  const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST', body: 'x' });
  t.equal(post.status, 405);
  const onApi = await a.app.inject({ method: 'GET', url: '/metrics' });
  t.not(onApi.statusCode, 200, 'not on the HTTPS API listener');

  // Janus's event handler feed: basic auth, JSON only, bounded, never a crash
  const events = `http://127.0.0.1:${port}/internal/janus-events`;
  const auth = (p: string) => ({ authorization: `Basic ${Buffer.from(`janus:${p}`).toString('base64')}`, 'content-type': 'application/json' });
  const media = JSON.stringify([{ type: 32, handle_id: 1, event: { media: 'audio', 'packets-received': 10, lost: 0 } }]);
  t.equal((await fetch(events, { method: 'POST', body: media })).status, 401, 'no credentials: 401');
  t.equal((await fetch(events, { method: 'POST', headers: auth('wrong-secret-0123456789'), body: media })).status, 401, 'wrong secret: 401');
  t.equal((await fetch(events, { method: 'GET', headers: auth('events-secret-0123456789') })).status, 405);
  for (const body of ['{not json', '42', '[1,2]', '[{"type":"32"}]']) {
    const r = await fetch(events, { method: 'POST', headers: auth('events-secret-0123456789'), body });
    t.equal(r.status, 400, `${body}: 400`);
    t.equal((await r.text()).trim(), 'KYC_ERR_VALIDATION');
  }
  const big = await fetch(events, { method: 'POST', headers: auth('events-secret-0123456789'), body: `[${'{"type":1},'.repeat(120_000)}{"type":1}]` });
  t.equal(big.status, 413, 'over 1 MiB: 413');
  const ok = await fetch(events, { method: 'POST', headers: auth('events-secret-0123456789'), body: media });
  t.equal(ok.status, 200, 'a well-formed batch is accepted');
  t.equal(sample(await scrape(), 'kyc_janus_events_total', 'type="32"'), 1, 'and counted');
});
