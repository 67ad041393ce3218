// The customer-initiated service end to end with real parts inside a network namespace made by the test: the bank's
// own page (another site: https://localhost:<port>) embeds /service in an iframe; inside that frame the customer asks
// the assistant, transfers, waits, and, once a teller accepted, continues to the recorded call through a real Janus;
// both sides decode each other's video; the teller hangs up; the recording is sealed; the customer rates the service
// from the same frame. The device cookie must work inside a cross-site frame (SameSite=None, Partitioned).
// Needs root (ip netns) and `npm run build -w web`.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { dirname, join } from 'node:path';
import t from 'tap';
import { startLiveAppliance, waitForRecording } from '../helpers/live-appliance.js';
import { openBrowser, tellerAcceptsOffer, tellerAwaitsOffer, TRACK_PEER_CONNECTIONS, waitDecodingRises, watchPage } from '../helpers/ui-browser.js';
import type { Netns } from '../harness/netns.js';
import { seedKb } from '../service/helpers.js';

t.test('a customer in the bank’s page (cross-site iframe): assistant, queue, accepted, recorded call through Janus, rating', { timeout: 300_000 }, async (t) => {
  // the bank's page: another site than the appliance (localhost vs 127.0.0.1), its port known before the appliance starts
  const opened: { socket?: Awaited<ReturnType<Netns['listen']>> } = {};
  const { a, chromium } = await startLiveAppliance(t, {
    env: async (ns) => {
      opened.socket = await ns.listen(0, '127.0.0.1');
      return { KYC_SERVICE_FRAME_ANCESTORS: `https://localhost:${opened.socket.port}`, KYC_QUEUE_OFFER_TIMEOUT_SECONDS: '120' };
    },
  });
  const bankSocket = opened.socket;
  if (!bankSocket) throw new Error('no socket for the bank page');
  const bankOrigin = `https://localhost:${bankSocket.port}`;
  await seedKb(a);
  // the bank's server uses the test appliance's own certificate (it names localhost), which the browsers trust
  const tlsDir = dirname(a.caCertPath ?? '');
  const bank = createServer(
    { cert: readFileSync(join(tlsDir, 'server.crt'), 'utf8') + readFileSync(a.caCertPath ?? '', 'utf8'), key: readFileSync(join(tlsDir, 'server.key')) },
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><title>Bank</title><h1>Video service</h1>` +
          `<iframe id="kyc" src="${a.baseUrl}/service?product=VIDEO-WITNESS" allow="camera; microphone; autoplay" style="width:390px;height:760px;border:0"></iframe>`,
      );
    },
  );
  await new Promise<void>((resolve) => bank.listen(bankSocket.handle, () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => bank.close(() => resolve())));

  const phone = await openBrowser(t, a, { executablePath: chromium, viewport: { width: 420, height: 844 } });
  await phone.context.addInitScript(TRACK_PEER_CONNECTIONS);
  const page = await phone.newPage();
  // the call page's file list may poll once more as the call ends; the session is then closed to the customer (404),
  // which the page takes as the end
  const customerProblems = watchPage(page, a.baseUrl, { expected: [/^404 GET \/api\/sessions\/[0-9a-f-]{36}\/files$/] });
  await page.goto(`${bankOrigin}/`);
  const frame = page.frameLocator('#kyc');
  await frame.getByTestId('service-start').waitFor();
  await frame.getByTestId('service-name').fill('李小龙');
  await frame.getByTestId('service-consent').check();
  await frame.getByTestId('service-begin').click();
  await frame.getByTestId('service-question').fill('我的信用卡丢了怎么办');
  await frame.getByTestId('service-send').click();
  await frame.getByTestId('service-citation').waitFor();
  t.match(await frame.getByTestId('service-citation').innerText(), /信用卡丢了怎么办？/, 'a cited answer inside the bank’s page');
  await frame.getByTestId('service-transfer').click();
  await frame.getByTestId('service-position').waitFor();
  t.equal(await frame.getByTestId('service-position').getAttribute('data-position'), '1', 'queued, first');
  const deviceCookie = (await phone.context.cookies()).find((c) => c.name === '__Host-kyc_device');
  t.equal(deviceCookie?.sameSite, 'None', 'the device cookie travels in the cross-site frame');

  // the teller receives the offer with the conversation and accepts it
  const desk = await openBrowser(t, a, { executablePath: chromium });
  await desk.context.addInitScript(TRACK_PEER_CONNECTIONS);
  const teller = await desk.newPage();
  const tellerProblems = watchPage(teller, a.baseUrl, { expected: ['401 GET /api/me'] });
  await tellerAwaitsOffer(teller, a.baseUrl, 'VIDEO-WITNESS');
  t.match(await teller.getByTestId('desk-conversation').innerText(), /信用卡丢了[\s\S]*挂失/, 'the conversation reaches the teller');
  const { caseId, error } = await tellerAcceptsOffer(teller);
  t.equal(error, null, 'accepted');

  // the customer continues inside the frame: no code, device check, consent, waiting room
  await frame.getByTestId('service-join').click({ timeout: 20_000 });
  await frame.getByTestId('device-check-ok').click({ timeout: 30_000 });
  await frame.getByTestId('consent-accept').click();
  await frame.getByTestId('waiting-room').waitFor();
  t.pass('the join steps run inside the bank’s page');

  await teller.getByTestId('admit-button').click({ timeout: 30_000 });
  await teller.getByTestId('remote-video').waitFor({ timeout: 30_000 });
  await frame.getByTestId('remote-video').waitFor({ timeout: 30_000 });
  const customerFrame = page.frames().find((f) => f.url().startsWith(a.baseUrl));
  if (!customerFrame) throw new Error('no appliance frame in the bank page');
  const [tFirst, tLater] = await waitDecodingRises(teller);
  const [cFirst, cLater] = await waitDecodingRises(customerFrame);
  t.ok(tFirst > 0 && tLater > tFirst, `teller decodes the customer's video (${tFirst} → ${tLater} frames)`);
  t.ok(cFirst > 0 && cLater > cFirst, `customer (in the frame) decodes the teller's video (${cFirst} → ${cLater} frames)`);
  await phone.screenshot(page, 'service-call-in-bank-frame');

  await teller.waitForTimeout(3000);
  await teller.getByTestId('hangup-button').click();
  await teller.getByTestId('session-ended').waitFor({ timeout: 15_000 });

  // the recording of the customer-initiated call is sealed like any other
  const { rec } = await waitForRecording(a, caseId);
  t.equal(rec.status, 'sealed', `the recording is sealed${rec.failureReason ? ` (${rec.failureReason})` : ''}`);
  t.same(rec.parties.map((p) => p.party).sort(), ['customer', 'teller'], 'both parties recorded');

  // the frame leads the customer back to /service to rate
  await frame.getByTestId('join-rate-service').click({ timeout: 15_000 });
  await frame.getByTestId('service-score-5').check({ timeout: 15_000 });
  await frame.getByTestId('service-comment').fill('很方便');
  await frame.getByTestId('service-rate').click();
  await frame.getByTestId('service-done').waitFor();
  const report = (await a.app.inject({ method: 'GET', url: '/api/admin/service/report', headers: { authorization: `Bearer ${await a.tokenFor('admin1')}` } })).json();
  t.match(report, { handled: 1, ratings: [{ productCode: 'VIDEO-WITNESS', teller: 'teller1', count: 1, average: 5 }] }, 'the rating reaches the report');
  t.same(customerProblems, [], 'nothing went wrong in the customer frame');
  t.same(
    tellerProblems.filter((p) => !/\/api\/signaling/.test(p)),
    [],
    'nothing went wrong in the teller page',
  );
});
