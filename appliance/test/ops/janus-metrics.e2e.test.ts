// /metrics while a real call runs: our Janus (with its sample event handler POSTing media statistics to the
// appliance's metrics listener), the signaling hub and two headless Chromium inside a network namespace this
// test creates. Scraped before, during and after: the join funnel, recordings in progress and Janus's media
// statistics move. Needs root (ip netns).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import pg from 'pg';
import t from 'tap';
import { createTestDatabase } from '@kyc/compliance/testing';
import { allMigrations } from '../../src/migrations-dir.js';
import { startMetricsListener, JANUS_EVENTS_PATH } from '../../src/http/metrics-listener.js';
import { OpsMetrics } from '../../src/services/ops-metrics.js';
import { startCallStack, type CallStack } from '../harness/call-stack.js';
import { freePort, relayIntoNetns } from '../helpers/appliance.js';
import { sample } from './prometheus-text.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function framesDecoded(page: Page): Promise<number> {
  const s = (await page.evaluate('window.__client.getStats()')) as { inboundVideo: { framesDecoded: number } | null };
  return s.inboundVideo?.framesDecoded ?? 0;
}

t.test('a live call moves the metrics: join funnel, recordings in progress, Janus media statistics', { timeout: 180_000 }, async (t) => {
  const db = await createTestDatabase(allMigrations);
  t.teardown(() => db.drop());
  const pool = new pg.Pool({ connectionString: db.appUrl, max: 4 });
  t.teardown(() => pool.end());
  const dir = mkdtempSync(join(tmpdir(), 'kyc-ops-'));
  let stack: CallStack | null = null;
  const metrics = new OpsMetrics({
    pool,
    recordingsInProgress: () => stack?.hub.publishersUp() ?? null,
    handleRole: (id) => stack?.hub.handleRole(id) ?? null,
    volumes: { recordings: dir, archive: dir },
    certificates: {},
  });
  const password = 'janus-events-secret-for-this-test';
  const port = await freePort();
  const listener = await startMetricsListener({ metrics, janusEvents: { ingest: (b) => metrics.janus.ingest(b), password } }, { host: '127.0.0.1', port });
  t.teardown(() => new Promise<void>((r) => listener.close(() => r())));
  stack = await startCallStack(t, {
    metrics,
    janusEventHandler: { backend: `http://127.0.0.1:${port}${JANUS_EVENTS_PATH}`, user: 'janus', password, statsPeriodSecs: 1 },
  });
  // Janus posts to 127.0.0.1:<port> inside the namespace: relayed to the listener here
  const relay = await relayIntoNetns(stack.ns, port);
  t.teardown(() => new Promise<void>((r) => relay.close(() => r())));
  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

  const before = await scrape();
  t.equal(sample(before, 'kyc_recordings_in_progress'), 0, 'before the call: nothing recorded');
  t.equal(sample(before, 'kyc_join_total', 'stage="socket_connected",result="ok"'), 0);
  t.equal(sample(before, 'kyc_call_bitrate_bps_count', 'party="teller",media="video",direction="up",source="janus"'), null, 'no media statistics yet');

  const session = 'ops-session';
  const teller = await stack.openCallPage(await stack.launchBrowser(), stack.credential(session, 'teller'));
  const customer = await stack.openCallPage(await stack.launchBrowser(), stack.credential(session, 'customer'));
  await teller.evaluate('window.__start()');
  await customer.evaluate('window.__start()');
  await teller.evaluate(`window.__decoding(0, 30000)`);
  await customer.evaluate(`window.__decoding(0, 30000)`);
  t.ok((await framesDecoded(teller)) > 0 && (await framesDecoded(customer)) > 0, 'both decode each other');
  // a few statistics periods (Janus: 1 s in this test; the browsers report every 5 s)
  let during = await scrape();
  const browserBitrates = (text: string) =>
    ['teller', 'customer'].map((party) => sample(text, 'kyc_call_bitrate_bps_count', `party="${party}",media="video",direction="down",source="browser"`) ?? 0);
  // the browsers' second summaries carry a bitrate (the first has nothing to compare with)
  for (let i = 0; i < 60 && browserBitrates(during).some((n) => n === 0); i++) {
    await sleep(500);
    during = await scrape();
  }
  await sleep(3000);
  const later = await scrape();
  t.comment(
    during
      .split('\n')
      .filter((l) => /^kyc_(call|janus|join|recordings|slowlink)/.test(l) && !/_bucket/.test(l))
      .join('\n'),
  );

  t.equal(sample(during, 'kyc_recordings_in_progress'), 2, 'both parties are being recorded');
  t.equal(sample(during, 'kyc_join_total', 'stage="socket_connected",result="ok"'), 2, 'two sockets joined');
  t.equal(sample(during, 'kyc_join_total', 'stage="recording_started",result="ok"'), 2, 'two recordings started');
  t.equal(sample(during, 'kyc_join_seconds_count'), 2, 'two join times observed');
  for (const stage of ['page_loaded', 'media_allowed', 'ice_connected', 'media_flowing']) {
    t.equal(sample(during, 'kyc_join_total', `stage="${stage}",result="ok"`), 2, `the browsers reported ${stage}`);
  }
  for (const party of ['teller', 'customer']) {
    t.ok((sample(during, 'kyc_call_bitrate_bps_count', `party="${party}",media="video",direction="down",source="browser"`) ?? 0) > 0, `${party}'s browser reports what it receives`);
    t.ok((sample(during, 'kyc_call_video_height_pixels_count', `party="${party}",source="browser"`) ?? 0) > 0, `${party}'s browser reports the video size`);
    t.equal(sample(during, 'kyc_call_candidate_total', `party="${party}",type="host",source="browser"`), 1, `${party}'s browser: a host candidate, counted once`);
  }
  t.ok((sample(during, 'kyc_join_seconds_sum') ?? 0) > 0);
  t.ok((sample(during, 'kyc_janus_events_total', 'type="32"') ?? 0) > 0, 'Janus posted media statistics');
  for (const party of ['teller', 'customer']) {
    for (const media of ['audio', 'video']) {
      const l = `party="${party}",media="${media}",direction="up",source="janus"`;
      const n1 = sample(during, 'kyc_call_bitrate_bps_count', l) ?? 0;
      const n2 = sample(later, 'kyc_call_bitrate_bps_count', l) ?? 0;
      t.ok(n1 > 0 && n2 > n1, `${party} ${media} uplink bitrate reports keep coming (${n1} → ${n2})`);
      t.ok((sample(later, 'kyc_call_bitrate_bps_sum', l) ?? 0) > 0, `${party} ${media} carries bits`);
    }
    t.ok((sample(later, 'kyc_call_loss_ratio_count', `party="${party}",media="video",direction="up",source="janus"`) ?? 0) > 0, `${party} video loss measured`);
    // Janus reports a selected pair each time ICE settles on one (once or twice per connection here). Directly
    // connected, the party's candidate is host, or prflx when Janus's connectivity check reached it before the
    // trickled candidate did (seen for the customer under load)
    const direct = ['host', 'prflx', 'srflx'].map((type) => sample(later, 'kyc_call_candidate_total', `party="${party}",type="${type}",source="janus"`) ?? 0);
    t.ok(direct.reduce((x, y) => x + y, 0) >= 1, `${party} connected directly (host ${direct[0]}, prflx ${direct[1]}, srflx ${direct[2]})`);
    t.equal(sample(later, 'kyc_call_candidate_total', `party="${party}",type="relay",source="janus"`), null, 'never relayed here');
  }
  t.ok((sample(later, 'kyc_call_bitrate_bps_count', 'party="customer",media="video",direction="down",source="janus"') ?? 0) > 0, "the viewers' downlinks too");

  await teller.close();
  await customer.close();
  let after = await scrape();
  for (let i = 0; i < 50 && sample(after, 'kyc_recordings_in_progress') !== 0; i++) {
    await sleep(200);
    after = await scrape();
  }
  t.equal(sample(after, 'kyc_recordings_in_progress'), 0, 'pages closed: no recording in progress');
});
