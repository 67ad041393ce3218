// Chromium for the built UI's tests: trusts exactly the test appliance's certificate and reports what went
// wrong in a page (CSP refusals, script errors, failed requests).
import { readFileSync } from 'node:fs';
import type { Frame, Page } from 'playwright-core';
import { signInThroughIdp } from '../harness/browser.js';
import { launchBrowser, spkiHash, type BrowserOptions, type TestBrowser } from '../harness/browser.js';
import type { TestAppliance } from './appliance.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function openBrowser(t: Teardown, a: TestAppliance, options: BrowserOptions = {}): Promise<TestBrowser> {
  const browser = await launchBrowser({
    trustedSpkiHashes: [spkiHash(readFileSync(a.caCertPath ?? '', 'utf8'))],
    ...options,
  });
  t.teardown(() => browser.close());
  // Report every CSP refusal as a console error, which watchPage() collects.
  await browser.context.addInitScript("document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))");
  return browser;
}

export interface WatchOptions {
  /** failed requests to the appliance that the UI expects and handles: "STATUS METHOD PATH" or a pattern */
  expected?: readonly (string | RegExp)[];
  /** console errors that belong to the situation under test rather than to the UI */
  allowedConsole?: readonly RegExp[];
}

/**
 * What went wrong in a page: console errors (CSP violations among them), uncaught exceptions and failed
 * requests to the appliance, except those the UI expects and handles.
 */
export function watchPage(page: Page, baseUrl: string, options: WatchOptions = {}): string[] {
  const appOrigin = new URL(baseUrl).origin;
  const expected = options.expected ?? [];
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    // Failed requests are reported with their URL below; the IdP's own (a favicon) are not the UI's.
    if (text.startsWith('Failed to load resource')) return;
    if (options.allowedConsole?.some((pattern) => pattern.test(text))) return;
    problems.push(text);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (response.status() < 400 || url.origin !== appOrigin) return;
    const what = `${response.status()} ${response.request().method()} ${url.pathname}`;
    if (!expected.some((e) => (typeof e === 'string' ? e === what : e.test(what)))) problems.push(what);
  });
  return problems;
}

/**
 * Keeps a page's peer connections reachable for getStats() (give it to `context.addInitScript` before the UI loads);
 * the product code is unchanged.
 */
export const TRACK_PEER_CONNECTIONS = `
  window.__kycPcs = [];
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...args) { const pc = new Native(...args); window.__kycPcs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Native.prototype;`;

/** The sum of one inbound-rtp counter of one kind over the page's open peer connections. */
const inboundSum = (kind: 'audio' | 'video', field: 'framesDecoded' | 'bytesReceived') => `(async () => {
  let sum = 0;
  for (const pc of window.__kycPcs || []) {
    if (pc.connectionState === 'closed') continue;
    const stats = await pc.getStats();
    stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === '${kind}') sum += s.${field} || 0; });
  }
  return sum;
})()`;

/** Video frames the page has decoded on its open peer connections (see TRACK_PEER_CONNECTIONS). */
export async function framesDecoded(page: Page | Frame): Promise<number> {
  return (await page.evaluate(inboundSum('video', 'framesDecoded'))) as number;
}

/** Audio bytes the page has received on its open peer connections. */
export async function audioBytesReceived(page: Page | Frame): Promise<number> {
  return (await page.evaluate(inboundSum('audio', 'bytesReceived'))) as number;
}

/** Waits until a counter has risen twice (media is really arriving): its first non-zero reading and one 1.5 s later. */
async function waitRises(page: Page | Frame, read: (page: Page | Frame) => Promise<number>, timeoutMs: number): Promise<[number, number]> {
  const deadline = Date.now() + timeoutMs;
  let first = 0;
  while (Date.now() < deadline) {
    first = await read(page);
    if (first > 0) break;
    await page.waitForTimeout(250);
  }
  await page.waitForTimeout(1500);
  return [first, await read(page)];
}

/** Waits until the page's decoded-frame count has risen twice (remote video is really arriving). */
export function waitDecodingRises(page: Page | Frame, timeoutMs = 30_000): Promise<[number, number]> {
  return waitRises(page, framesDecoded, timeoutMs);
}

/** Waits until the page's received audio bytes have risen twice (remote audio is really arriving). */
export function waitAudioRises(page: Page | Frame, timeoutMs = 30_000): Promise<[number, number]> {
  return waitRises(page, audioBytesReceived, timeoutMs);
}

/**
 * The teller's part before a call, through the UI: sign in at /cases/new, open a case for the usual test customer
 * under `product`, make the invitation; the link and the code the teller would hand over.
 */
export async function tellerOpensCaseAndInvites(
  teller: Page,
  baseUrl: string,
  o: { product: string; customerName?: string; customerIdNumber?: string },
): Promise<{ caseId: string; link: string; code: string }> {
  await teller.goto(`${baseUrl}/cases/new`);
  await signInThroughIdp(teller, baseUrl, 'teller1', 'teller1');
  await teller.getByTestId('case-customer-name').fill(o.customerName ?? '张三');
  await teller.getByTestId('case-customer-id').fill(o.customerIdNumber ?? '11010519491231002X');
  await teller.getByTestId('case-customer-phone').fill('13812345678');
  await teller.getByTestId('case-product').selectOption(o.product);
  await teller.getByTestId('case-save').click();
  await teller.getByTestId('case-detail').waitFor();
  const caseId = new URL(teller.url()).pathname.split('/')[2] ?? '';
  await teller.getByTestId('invite-create').click();
  const link = (await teller.getByTestId('invite-link').innerText()).trim();
  const code = (await teller.getByTestId('invite-code').innerText()).replace(/\D/g, '');
  return { caseId, link, code };
}

/** The teller at the service desk, through the UI: signed in, skilled for `product`, available; waits for an offer. */
export async function tellerAwaitsOffer(teller: Page, baseUrl: string, product: string): Promise<void> {
  await signInThroughIdp(teller, baseUrl, 'teller1', 'teller1');
  await teller.getByTestId('desk-products').fill(product);
  await teller.getByTestId('desk-available').click();
  await teller.getByTestId('desk-offer').waitFor({ timeout: 30_000 });
}

/**
 * The teller accepts the offer on screen with the usual test customer's ID number and phone and opens the case.
 * Returns the case id, or the error the desk showed instead of accepting.
 */
export async function tellerAcceptsOffer(teller: Page): Promise<{ caseId: string; error: string | null }> {
  await teller.getByTestId('desk-id-number').fill('11010519491231002X');
  await teller.getByTestId('desk-phone').fill('13812345678');
  await teller.getByTestId('desk-accept').click();
  await teller.getByTestId('desk-accepted').or(teller.getByTestId('error-notice')).first().waitFor({ timeout: 30_000 });
  if ((await teller.getByTestId('error-notice').count()) > 0) return { caseId: '', error: await teller.getByTestId('error-notice').innerText() };
  await teller.getByTestId('desk-open-case').click();
  await teller.waitForURL(/\/cases\/[0-9a-f-]{36}$/);
  return { caseId: new URL(teller.url()).pathname.split('/')[2] ?? '', error: null };
}

/** The invited customer's steps through the UI (link, code, device check, consent), then the teller admits them. */
export async function customerJoinsAndIsAdmitted(customer: Page, teller: Page, link: string, code: string): Promise<void> {
  await customer.goto(link);
  await customer.getByTestId('join-code-input').fill(code);
  await customer.getByTestId('join-code-submit').click();
  await customer.getByTestId('device-check-ok').click({ timeout: 30_000 });
  await customer.getByTestId('consent-accept').click();
  await customer.getByTestId('waiting-room').waitFor();
  await teller.getByTestId('admit-button').click({ timeout: 30_000 });
}
