// Per-call quality stored beside the case (real appliance and PostgreSQL): the service folds Janus's and the
// browsers' figures into one sample per party, source and 5 s bucket, caps them per session, throttles slowlink
// incidents and steps the call through the degrade machine; the auditor's API returns them, bounded to the case,
// and refuses everybody else. The clock is the test's.
import t from 'tap';
import { DEFAULT_DEGRADE_THRESHOLDS } from '../../src/domain/call-degrade.js';
import { CallQuality } from '../../src/services/call-quality.js';
import type { DegradeStep } from '../../src/domain/call-degrade.js';
import { newCaseBody, startTestAppliance } from '../helpers/appliance.js';
import { admitCustomer } from '../helpers/kyc-session.js';

t.test('samples per party and source, capped; incidents throttled; the auditor reads them', async (t) => {
  const a = await startTestAppliance(t);
  const teller = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const auditor = { authorization: `Bearer ${await a.tokenFor('auditor1')}` };
  const c = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody() });
  const caseId = c.json().id as string;
  const { sessionId } = await admitCustomer(a, teller, caseId);

  let now = Date.parse('2026-12-03T10:00:00Z');
  const steps: DegradeStep[] = [];
  const quality = new CallQuality({
    pool: a.runtime.ctx.pool,
    thresholds: DEFAULT_DEGRADE_THRESHOLDS,
    onStep: (id, step) => {
      t.equal(id, sessionId);
      steps.push(step);
    },
    maxSamplesPerSession: 7,
    now: () => now,
  });
  // 12 s of reports every second: Janus per medium for both uplinks, a browser summary every 5 s
  for (let s = 0; s < 12; s++) {
    for (const party of ['teller', 'customer'] as const) {
      quality.janus(sessionId, party, 'up', 'audio', { bitrateBps: 40_000, lossRatio: 0, rttMs: 20, jitterMs: 2 });
      quality.janus(sessionId, party, 'up', 'video', { bitrateBps: 400_000 + s * 1000, lossRatio: 0.01, rttMs: 30, jitterMs: 4 });
      if (s % 5 === 0) quality.browser(sessionId, party, { bitrateBps: 420_000, lossRatio: 0.02, rttMs: 25, jitterMs: 3, availableKbps: 900 });
    }
    quality.tick();
    now += 1000;
  }
  await quality.flush();
  const r = await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/quality`, headers: auditor });
  t.equal(r.statusCode, 200);
  type View = {
    samples: { party: string; source: string; t: number; bitrateKbps: number; lossPct: number; rttMs: number; availableKbps: number | null }[];
    incidents: { kind: string; party: string; data: Record<string, unknown> }[];
  };
  const view = r.json() as View;
  // buckets start at 0 s and 5 s (closed: 5 s passed); the 10 s bucket is still open
  const janusTeller = view.samples.filter((s) => s.party === 'teller' && s.source === 'janus');
  t.equal(janusTeller.length, 2, "two closed 5 s buckets of the teller's uplink");
  t.equal(janusTeller[0]!.t, Date.parse('2026-12-03T10:00:00Z'));
  // audio 40 + video averaged over 0..4 s (400..404 → 402) kbit/s
  t.equal(janusTeller[0]!.bitrateKbps, 442, 'bitrate: each medium averaged, then added');
  t.equal(janusTeller[0]!.lossPct, 0.5, 'loss: mean of the reports (0 % audio, 1 % video)');
  t.equal(janusTeller[0]!.rttMs, 25);
  const browserTeller = view.samples.filter((s) => s.party === 'teller' && s.source === 'browser');
  t.equal(browserTeller.length, 2);
  t.equal(browserTeller[0]!.availableKbps, 900);
  t.equal(browserTeller[0]!.lossPct, 2);
  t.equal(view.samples.length, 7, 'eight closed buckets, capped at 7 for the session');
  t.equal(view.samples.filter((s) => s.party === 'customer' && s.source === 'browser').length, 1, 'the last one over the cap is dropped');
  t.same(steps, [], 'a clean call stays in video');

  // slowlinks: three in a row step the call down at once; only one incident per party per 10 s is stored
  for (let i = 0; i < 3; i++) {
    quality.slowlink(sessionId, 'customer', { uplink: true, lost: 40 });
    now += 500;
  }
  t.same(
    steps.map((s) => [s.from, s.to, s.reason, s.party]),
    [['video', 'audio', 'slowlink', 'customer']],
  );
  t.equal(quality.mode(sessionId), 'audio');
  // the teller's browser saw the video it receives freeze twice since its last summary: one freeze incident
  quality.browser(sessionId, 'teller', { freezes: 2 });
  quality.browser(sessionId, 'teller', { freezes: 0 });
  quality.ended(sessionId);
  await quality.flush();
  const after = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/quality`, headers: auditor })).json() as View;
  t.same(
    after.incidents.map((i) => [i.kind, i.party, i.data['lost'] ?? i.data['freezes']]),
    [
      ['slowlink', 'customer', 40],
      ['freeze', 'teller', 2],
    ],
    'one slowlink incident and one freeze stored',
  );
  t.equal(after.samples.length, 7, 'the cap holds when the session ends');

  // the case timeline carries the incident beside the session's events
  const tl = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/timeline`, headers: auditor })).json();
  t.same(
    tl.sessions[0].qualityIncidents.map((i: { kind: string }) => i.kind),
    ['slowlink', 'freeze'],
  );
  t.equal(tl.truncated.qualityIncidents, false);

  // auditor only, case-scoped, bad input refused
  t.equal((await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/quality`, headers: teller })).statusCode, 403, 'not the teller');
  t.equal((await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/quality`, headers: { authorization: `Bearer ${await a.tokenFor('admin1')}` } })).statusCode, 403, 'not an admin');
  const missing = await a.app.inject({ method: 'GET', url: '/api/cases/00000000-0000-4000-8000-000000000000/quality', headers: auditor });
  t.equal(missing.statusCode, 404);
  const bad = await a.app.inject({ method: 'GET', url: '/api/cases/not-a-uuid/quality', headers: auditor });
  t.equal(bad.statusCode, 400);
  t.match(bad.json().error.code, /^KYC_ERR_/);
  const events = await a.auditEvents();
  t.ok(
    events.some((e) => e.action === 'case.view' && e.details?.['view'] === 'quality' && e.actor.username === 'auditor1'),
    "the auditor's view is audited",
  );
});
