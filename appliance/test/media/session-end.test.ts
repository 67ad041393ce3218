// Calls that never end: both parties leaving, or an appliance restart in the middle of a call, must end the session
// (and request its seal); afterwards the customer's link and device cookie neither rejoin, nor publish, nor upload.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import pg from 'pg';
import { multipartFile, PNG, startTestAppliance, type TestAppliance } from '../helpers/appliance.js';
import { applianceWithoutMedia, liveSessionOf, openSignaling, waitingCustomer } from '../helpers/signaling-client.js';
import { createNetns } from '../harness/netns.js';
import { waitFor } from '../helpers/recording-fixtures.js';
import { OFFER } from '../harness/sdp.js';
import { startTestJanus } from '../harness/janus.js';
import { CLOSE_CODES } from '../../src/media/protocol.js';

/** The appliance with a real Janus in a network namespace of its own (no worker: nothing here is sealed). */
async function applianceWithJanus(t: Test): Promise<TestAppliance> {
  const ns = await createNetns(t);
  const janus = await startTestJanus(ns);
  t.teardown(() => janus.stop());
  const roomKeyFile = join(ns.dir, 'janus-room-key');
  writeFileSync(roomKeyFile, janus.roomAdminKey, { mode: 0o600 });
  return startTestAppliance(t, { env: { KYC_JANUS_WS_URL: janus.url, KYC_JANUS_ROOM_KEY_FILE: roomKeyFile, KYC_WORKER_IN_PROCESS: 'false' } });
}

/** What an ended session leaves, and what its customer can no longer do. */
async function assertEndedForGood(t: Test, a: TestAppliance, su: pg.Pool, s: { sessionId: string; token: string; cookies: Record<string, string> }, reason: string): Promise<void> {
  const row = (await su.query('SELECT state, end_reason FROM call_sessions WHERE id = $1', [s.sessionId])).rows[0];
  t.same(row, { state: 'ended', end_reason: reason }, `the session ended: ${reason}`);
  const rec = (await su.query('SELECT count(*)::int AS n FROM recordings WHERE session_id = $1', [s.sessionId])).rows[0].n;
  t.equal(rec, 1, 'its recording is requested for sealing');
  const events = await a.auditEvents();
  t.ok(
    events.some((e) => e.action === 'session.hangup' && e.object?.id === s.sessionId && e.actor.auth === 'system'),
    'the end is audited (system)',
  );
  t.ok(
    events.some((e) => e.action === 'recording.seal_requested' && e.details?.sessionId === s.sessionId),
    'the seal request is audited',
  );

  const again = await openSignaling(a, `invitation=${s.token}`, { cookie: `__Host-kyc_device=${s.cookies['__Host-kyc_device']}` });
  t.equal(await again.closed, CLOSE_CODES.UNAUTHENTICATED, 'the link and device cookie cannot open the call again (so cannot publish)');
  const up = multipartFile('late.png', PNG);
  const upload = await a.app.inject({ method: 'POST', url: `/api/sessions/${s.sessionId}/files?invitation=${s.token}`, cookies: s.cookies, headers: up.headers, payload: up.payload });
  t.equal(upload.statusCode, 404, 'nor upload into it');
  t.equal((await a.app.inject({ method: 'GET', url: `/api/join/${s.token}`, cookies: s.cookies })).json().step, 'ended', 'the join page says it ended');
}

t.test('an appliance restart mid-call: a live session nobody comes back to is ended and sealed', async (t) => {
  // Janus is not reachable: nothing here needs media, only the session's life.
  const { a, su } = await applianceWithoutMedia(t);
  const teller = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const live = a.runtime.ctx.live;
  if (!live) throw new Error('live media not configured');

  // Sessions admitted by the appliance before it restarted: this process's hub has never heard of them.
  const stale = await waitingCustomer(a, teller);
  const fresh = await waitingCustomer(a, teller);
  const staleId = await liveSessionOf(su, stale.caseId, '5 minutes');
  const freshId = await liveSessionOf(su, fresh.caseId, '1 second');
  const up = multipartFile('before.png', PNG);
  const before = await a.app.inject({ method: 'POST', url: `/api/sessions/${staleId}/files?invitation=${stale.token}`, cookies: stale.cookies, headers: up.headers, payload: up.payload });
  t.equal(before.statusCode, 201, 'while live, the customer could upload');
  // ...and that was before the restart: nothing has happened in the session since.
  await su.query(`UPDATE session_events SET at = now() - interval '5 minutes' WHERE session_id = $1`, [staleId]);

  await live.endOrphaned();
  await assertEndedForGood(t, a, su, { sessionId: staleId, ...stale }, 'abandoned: no party came back after an appliance restart');
  t.equal((await su.query('SELECT state FROM call_sessions WHERE id = $1', [freshId])).rows[0].state, 'live', 'a session still within the reconnect grace stays live');
});

t.test('both parties leave: the session ends and is sealed', { timeout: 120_000 }, async (t) => {
  const a = await applianceWithJanus(t);
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 2 });
  t.teardown(() => su.end());
  const teller = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const c = await waitingCustomer(a, teller);
  const admit = await a.app.inject({ method: 'POST', url: `/api/cases/${c.caseId}/admit`, headers: teller });
  t.equal(admit.statusCode, 200, admit.body);
  const sessionId = admit.json().id as string;

  const tellerWs = await openSignaling(a, `session=${sessionId}`, teller);
  const customerWs = await openSignaling(a, `invitation=${c.token}`, { cookie: `__Host-kyc_device=${c.cookies['__Host-kyc_device']}` });
  for (const [who, s] of [
    ['teller', tellerWs],
    ['customer', customerWs],
  ] as const) {
    s.ws.send(JSON.stringify({ type: 'join', rid: 1 }));
    await waitFor(`${who} joined`, async () => s.frames.find((f) => f.type === 'joined'));
  }
  t.pass('both joined');
  tellerWs.ws.send(JSON.stringify({ type: 'leave' }));
  await tellerWs.closed;
  t.equal((await su.query('SELECT state FROM call_sessions WHERE id = $1', [sessionId])).rows[0].state, 'live', 'one party left: still live');
  customerWs.ws.send(JSON.stringify({ type: 'leave' }));
  await customerWs.closed;
  await waitFor('the session ended', async () => (await su.query(`SELECT 1 FROM call_sessions WHERE id = $1 AND state = 'ended'`, [sessionId])).rowCount);
  await waitFor('the seal requested', async () => (await su.query('SELECT 1 FROM recordings WHERE session_id = $1', [sessionId])).rowCount);
  await assertEndedForGood(t, a, su, { sessionId, ...c }, 'abandoned: both parties left');
});

t.test('reconnections and recordings per session are capped with a clear message', { timeout: 120_000 }, async (t) => {
  const a = await applianceWithJanus(t);
  const teller = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const c = await waitingCustomer(a, teller);
  const sessionId = (await a.app.inject({ method: 'POST', url: `/api/cases/${c.caseId}/admit`, headers: teller })).json().id as string;
  const customer = { cookie: `__Host-kyc_device=${c.cookies['__Host-kyc_device']}` };

  // Recordings already numbered up to the two-digit limit (the sealer's rule): another publish is refused.
  const first = await openSignaling(a, `invitation=${c.token}`, customer);
  first.ws.send(JSON.stringify({ type: 'join', rid: 1 }));
  await waitFor('joined', async () => first.frames.find((f) => f.type === 'joined'));
  writeFileSync(join(a.config.recording.dir, sessionId, 'customer-s99-audio.mjr'), 'a recording from earlier in the call');
  first.ws.send(JSON.stringify({ type: 'publish', rid: 2, jsep: { type: 'offer', sdp: OFFER }, audio: true, video: true }));
  const refusedPublish = await waitFor('publish refused', async () => first.frames.find((f) => f.type === 'error' && f.rid === 2));
  t.match(refusedPublish, { code: 'KYC_ERR_SIGNAL_LIMIT', message: /99 recordings of the customer.*start a new session/ }, 'publish past segment 99 is refused, with why');
  t.notOk(
    first.frames.some((f) => f.type === 'published'),
    'nothing was published',
  );

  // The customer rejoins until the cap (every join on a new socket replaces the previous one).
  let joins = 1;
  let last = first;
  for (; joins < 60; joins++) {
    const s = await openSignaling(a, `invitation=${c.token}`, customer);
    s.ws.send(JSON.stringify({ type: 'join', rid: 1 }));
    const answer = await waitFor('an answer to join', async () => s.frames.find((f) => f.type === 'joined' || f.type === 'error'));
    last = s;
    if (answer.type === 'error') {
      t.match(answer, { code: 'KYC_ERR_SIGNAL_LIMIT', message: /rejoined 50 times.*start a new session/ }, 'the refusal says why');
      break;
    }
  }
  t.equal(joins, 50, 'the 51st join of one party is refused');
  t.notOk(
    last.frames.some((f) => f.type === 'joined'),
    'the refused socket is not in the call',
  );
});
