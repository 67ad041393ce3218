// Call quality and degrade, don't drop, end to end with real parts inside a network namespace made by the test: a
// real Janus whose event handler POSTs media statistics to the appliance's metrics listener, the appliance (built
// UI), the dev IdP and two headless Chromium through the real UI. While the call runs, each party's quality is
// stored and the auditor API returns it. Then the media path is shaped (UDP on the namespace's loopback, where
// all media flows: 150 kbit/s with a short queue, so packets are lost and delayed): the call steps down to audio
// (both pages say so, neither browser sends video, audio goes on); the shaping is removed: it steps back up. Both
// steps are audited session events, on the timeline and markers of the sealed recording; the auditor's case page
// draws the quality chart. Needs root (ip netns, tc) and `npm run build -w web`.
//
// This kernel has no netem qdisc (`tc qdisc add dev lo root netem loss 30% delay 200ms rate 150kbit` fails with
// "Error: Specified qdisc kind is unknown."); htb with a u32 filter and a short pfifo is available and gives the
// loss and queueing delay of a 150 kbit/s link.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Page } from 'playwright-core';
import { freePort, relayIntoNetns, startTestAppliance, WEB_BUILD } from '../helpers/appliance.js';
import { customerJoinsAndIsAdmitted, openBrowser, tellerOpensCaseAndInvites, TRACK_PEER_CONNECTIONS } from '../helpers/ui-browser.js';
import { signInThroughIdp, until } from '../harness/browser.js';
import { createNetns, type Netns } from '../harness/netns.js';
import { startTestJanus } from '../harness/janus.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** bytes the page has sent so far, per kind (all its open peer connections) */
async function bytesSent(page: Page): Promise<{ audio: number; video: number }> {
  return (await page.evaluate(`(async () => {
    const out = { audio: 0, video: 0 };
    for (const pc of window.__kycPcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => { if (s.type === 'outbound-rtp' && (s.kind === 'audio' || s.kind === 'video')) out[s.kind] += s.bytesSent || 0; });
    }
    return out;
  })()`)) as { audio: number; video: number };
}

/** kbit/s each kind is sent at over `ms` */
async function sendRates(page: Page, ms = 3000): Promise<{ audio: number; video: number }> {
  const a = await bytesSent(page);
  await sleep(ms);
  const b = await bytesSent(page);
  return { audio: ((b.audio - a.audio) * 8) / ms, video: ((b.video - a.video) * 8) / ms };
}

async function shape(ns: Netns, on: boolean, rate = '150kbit'): Promise<void> {
  const tc = (...args: string[]) => run('ip', ['netns', 'exec', ns.name, 'tc', ...args]);
  if (!on) {
    await tc('qdisc', 'del', 'dev', 'lo', 'root');
    return;
  }
  await tc('qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '10');
  await tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '1000mbit');
  await tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:20', 'htb', 'rate', rate, 'ceil', rate);
  await tc('qdisc', 'add', 'dev', 'lo', 'parent', '1:20', 'handle', '20:', 'pfifo', 'limit', '20');
  // UDP only (all media): signaling and HTTP over TCP stay as they are
  await tc('filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'protocol', '17', '0xff', 'flowid', '1:20');
}

const modeOf = async (page: Page) => page.getByTestId('call-status').getAttribute('data-call-mode');

async function waitMode(pages: Page[], accept: (mode: string | null) => boolean, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const modes = await Promise.all(pages.map(modeOf));
    if (modes.every(accept)) return modes as string[];
    if (Date.now() > deadline) throw new Error(`call mode still ${JSON.stringify(modes)} after ${timeoutMs} ms`);
    await sleep(250);
  }
}

t.test('quality of a real call is stored for the auditor; under a 150 kbit/s lossy link the call steps down to audio and back, marked in the recording', { timeout: 360_000 }, async (t) => {
  const ns = await createNetns(t);
  const metricsPort = await freePort();
  const password = 'janus-events-secret-for-this-test';
  const janus = await startTestJanus(ns, { eventHandler: { backend: `http://127.0.0.1:${metricsPort}/internal/janus-events`, user: 'janus', password, statsPeriodSecs: 1 } });
  t.teardown(() => janus.stop());
  const relay = await relayIntoNetns(ns, metricsPort);
  t.teardown(() => new Promise<void>((r) => relay.close(() => r())));
  const roomKeyFile = join(ns.dir, 'janus-room-key');
  writeFileSync(roomKeyFile, janus.roomAdminKey, { mode: 0o600 });
  const eventsSecretFile = join(ns.dir, 'janus-events-secret');
  writeFileSync(eventsSecretFile, password, { mode: 0o600 });
  const a = await startTestAppliance(t, {
    netns: ns,
    webRoot: WEB_BUILD,
    env: {
      KYC_JANUS_WS_URL: janus.url,
      KYC_JANUS_ROOM_KEY_FILE: roomKeyFile,
      KYC_JANUS_EVENTS_SECRET_FILE: eventsSecretFile,
      KYC_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
      KYC_RECORDING_SETTLE_SECONDS: '1',
      KYC_SEAL_RECONCILE_SECONDS: '2',
      // quicker than the defaults, so the test takes seconds rather than minutes; same rules
      KYC_DEGRADE_DOWN_SECONDS: '4',
      KYC_DEGRADE_UP_SECONDS: '8',
    },
  });
  const chromium = await ns.wrapper('/usr/bin/chromium');

  const tellerBrowser = await openBrowser(t, a, { executablePath: chromium });
  await tellerBrowser.context.addInitScript(TRACK_PEER_CONNECTIONS);
  const teller = await tellerBrowser.newPage();
  // a product without required script steps: these tests are about the call itself
  const { caseId, link, code } = await tellerOpensCaseAndInvites(teller, a.baseUrl, { product: 'VIDEO-WITNESS' });

  const customerBrowser = await openBrowser(t, a, { executablePath: chromium, viewport: { width: 390, height: 844 } });
  await customerBrowser.context.addInitScript(TRACK_PEER_CONNECTIONS);
  const customer = await customerBrowser.newPage();
  await customerJoinsAndIsAdmitted(customer, teller, link, code);
  await teller.getByTestId('remote-video').waitFor({ timeout: 30_000 });
  await customer.getByTestId('remote-video').waitFor({ timeout: 30_000 });
  const pages = [teller, customer];

  // ---- part 2: quality stored per party while the call runs ----
  const auditor = { authorization: `Bearer ${await a.tokenFor('auditor1')}` };
  type Quality = {
    samples: { party: string; source: string; bitrateKbps: number | null; lossPct: number | null; rttMs: number | null }[];
    incidents: { kind: string; data: Record<string, unknown> }[];
  };
  const quality = async (): Promise<Quality> => {
    const r = await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/quality`, headers: auditor });
    t.equal(r.statusCode, 200);
    return r.json() as Quality;
  };
  let q = await quality();
  const has = (q: Quality, party: string, source: string) => q.samples.some((s) => s.party === party && s.source === source && (s.bitrateKbps ?? 0) > 0);
  for (let i = 0; i < 60 && !['teller', 'customer'].every((p) => has(q, p, 'janus') && has(q, p, 'browser')); i++) {
    await sleep(1000);
    q = await quality();
  }
  for (const party of ['teller', 'customer']) {
    t.ok(has(q, party, 'janus'), `${party}: Janus's samples of its uplink are stored`);
    t.ok(has(q, party, 'browser'), `${party}: its browser's samples are stored`);
  }
  t.ok(
    q.samples.some((s) => s.rttMs !== null),
    'with round-trip times',
  );
  t.comment(`samples after ${q.samples.length / 4} buckets: ${JSON.stringify(q.samples.slice(-4))}`);
  const links = teller.locator('[data-testid="call-link"][data-level="good"]');
  await until(teller, `document.querySelectorAll('[data-testid="call-link"]:not([data-level="unknown"])').length === 2`);
  t.equal(await teller.getByTestId('call-link').count(), 2, "the teller sees both parties' network quality");
  t.comment(`teller's link indicators: ${await teller.getByTestId('call-links').innerText()} (${await links.count()} good)`);
  t.same(await Promise.all(pages.map(modeOf)), ['video', 'video'], 'a clean link: video');
  const before = await Promise.all(pages.map((p) => sendRates(p)));
  t.comment(`send rates before shaping (kbit/s): ${JSON.stringify(before)}`);
  for (const r of before) t.ok(r.video > 50 && r.audio > 5, 'both send video and audio');

  // ---- part 3: degrade under a lossy 150 kbit/s link, and back ----
  await shape(ns, true);
  t.teardown(() => shape(ns, false).catch(() => undefined));
  const shapedAt = Date.now();
  const down = await waitMode(pages, (m) => m === 'audio' || m === 'chat', 60_000);
  t.comment(`stepped down to ${down.join('/')} ${((Date.now() - shapedAt) / 1000).toFixed(1)} s after shaping`);
  t.same(down, ['audio', 'audio'], 'both pages: the call goes on with audio only');
  for (const page of pages) t.equal(await page.locator('[data-notice="call-mode-audio"]').count(), 1, 'with a notice');
  await sleep(1500);
  const shaped = await Promise.all(pages.map((p) => sendRates(p)));
  t.comment(`send rates stepped down (kbit/s): ${JSON.stringify(shaped)}`);
  for (const r of shaped) {
    t.ok(r.video < 1, `no video sent (${r.video.toFixed(2)} kbit/s)`);
    t.ok(r.audio > 1, `audio goes on (${r.audio.toFixed(1)} kbit/s)`);
  }
  // still shaped: the call stays in audio (the clean stretch to step back up never starts)
  await sleep(8000);
  t.same(await Promise.all(pages.map(modeOf)), ['audio', 'audio'], 'still audio while the link is bad');

  await shape(ns, false);
  const clearedAt = Date.now();
  const up = await waitMode(pages, (m) => m === 'video', 90_000).catch(async (err: Error) => {
    const now = await quality();
    t.comment(`not back up; incidents ${JSON.stringify(now.incidents)}; last samples ${JSON.stringify(now.samples.slice(-8))}`);
    throw err;
  });
  t.comment(`stepped back up ${((Date.now() - clearedAt) / 1000).toFixed(1)} s after the shaping was removed`);
  t.same(up, ['video', 'video'], 'video again on both pages');
  await sleep(3000);
  const after = await Promise.all(pages.map((p) => sendRates(p)));
  t.comment(`send rates stepped up (kbit/s): ${JSON.stringify(after)}`);
  for (const r of after) t.ok(r.video > 20, `video is sent again (${r.video.toFixed(1)} kbit/s)`);

  // ---- media fails entirely: UDP shaped to 8 bit/s with a one-packet queue, so practically every packet is dropped
  // (this kernel has no drop action either); the parties go on in chat, then media comes back ----
  await shape(ns, true, '8bit');
  const blockedAt = Date.now();
  const chat = await waitMode(pages, (m) => m === 'chat', 60_000);
  t.comment(`stepped to chat ${((Date.now() - blockedAt) / 1000).toFixed(1)} s after media was cut`);
  t.same(chat, ['chat', 'chat'], 'both pages: the call goes on in the chat');
  for (const page of pages) t.equal(await page.locator('[data-notice="call-mode-chat"]').count(), 1, 'with a notice');
  await customer.getByTestId('chat-input').fill('还能听到吗？');
  await customer.getByTestId('chat-send').click();
  await teller.locator('[data-testid="chat-message"]', { hasText: '还能听到吗？' }).waitFor({ timeout: 15_000 });
  t.pass('a chat message reaches the teller while the media is down');
  await shape(ns, false);
  const restoredAt = Date.now();
  const back = await waitMode(pages, (m) => m === 'video', 120_000);
  t.comment(`video again ${((Date.now() - restoredAt) / 1000).toFixed(1)} s after the media path came back`);
  t.same(back, ['video', 'video'], 'media back: audio first, then video');

  // hang up; the recording seals with the steps among its markers
  await teller.getByTestId('hangup-button').click();
  await teller.getByTestId('session-ended').waitFor({ timeout: 15_000 });
  const tellerAuth = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const sessions = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/sessions`, headers: tellerAuth })).json();
  const sessionId = (sessions.items ?? sessions)[0]?.id as string;
  let rec: { id?: string; status: string } = { status: '' };
  for (let i = 0; i < 180 && rec.status !== 'sealed' && rec.status !== 'failed'; i++) {
    await sleep(500);
    rec = (await a.app.inject({ method: 'GET', url: `/api/sessions/${sessionId}/recording`, headers: tellerAuth })).json();
  }
  t.equal(rec.status, 'sealed', 'the recording is sealed');

  q = await quality();
  const steps = q.incidents.filter((i) => i.kind === 'call-mode').map((i) => `${String(i.data['from'])}→${String(i.data['to'])}`);
  t.same(steps.slice(0, 2), ['video→audio', 'audio→video'], 'the auditor API lists the step down and back up');
  // cutting the media: the loss it causes may step the call to audio first, then media lost steps it to chat
  const cut = steps.slice(2);
  t.ok(cut.length >= 3 && cut.at(-1) === 'audio→video', `then to chat and back to video (${cut.join(', ')})`);
  t.equal(cut.filter((x) => x.endsWith('→chat')).length, 1, 'one step to chat');
  t.equal(cut[cut.indexOf(cut.find((x) => x.endsWith('→chat')) ?? '') + 1], 'chat→audio', 'chat → audio when the media comes back');
  const timeline = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/timeline`, headers: auditor })).json();
  const tlSteps = timeline.sessions[0].events
    .filter((e: { kind: string }) => e.kind === 'call-mode')
    .map((e: { data: Record<string, string> }) => `${e.data['from']}→${e.data['to']}:${e.data['reason']}`);
  t.equal(tlSteps.length, steps.length, `every step on the case timeline (${tlSteps.join(', ')})`);
  t.match(tlSteps[1], /^audio→video:recovered$/);
  t.ok(tlSteps.some((x: string) => /→chat:media-lost$/.test(x)) && tlSteps.includes('chat→audio:media-back'), 'to chat as the media was lost, back when it came back');
  const recording = timeline.sessions[0].recording as { id: string };
  const replay = await a.app.inject({ method: 'POST', url: `/api/recordings/${recording.id}/replay`, headers: auditor });
  t.equal(replay.statusCode, 200);
  const markers = (replay.json().markers as { kind: string; data: Record<string, unknown>; offsetMs: number }[]).filter((m) => m.kind === 'call-mode');
  t.same(
    markers.map((m) => `${String(m.data['from'])}→${String(m.data['to'])}`),
    steps,
    'every step is a marker of the sealed recording',
  );
  t.ok(
    markers.every((m) => m.offsetMs > 0),
    `at their offsets into the recording (${markers.map((m) => m.offsetMs).join(', ')} ms)`,
  );
  const audited = (await a.auditEvents()).filter((e) => e.action === 'session.call_mode');
  t.equal(audited.length, steps.length, 'every step audited');
  t.equal(audited[0]?.actor.username, 'system', "as the appliance's decision");

  // the auditor's case page draws the chart
  const auditorBrowser = await openBrowser(t, a, { executablePath: chromium });
  const page = await auditorBrowser.newPage();
  await page.goto(`${a.baseUrl}/archive/cases/${caseId}`);
  await signInThroughIdp(page, a.baseUrl, 'auditor1', 'auditor1');
  await page.locator('[data-testid="quality-chart"] canvas').first().waitFor({ timeout: 30_000 });
  for (const name of ['bitrate', 'loss', 'rtt']) {
    const chart = page.locator(`[data-testid="quality-chart"][data-chart="${name}"]`);
    t.equal(await chart.locator('canvas').count(), 1, `${name}: a canvas`);
    t.ok(Number(await chart.getAttribute('data-points')) > 3, `${name}: ${await chart.getAttribute('data-points')} points`);
  }
  const painted = (await page.evaluate(`(() => {
    const c = document.querySelector('[data-chart="bitrate"] canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  })()`)) as number;
  t.ok(painted > 500, `the bitrate chart is drawn (${painted} painted pixels)`);
  t.equal(await page.locator('[data-testid="quality-incident"][data-kind="call-mode"]').count(), steps.length, 'the steps listed beside the chart');
  t.equal(await page.locator('[data-testid="timeline-event"][data-kind="call-mode"]').count(), steps.length, 'and on the timeline');
  await auditorBrowser.screenshot(page, 'e2e-auditor-call-quality');
});
