// Customers who decline video, end to end with real parts inside a network namespace made by the test (Janus, the
// appliance serving the built UI, the dev IdP, headless Chromium): one takes part by voice only from an invitation,
// one by text only from the service entry. The teller sees how the customer takes part, hears (or reads) them, the
// camera steps are refused, and the recording is sealed for what was asked: the customer's voice without video, or
// the teller alone with the chat. Needs root (ip netns) and `npm run build -w web`.
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { startLiveAppliance, waitForRecording } from '../helpers/live-appliance.js';
import {
  framesDecoded,
  openBrowser,
  tellerAcceptsOffer,
  tellerAwaitsOffer,
  tellerOpensCaseAndInvites,
  TRACK_PEER_CONNECTIONS,
  waitAudioRises,
  waitDecodingRises,
  watchPage,
} from '../helpers/ui-browser.js';
import { seedKb } from '../service/helpers.js';
import type { TestAppliance } from '../helpers/appliance.js';

/** Counts the page's getUserMedia calls (window.__kycGum): a text-only customer's browser must open no device. */
const COUNT_GET_USER_MEDIA = `
  window.__kycGum = 0;
  const md = navigator.mediaDevices;
  if (md && md.getUserMedia) {
    const native = md.getUserMedia.bind(md);
    md.getUserMedia = (c) => { window.__kycGum += 1; return native(c); };
  }`;

interface RecordingAnswer {
  id: string;
  status: string;
  complete: boolean | null;
  issues: { code: string; severity: string; message: string }[];
  parties: { party: string; durationMs: number; bytes: number }[];
  failureReason?: string;
}

async function sealed(t: Test, a: TestAppliance, caseId: string): Promise<RecordingAnswer> {
  const { rec } = await waitForRecording(a, caseId);
  const r = rec as unknown as RecordingAnswer;
  t.equal(r.status, 'sealed', `the recording is sealed${r.failureReason ? ` (${r.failureReason})` : ''}`);
  return r;
}

/**
 * The auditor's side of a sealed recording without (full) customer media: replay opens with the parties that were
 * recorded, and the composite export (both tiles, the customer's black and labelled) is made, as for any call.
 */
async function auditorReplaysAndExports(t: Test, a: TestAppliance, caseId: string, recordingId: string, parties: string[]): Promise<void> {
  const teller = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const auditor = { authorization: `Bearer ${await a.tokenFor('auditor1')}` };
  t.equal((await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/complete`, headers: teller, payload: {} })).statusCode, 200, 'the teller completes the case');
  const replay = await a.app.inject({ method: 'POST', url: `/api/recordings/${recordingId}/replay`, headers: auditor });
  t.equal(replay.statusCode, 200, replay.body);
  t.same([...new Set((replay.json().parties as { party: string }[]).map((p) => p.party))].sort(), parties, `the auditor replays ${parties.join(' and ')}`);
  const queued = await a.app.inject({ method: 'POST', url: `/api/recordings/${recordingId}/exports`, headers: auditor, payload: { reason: 'media mode review' } });
  t.equal(queued.statusCode, 202, queued.body);
  const id = queued.json().id as string;
  let view: { status: string; failureReason: string | null; bytes: number | null } = { status: 'queued', failureReason: null, bytes: null };
  for (let i = 0; i < 240 && view.status !== 'done' && view.status !== 'failed'; i++) {
    await new Promise((r) => setTimeout(r, 500));
    view = (await a.app.inject({ method: 'GET', url: `/api/exports/${id}`, headers: auditor })).json();
  }
  t.equal(view.status, 'done', `the composite export is made${view.failureReason ? ` (${view.failureReason})` : ''}`);
  const file = await a.app.inject({ method: 'GET', url: `/api/exports/${id}/file`, headers: auditor });
  t.equal(file.statusCode, 200);
  t.ok(file.rawPayload.length > 10_000, `an MP4 of ${file.rawPayload.length} bytes`);
}

async function notices(page: Page): Promise<string[]> {
  return (await page.evaluate(`[...document.querySelectorAll('[data-testid="call-status"] [data-notice]')].map((e) => e.dataset.notice)`)) as string[];
}

t.test('voice only from an invitation: the teller hears the customer, sees no video, the camera steps are refused; sealed without customer video', { timeout: 300_000 }, async (t) => {
  const { a, chromium } = await startLiveAppliance(t);
  const tellerBrowser = await openBrowser(t, a, { executablePath: chromium });
  await tellerBrowser.context.addInitScript(TRACK_PEER_CONNECTIONS);
  const teller = await tellerBrowser.newPage();
  const tellerProblems = watchPage(teller, a.baseUrl, { expected: ['401 GET /api/me'] });
  const { caseId, link, code } = await tellerOpensCaseAndInvites(teller, a.baseUrl, { product: 'VIDEO-WITNESS' });

  const phone = await openBrowser(t, a, { executablePath: chromium, viewport: { width: 390, height: 844 } });
  await phone.context.addInitScript(TRACK_PEER_CONNECTIONS);
  const customer = await phone.newPage();
  const customerProblems = watchPage(customer, a.baseUrl, { expected: [/^404 GET \/api\/sessions\/[0-9a-f-]{36}\/files$/] });
  await customer.goto(link);
  await customer.getByTestId('join-code-input').fill(code);
  await customer.getByTestId('join-code-submit').click();
  await customer.getByTestId('device-modes').waitFor();
  t.equal(await customer.getByTestId('device-modes').getAttribute('data-mode'), 'video', 'an invitation starts with video');
  await customer.getByTestId('device-mode-audio').check();
  await customer.locator('[data-testid="device-modes"][data-mode="audio"]').waitFor();
  t.equal(await customer.getByTestId('device-camera-state').count(), 0, 'voice only: no camera check');
  await customer.locator('[data-testid="device-check-ok"]:not([disabled])').waitFor({ timeout: 30_000 });
  await phone.screenshot(customer, 'media-modes-device-check-audio');
  await customer.getByTestId('device-check-ok').click();
  await customer.getByTestId('consent-accept').click();
  await customer.getByTestId('waiting-room').waitFor();

  await teller.locator('[data-testid="media-mode-badge"][data-mode="audio"]').waitFor({ timeout: 15_000 });
  t.pass('the teller sees, before admitting, that the customer takes part by voice only');
  await teller.getByTestId('admit-button').click({ timeout: 30_000 });
  await teller.locator('[data-testid="call-status"][data-peer-mode="audio"]').waitFor({ timeout: 30_000 });
  await customer.locator('[data-testid="call-status"][data-media-mode="audio"][data-state="live"]').waitFor({ timeout: 30_000 });

  const [heardFirst, heardLater] = await waitAudioRises(teller);
  t.ok(heardFirst > 0 && heardLater > heardFirst, `the teller hears the customer (${heardFirst} → ${heardLater} audio bytes)`);
  t.equal(await framesDecoded(teller), 0, 'no customer video reaches the teller');
  const [seenFirst, seenLater] = await waitDecodingRises(customer);
  t.ok(seenFirst > 0 && seenLater > seenFirst, `the voice-only customer still sees the teller (${seenFirst} → ${seenLater} frames)`);
  t.ok((await notices(teller)).includes('peer-mode-audio'), 'the teller is told the customer takes part by voice only');
  t.ok((await notices(customer)).includes('own-mode-audio'), 'the customer is told their camera stays off');
  t.equal(await customer.getByTestId('camera-toggle').count(), 0, 'no camera control for the voice-only customer');
  t.equal(await customer.getByTestId('local-video').count(), 0, 'no self view');
  t.equal(await customer.getByTestId('mic-toggle').count(), 1, 'the microphone can be muted');

  await teller.getByTestId('identity-no-video').waitFor();
  t.ok(await teller.getByTestId('id-capture-front').isDisabled(), 'the ID capture is disabled for a customer without video');
  const tellerAuth = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const sessionId = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/live`, headers: tellerAuth })).json().session.id as string;
  const refused = await a.app.inject({
    method: 'POST',
    url: `/api/sessions/${sessionId}/identity/captures`,
    headers: tellerAuth,
    payload: { purpose: 'id-front' },
  });
  t.equal(refused.statusCode, 409);
  t.equal(refused.json().error.code, 'KYC_ERR_NO_CUSTOMER_VIDEO', 'the API refuses the camera step with a stable code');
  await tellerBrowser.screenshot(teller, 'media-modes-teller-voice-only');

  await teller.waitForTimeout(3000);
  await teller.getByTestId('hangup-button').click();
  await teller.getByTestId('session-ended').waitFor({ timeout: 15_000 });

  const rec = await sealed(t, a, caseId);
  const voice = rec.parties.filter((p) => p.party === 'customer');
  t.ok(voice.length > 0 && voice.every((p) => p.bytes > 1000 && p.durationMs > 2000), `the customer's voice is sealed (${JSON.stringify(voice)})`);
  t.same(
    rec.issues.filter((i) => i.severity === 'error'),
    [],
    'no missing stream is held against the voice-only customer',
  );
  t.notOk(
    rec.issues.some((i) => i.code === 'stream_unexpected'),
    'no video was recorded for the voice-only customer',
  );
  await auditorReplaysAndExports(t, a, caseId, rec.id, ['customer', 'teller']);
  t.same(customerProblems, [], 'nothing went wrong on the customer page');
  t.same(
    tellerProblems.filter((p) => !/\/api\/signaling/.test(p)),
    [],
    'nothing went wrong on the teller page',
  );
});

t.test('text only from the service entry: no device opened, chat both ways, the teller recorded alone', { timeout: 300_000 }, async (t) => {
  const { a, chromium } = await startLiveAppliance(t, { env: { KYC_QUEUE_OFFER_TIMEOUT_SECONDS: '120' } });
  await seedKb(a);
  const phone = await openBrowser(t, a, { executablePath: chromium, viewport: { width: 390, height: 844 } });
  await phone.context.addInitScript(TRACK_PEER_CONNECTIONS);
  await phone.context.addInitScript(COUNT_GET_USER_MEDIA);
  const customer = await phone.newPage();
  const customerProblems = watchPage(customer, a.baseUrl, { expected: [/^404 GET \/api\/sessions\/[0-9a-f-]{36}\/files$/] });
  await customer.goto(`${a.baseUrl}/service?product=VIDEO-WITNESS`);
  await customer.getByTestId('service-name').fill('李小龙');
  await customer.getByTestId('service-consent').check();
  await customer.getByTestId('service-begin').click();
  await customer.getByTestId('service-modes').waitFor();
  await customer.getByTestId('service-mode-chat').check();
  await customer.getByTestId('service-transfer').click();
  await customer.getByTestId('service-position').waitFor();

  const desk = await openBrowser(t, a, { executablePath: chromium });
  await desk.context.addInitScript(TRACK_PEER_CONNECTIONS);
  const teller = await desk.newPage();
  const tellerProblems = watchPage(teller, a.baseUrl, { expected: ['401 GET /api/me'] });
  await tellerAwaitsOffer(teller, a.baseUrl, 'VIDEO-WITNESS');
  t.equal(await teller.getByTestId('desk-offer').getByTestId('media-mode-badge').getAttribute('data-mode'), 'chat', 'the offer says the customer asked for text only');
  const { caseId, error } = await tellerAcceptsOffer(teller);
  t.equal(error, null, 'accepted');

  await customer.getByTestId('service-join').click({ timeout: 20_000 });
  await customer.locator('[data-testid="device-modes"][data-mode="chat"]').waitFor({ timeout: 15_000 });
  t.pass('the device check starts from the mode chosen at the transfer');
  await customer.locator('[data-testid="device-check-ok"]:not([disabled])').waitFor({ timeout: 15_000 });
  await customer.getByTestId('device-check-ok').click();
  await customer.getByTestId('consent-accept').click();
  await customer.getByTestId('waiting-room').waitFor();

  await teller.getByTestId('admit-button').click({ timeout: 30_000 });
  await customer.locator('[data-testid="call-status"][data-media-mode="chat"][data-state="live"]').waitFor({ timeout: 30_000 });
  await teller.locator('[data-testid="call-status"][data-peer-mode="chat"]').waitFor({ timeout: 30_000 });
  const [seenFirst, seenLater] = await waitDecodingRises(customer);
  t.ok(seenFirst > 0 && seenLater > seenFirst, `the text-only customer sees the teller (${seenFirst} → ${seenLater} frames)`);
  t.equal(await customer.evaluate('window.__kycGum'), 0, "the text-only customer's browser never asked for camera or microphone");
  t.equal(await customer.getByTestId('mic-toggle').count(), 0, 'no microphone control');
  t.equal(await customer.getByTestId('camera-toggle').count(), 0, 'no camera control');
  t.ok((await notices(teller)).includes('peer-mode-chat'), 'the teller is told to use the chat');

  await customer.getByTestId('chat-input').fill('我想挂失信用卡');
  await customer.getByTestId('chat-send').click();
  await teller.getByTestId('chat-message').filter({ hasText: '我想挂失信用卡' }).waitFor({ timeout: 10_000 });
  await teller.getByTestId('chat-input').fill('好的，已为您办理');
  await teller.getByTestId('chat-send').click();
  await customer.getByTestId('chat-message').filter({ hasText: '好的，已为您办理' }).waitFor({ timeout: 10_000 });
  t.pass('chat both ways');
  await phone.screenshot(customer, 'media-modes-customer-text-only');

  await teller.waitForTimeout(3000);
  await teller.getByTestId('hangup-button').click();
  await teller.getByTestId('session-ended').waitFor({ timeout: 15_000 });

  const rec = await sealed(t, a, caseId);
  t.same([...new Set(rec.parties.map((p) => p.party))], ['teller'], 'only the teller has media to seal');
  t.match(rec.issues, [{ code: 'customer_chat_only', severity: 'info' }], 'the text-only session is noted, not held as missing media');
  t.same(
    rec.issues.filter((i) => i.severity === 'error'),
    [],
    'no error',
  );
  await auditorReplaysAndExports(t, a, caseId, rec.id, ['teller']);
  t.same(customerProblems, [], 'nothing went wrong on the customer page');
  t.same(
    tellerProblems.filter((p) => !/\/api\/signaling/.test(p)),
    [],
    'nothing went wrong on the teller page',
  );
});
