// The customer's join pages and the teller's invitation console, in the built UI (web/build) with real
// Chromium (fake camera and microphone) against a real appliance and dev IdP. There is no Janus here: both
// sides reach the call view, media cannot connect (the media tests cover that). Needs `npm run build -w web`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { newCaseBody, startTestAppliance, WEB_BUILD, type TestAppliance } from '../../../appliance/test/helpers/appliance.js';
import { openBrowser, watchPage, type WatchOptions } from '../../../appliance/test/helpers/ui-browser.js';
import { signInThroughIdp, type TestBrowser, until } from '../../../appliance/test/harness/browser.js';

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const SIGNED_OUT = '401 GET /api/me';

// Keeps every stream the page opens, so that a test can tell whether a camera or microphone is still on.
const TRACK_STREAMS = `
  window.__kycStreams = [];
  if (navigator.mediaDevices) {
    const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (constraints) =>
      open(constraints).then((stream) => { window.__kycStreams.push(stream); return stream; });
  }`;
const PNG_1PX = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const MINIMAL_PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');
const LIVE_TRACKS = "window.__kycStreams.flatMap((s) => s.getTracks()).filter((t) => t.readyState === 'live').map((t) => t.kind).sort()";

function tokenOf(link: string): string {
  return new URL(link).pathname.split('/')[2] ?? '';
}

/**
 * Console errors from the call's signaling socket while the appliance under test has no signaling route: the
 * call view then keeps trying to connect, which is what it should do.
 */
function withoutSignaling(a: TestAppliance): WatchOptions {
  if (a.app.hasRoute({ method: 'GET', url: '/api/signaling' })) return {};
  return { allowedConsole: [/^WebSocket connection to 'wss:\/\/[^']+\/api\/signaling\?/] };
}

// After the hang-up the customer's access to the session ends: the file list's 404 is one way the page learns it.
const FILES_AFTER_END = /^404 GET \/api\/sessions\/[0-9a-f-]{36}\/files$/;

function merge(...options: WatchOptions[]): WatchOptions {
  return {
    expected: options.flatMap((o) => o.expected ?? []),
    allowedConsole: options.flatMap((o) => o.allowedConsole ?? []),
  };
}

/** Screenshots at phone and desktop size, and nothing may be wider than the phone's screen. */
async function shoot(t: Test, browser: TestBrowser, page: Page, name: string): Promise<void> {
  const size = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(PHONE);
  t.equal(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'), 0, `${name}: nothing wider than a phone`);
  await browser.screenshot(page, `${name}-phone`);
  await page.setViewportSize(DESKTOP);
  await browser.screenshot(page, `${name}-desktop`);
  await page.setViewportSize(size);
}

/**
 * Waits until a JavaScript expression is true in the page. Playwright's waitForFunction() evaluates a string
 * predicate with eval inside the page, which the appliance's CSP refuses; evaluate() is not subject to it.
 */
async function createCaseInUi(page: Page): Promise<void> {
  await page.getByTestId('case-new').click();
  const body = newCaseBody();
  await page.getByTestId('case-customer-name').fill(String(body.customerName));
  await page.getByTestId('case-customer-id').fill(String(body.customerIdNumber));
  await page.getByTestId('case-customer-phone').fill(String(body.customerPhone));
  await page.getByTestId('case-product').selectOption(String(body.product));
  await page.getByTestId('case-save').click();
  await page.getByTestId('case-detail').waitFor();
}

/** A case of teller1 with a fresh invitation, made through the API. */
async function invitedCase(a: TestAppliance): Promise<{ caseId: string; invitationId: string; link: string; code: string }> {
  const headers = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const created = await a.app.inject({ method: 'POST', url: '/api/cases', headers, payload: newCaseBody() });
  const caseId = created.json().id as string;
  const inv = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/invitations`, headers });
  const { id, url, code } = inv.json() as { id: string; url: string; code: string };
  return { caseId, invitationId: id, link: url, code };
}

async function passDeviceCheck(page: Page): Promise<void> {
  await page.getByTestId('device-check').waitFor();
  // Enabled only once the preview shows camera frames and the meter heard the (fake) microphone.
  await page.locator('[data-testid=device-check-ok]:not([disabled])').waitFor();
  await page.getByTestId('device-check-ok').click();
}

t.before(() => {
  if (!existsSync(join(WEB_BUILD, 'index.html'))) throw new Error(`no UI build in ${WEB_BUILD}: run npm run build -w web`);
});

t.test('teller invites, customer joins on a phone (wrong code first), teller admits, both reach the call, hang-up', async (t) => {
  const a = await startTestAppliance(t, { listen: true, webRoot: WEB_BUILD });

  const desk = await openBrowser(t, a, { viewport: DESKTOP });
  await desk.context.addInitScript(TRACK_STREAMS);
  const teller = await desk.newPage();
  const tellerProblems = watchPage(teller, a.baseUrl, merge({ expected: [SIGNED_OUT] }, withoutSignaling(a)));
  await signInThroughIdp(teller, a.baseUrl, 'teller1', 'teller1');
  await createCaseInUi(teller);
  await teller.getByTestId('invitation-panel').waitFor();
  t.equal(await teller.getByTestId('admit-button').count(), 0, 'nothing to admit before an invitation');
  await shoot(t, desk, teller, 'teller-case-not-invited');
  await teller.getByTestId('invite-create').click();
  await teller.getByTestId('invite-link').waitFor();
  const link = (await teller.getByTestId('invite-link').innerText()).trim();
  const code = (await teller.getByTestId('invite-code').innerText()).trim();
  t.match(link, new RegExp(`^${a.baseUrl}/join/[A-Za-z0-9_-]{43}$`), 'the link names the appliance');
  t.match(code, /^\d{6}$/);
  t.equal(await teller.locator('[data-testid=invite-step]').getAttribute('data-step'), 'code');
  t.ok(await teller.getByTestId('admit-button').isDisabled(), 'admit is disabled until the customer waits');
  await shoot(t, desk, teller, 'teller-invited');
  const token = tokenOf(link);

  const phone = await openBrowser(t, a, { viewport: PHONE });
  await phone.context.addInitScript(TRACK_STREAMS);
  const customer = await phone.newPage();
  const customerProblems = watchPage(
    customer,
    a.baseUrl,
    merge({ expected: [`400 POST /api/join/${token}/code`, FILES_AFTER_END, /^415 POST \/api\/sessions\/[0-9a-f-]{36}\/files$/] }, withoutSignaling(a)),
  );
  await customer.goto(link);
  await customer.getByTestId('join-code-input').waitFor();
  t.equal(await customer.locator('html').getAttribute('lang'), 'zh-CN', 'Chinese by default');
  t.equal(await customer.getByTestId('signin').count(), 0, 'the customer is not asked to sign in');
  t.equal(await customer.getByTestId('nav-home').count(), 0, 'no staff navigation');
  await shoot(t, phone, customer, 'customer-code');

  // The link is bound to this phone: another browser is told so.
  const other = await openBrowser(t, a, { viewport: PHONE });
  const otherPage = await other.newPage();
  const otherProblems = watchPage(otherPage, a.baseUrl, { expected: [`409 POST /api/join/${token}/open`] });
  await otherPage.goto(link);
  await otherPage.locator('[data-testid=join-refusal][data-reason=in_use]').waitFor();
  t.match(await otherPage.getByTestId('join-refusal').innerText(), /其他设备/);
  t.equal(await otherPage.getByTestId('join-code-input').count(), 0, 'no code entry on the second device');
  await shoot(t, other, otherPage, 'customer-refused-in-use');
  t.same(otherProblems, []);
  await other.close();

  await teller.locator('[data-testid=progress-opened][data-done=true]').waitFor();

  const wrongCode = code === '000000' ? '000001' : '000000';
  await customer.getByTestId('join-code-input').fill(wrongCode);
  await customer.getByTestId('join-code-submit').click();
  await customer.getByTestId('join-code-error').waitFor();
  t.equal(await customer.getByTestId('join-code-error').getAttribute('data-attempts-left'), '4');
  t.match(await customer.getByTestId('join-code-error').innerText(), /还可尝试 4 次/);
  await shoot(t, phone, customer, 'customer-code-wrong');
  await teller.getByTestId('invite-attempts').waitFor();

  await customer.getByTestId('join-code-input').fill(code);
  await customer.getByTestId('join-code-submit').click();
  await customer.getByTestId('device-check').waitFor();
  await customer.locator('[data-testid=device-camera-state][data-ok=true]').waitFor();
  await customer.locator('[data-testid=device-mic-state][data-ok=true]').waitFor();
  t.same(await customer.evaluate(LIVE_TRACKS), ['audio', 'video'], 'the preview has the camera and microphone open');
  await shoot(t, phone, customer, 'customer-device-check');
  await passDeviceCheck(customer);

  await customer.getByTestId('consent-step').waitFor();
  t.same(await customer.evaluate(LIVE_TRACKS), [], 'the preview is closed before consent');
  const consentText = await customer.getByTestId('consent-text').innerText();
  for (const words of ['声音和图像', '文字聊天', '核实您的身份', '至少 5 年', '加密', '审核人员', '拒绝']) {
    t.match(consentText, words, `the consent text says: ${words}`);
  }
  await shoot(t, phone, customer, 'customer-consent');
  await customer.getByTestId('consent-accept').click();
  await customer.getByTestId('waiting-room').waitFor();
  await shoot(t, phone, customer, 'customer-waiting');

  await teller.locator('[data-testid=invite-step][data-step=waiting]').waitFor();
  for (const item of ['opened', 'code', 'device', 'consent', 'waiting']) {
    t.equal(await teller.getByTestId(`progress-${item}`).getAttribute('data-done'), 'true', `teller sees: ${item}`);
  }
  t.ok(await teller.getByTestId('admit-button').isEnabled(), 'admit is enabled while the customer waits');
  await shoot(t, desk, teller, 'teller-customer-waiting');
  await teller.getByTestId('admit-button').click();

  await teller.getByTestId('call-view').waitFor();
  for (const testid of ['local-video', 'remote-video', 'mic-toggle', 'camera-toggle', 'screen-share', 'chat-input', 'chat-send', 'hangup-button']) {
    t.equal(await teller.getByTestId(testid).count(), 1, `teller's call view has ${testid}`);
  }
  await customer.getByTestId('call-view').waitFor();
  for (const testid of ['local-video', 'remote-video', 'mic-toggle', 'camera-toggle', 'chat-input', 'chat-send', 'leave-button']) {
    t.equal(await customer.getByTestId(testid).count(), 1, `customer's call view has ${testid}`);
  }
  t.equal(await customer.getByTestId('screen-share').count(), 0, 'only the teller shares a screen');
  t.equal(await customer.getByTestId('hangup-button').count(), 0);
  // Both show their own camera: the call opened camera and microphone again, after consent.
  const selfViewLive = "document.querySelector('[data-testid=local-video]')?.srcObject?.getVideoTracks().some((t) => t.readyState === 'live')";
  await until(customer, selfViewLive);
  await until(teller, selfViewLive);

  await customer.getByTestId('mic-toggle').click();
  t.equal(await customer.getByTestId('mic-toggle').getAttribute('data-on'), 'false', 'the customer muted');
  t.equal(await customer.getByTestId('mic-toggle').getAttribute('aria-pressed'), 'true');
  t.equal(await customer.evaluate("document.querySelector('[data-testid=local-video]').srcObject.getAudioTracks()[0].enabled"), false, 'the microphone track is off');
  await customer.getByTestId('mic-toggle').click();
  t.equal(await customer.getByTestId('mic-toggle').getAttribute('data-on'), 'true');

  await teller.getByTestId('screen-share').click();
  await teller.locator('[data-testid=screen-share][data-on=true]').waitFor();
  await teller.getByTestId('camera-toggle').click();
  t.equal(await teller.getByTestId('camera-toggle').getAttribute('data-on'), 'false', 'the teller turned the camera off');
  await shoot(t, desk, teller, 'teller-call-sharing');
  await teller.getByTestId('screen-share').click();
  await teller.locator('[data-testid=screen-share][data-on=false]').waitFor();
  await teller.getByTestId('camera-toggle').click();
  t.equal(await teller.getByTestId('camera-toggle').getAttribute('data-on'), 'true');

  // Files go both ways; the other side finds them by polling the session's list.
  await teller.getByTestId('file-input').setInputFiles({ name: 'id-card.png', mimeType: 'image/png', buffer: PNG_1PX });
  await teller.locator('[data-testid=file-item][data-from=teller]').waitFor();
  await customer.locator('[data-testid=file-item][data-from=teller]').waitFor();
  t.equal(await customer.locator('[data-testid=file-item][data-from=teller] [data-testid=file-link]').innerText(), 'id-card.png');
  const thumbnail = "document.querySelector('[data-testid=file-item][data-from=teller] img')";
  await until(customer, `${thumbnail}?.complete`);
  t.equal(await customer.evaluate(`${thumbnail}.naturalWidth`), 1, 'the image shows');
  await customer.getByTestId('file-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await customer.locator('[data-testid=file-error][data-problem=type]').waitFor();
  const refused = customer.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/files'));
  await customer.getByTestId('file-input').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: Buffer.from('not an image at all') });
  t.equal((await refused).status(), 415);
  await customer.locator('[data-testid=file-error][data-problem=type]').waitFor();
  t.pass('a file whose content is not what its name says is refused by the appliance');
  await customer.getByTestId('file-input').setInputFiles({ name: 'contract\u202Efdp.exe.pdf', mimeType: 'application/pdf', buffer: MINIMAL_PDF });
  await customer.locator('[data-testid=file-item][data-from=customer]').waitFor();
  t.equal(await customer.getByTestId('file-error').count(), 0, 'the refusal message goes once a file is sent');
  await teller.locator('[data-testid=file-item][data-from=customer]').waitFor();
  const pdfName = await teller.locator('[data-testid=file-item][data-from=customer] [data-testid=file-link]').innerText();
  t.notMatch(pdfName, /\u202e/, 'no direction override in the shown name');
  t.match(pdfName, /\.pdf$/);
  await shoot(t, phone, customer, 'customer-call');
  await shoot(t, desk, teller, 'teller-call');

  await teller.getByTestId('hangup-button').click();
  await teller.getByTestId('session-ended').waitFor();
  t.equal(await teller.getByTestId('call-view').count(), 0, "the teller's call view closed");
  t.same(await teller.evaluate(LIVE_TRACKS), [], "the teller's camera and microphone are off");
  await customer.locator('[data-testid=join-refusal][data-reason=ended]').waitFor();
  t.same(await customer.evaluate(LIVE_TRACKS), [], "the customer's camera and microphone are off");
  await shoot(t, phone, customer, 'customer-ended');
  await shoot(t, desk, teller, 'teller-ended');

  t.same(customerProblems, [], 'customer page: no CSP violation, script error or unexpected failed request');
  t.same(tellerProblems, [], 'teller page: no CSP violation, script error or unexpected failed request');
});

t.test('expired link, declined consent (teller cannot admit), another teller gets 404', async (t) => {
  const a = await startTestAppliance(t, { listen: true, webRoot: WEB_BUILD });
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());

  const expired = await invitedCase(a);
  await su.query(`UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE id = $1`, [expired.invitationId]);
  // This customer's browser asks before opening camera or microphone, and the first answer is no.
  const desk = await openBrowser(t, a, { viewport: DESKTOP, refuseMediaPrompts: true });
  await desk.context.addInitScript(TRACK_STREAMS);
  const customer = await desk.newPage();
  const declined = await invitedCase(a);
  const declinedToken = tokenOf(declined.link);
  const problems = watchPage(customer, a.baseUrl, {
    expected: [`410 POST /api/join/${tokenOf(expired.link)}/open`, `410 POST /api/join/${declinedToken}/open`],
  });
  await customer.goto(expired.link);
  await customer.locator('[data-testid=join-refusal][data-reason=expired]').waitFor();
  t.match(await customer.getByTestId('join-refusal').innerText(), /链接已过期/);
  await shoot(t, desk, customer, 'customer-refused-expired');

  await customer.goto(`${a.baseUrl}/join/not-a-token`);
  await customer.locator('[data-testid=join-refusal][data-reason=invalid]').waitFor();

  // Camera and microphone refused: plain help, and a retry once the customer allowed them.
  await customer.goto(declined.link);
  await customer.getByTestId('join-code-input').fill(declined.code);
  await customer.getByTestId('join-code-submit').click();
  await customer.locator('[data-testid=device-problem][data-problem=denied]').waitFor();
  t.match(await customer.getByTestId('device-problem').innerText(), /地址栏/, 'says where to allow them');
  t.ok(await customer.getByTestId('device-check-ok').isDisabled(), 'cannot go on without camera and microphone');
  await shoot(t, desk, customer, 'customer-device-denied');
  await desk.context.grantPermissions(['camera', 'microphone'], { origin: new URL(a.baseUrl).origin });
  await customer.getByTestId('device-retry').click();
  await passDeviceCheck(customer);
  await customer.getByTestId('consent-decline').click();
  await customer.locator('[data-testid=join-refusal][data-reason=declined]').waitFor();
  t.match(await customer.getByTestId('join-refusal').innerText(), /未进行任何录制/, 'says no recording was made');
  t.same(await customer.evaluate(LIVE_TRACKS), [], 'no camera or microphone left open');
  t.equal(await customer.getByTestId('local-video').count(), 0, 'no call view');
  await shoot(t, desk, customer, 'customer-declined');
  await customer.reload();
  await customer.locator('[data-testid=join-refusal][data-reason=declined]').waitFor();
  t.pass('a reload shows the same page');
  await customer.getByTestId('lang-switch').click();
  await customer.getByText('You declined the recording').waitFor();
  t.same(problems, []);

  const tellerBrowser = await openBrowser(t, a, { viewport: DESKTOP });
  const teller = await tellerBrowser.newPage();
  const tellerProblems = watchPage(teller, a.baseUrl, { expected: [SIGNED_OUT] });
  await signInThroughIdp(teller, a.baseUrl, 'teller1', 'teller1');
  await teller.goto(`${a.baseUrl}/cases/${declined.caseId}`);
  await teller.locator('[data-testid=invite-step][data-step=declined]').waitFor();
  t.ok(await teller.getByTestId('admit-button').isDisabled(), 'admit stays disabled after a decline');
  t.equal(await teller.getByTestId('progress-consent').getAttribute('data-done'), 'false');
  t.equal(await teller.getByTestId('invite-link').count(), 0, 'the used link is no longer offered');
  await shoot(t, tellerBrowser, teller, 'teller-customer-declined');

  // A link the teller withdraws stops working for the customer.
  const revokedCase = (
    await a.app.inject({
      method: 'POST',
      url: '/api/cases',
      headers: { authorization: `Bearer ${await a.tokenFor('teller1')}` },
      payload: newCaseBody(),
    })
  ).json().id as string;
  await teller.goto(`${a.baseUrl}/cases/${revokedCase}`);
  await teller.getByTestId('invite-create').click();
  const revokedLink = (await teller.getByTestId('invite-link').innerText()).trim();
  await teller.getByTestId('invite-revoke').click();
  await teller.locator('[data-testid=invite-step][data-step=revoked]').waitFor();
  t.equal(await teller.getByTestId('invite-link').count(), 0, 'a withdrawn link is no longer offered');
  t.equal(await teller.getByTestId('invite-create').count(), 1, 'a new invitation can be made');
  const revokedProblems = watchPage(customer, a.baseUrl, { expected: [`410 POST /api/join/${tokenOf(revokedLink)}/open`] });
  await customer.goto(revokedLink);
  await customer.locator('[data-testid=join-refusal][data-reason=revoked]').waitFor();
  t.match(await customer.getByTestId('join-refusal').innerText(), /withdrew/, 'in the language the customer chose');
  t.same(revokedProblems, []);
  t.same(tellerProblems, []);

  const otherTeller = await openBrowser(t, a, { viewport: PHONE });
  const teller2 = await otherTeller.newPage();
  const teller2Problems = watchPage(teller2, a.baseUrl, { expected: [SIGNED_OUT, `404 GET /api/cases/${declined.caseId}`] });
  await signInThroughIdp(teller2, a.baseUrl, 'teller2', 'teller2');
  await teller2.goto(`${a.baseUrl}/cases/${declined.caseId}`);
  await teller2.getByTestId('error-notice').waitFor();
  t.match(await teller2.getByTestId('error-notice').innerText(), /未找到/);
  t.equal(await teller2.getByTestId('invitation-panel').count(), 0);
  t.same(teller2Problems, []);
});
