// Headless Chromium for integration tests: Debian's /usr/bin/chromium driven by playwright-core (never a
// browser that Playwright downloads), a fresh profile per launch, fake camera and microphone.
import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // WebRTC must offer real loopback/namespace addresses to Janus, not mDNS names.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface BrowserOptions {
  /** Another Chromium binary or a wrapper script (e.g. one that enters a network namespace first). */
  executablePath?: string;
  /** Appended to CHROMIUM_ARGS, e.g. `--use-file-for-fake-video-capture=/path/customer.y4m`. */
  extraArgs?: readonly string[];
  /** Environment of the browser process; the test process's environment when absent. */
  env?: Record<string, string>;
  /**
   * Trust exactly these certificates (base64 SHA-256 of the SPKI, see spkiHash) and check TLS otherwise.
   * Without it every certificate error is ignored.
   */
  trustedSpkiHashes?: readonly string[];
  /** Page size in CSS pixels; a phone is `{ width: 390, height: 844 }`. */
  viewport?: { width: number; height: number };
  /** Where screenshot() writes; kept after close(). */
  screenshotDir?: string;
  /** Default for every Playwright action and navigation, in milliseconds. */
  timeoutMs?: number;
  /**
   * Leave camera and microphone requests unanswered instead of allowing them: headless Chromium then refuses
   * them as a user who blocks them would, until the test allows them with `context.grantPermissions()`.
   */
  refuseMediaPrompts?: boolean;
}

export interface TestBrowser {
  readonly context: BrowserContext;
  /** The profile folder of this launch; close() removes it. */
  readonly userDataDir: string;
  readonly screenshotDir: string;
  newPage(): Promise<Page>;
  /** Full-page PNG at `<screenshotDir>/<name>.png`; returns the path. */
  screenshot(page: Page, name: string): Promise<string>;
  /** Closes the browser and removes the profile folder, also after a crash; calling it again is harmless. */
  close(): Promise<void>;
}

/** The value `--ignore-certificate-errors-spki-list` takes for a certificate: base64 SHA-256 of its SPKI. */
export function spkiHash(certificatePem: string): string {
  const spki = new X509Certificate(certificatePem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

const handedOut = new WeakSet<Page>();

export async function launchBrowser(options: BrowserOptions = {}): Promise<TestBrowser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'kyc-chromium-'));
  const screenshotDir = options.screenshotDir ?? join(tmpdir(), 'kyc-screenshots');
  const trusted = options.trustedSpkiHashes ?? [];
  const baseArgs = options.refuseMediaPrompts ? CHROMIUM_ARGS.filter((arg) => arg !== '--use-fake-ui-for-media-stream') : CHROMIUM_ARGS;
  const args = [...baseArgs, ...(options.extraArgs ?? [])];
  if (trusted.length > 0) args.push(`--ignore-certificate-errors-spki-list=${trusted.join(',')}`);

  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: options.executablePath ?? CHROMIUM_PATH,
      headless: true,
      args,
      ignoreHTTPSErrors: trusted.length === 0,
      viewport: options.viewport ?? { width: 1280, height: 800 },
      ...(options.env ? { env: options.env } : {}),
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }
  if (options.timeoutMs !== undefined) context.setDefaultTimeout(options.timeoutMs);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        await context.close();
      } finally {
        await rm(userDataDir, { recursive: true, force: true });
      }
    })();
    return closing;
  };

  return {
    context,
    userDataDir,
    screenshotDir,
    // A persistent context opens with one blank page; hand that out first rather than leave it idle.
    async newPage() {
      const blank = context.pages().find((page) => page.url() === 'about:blank' && !handedOut.has(page));
      const page = blank ?? (await context.newPage());
      handedOut.add(page);
      return page;
    },
    async screenshot(page, name) {
      await mkdir(screenshotDir, { recursive: true });
      const path = join(screenshotDir, `${name.replace(/[^\w.-]+/g, '_')}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close,
  };
}

/**
 * Signs in through the appliance's login redirect and the Keycloak-style login form of the IdP, then waits
 * until the browser is back on the appliance and the UI shows the signed-in user.
 */
export async function signInThroughIdp(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  const appOrigin = new URL(baseUrl).origin;
  if (!page.url().startsWith(`${appOrigin}/`)) await page.goto(baseUrl);
  await page.getByTestId('signin').click();
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('#kc-login').click();
  await page.waitForURL((url) => url.origin === appOrigin && !url.pathname.startsWith('/auth/'));
  await page.getByTestId('signout').waitFor({ state: 'visible' });
}

/** Signs out through the UI: the appliance ends its session, the IdP its own, and the landing page returns. */
export async function signOutThroughIdp(page: Page, baseUrl: string): Promise<void> {
  const appOrigin = new URL(baseUrl).origin;
  const idpLogout = page.waitForRequest((request) => request.url().includes('/protocol/openid-connect/logout'));
  await page.getByTestId('signout').click();
  await idpLogout;
  await page.waitForURL((url) => url.origin === appOrigin);
  await page.getByTestId('signin').waitFor({ state: 'visible' });
}

/**
 * Waits until a JavaScript expression is true in the page. Playwright's waitForFunction() evaluates with eval
 * inside the page, which the appliance's CSP refuses; evaluate() is not subject to it.
 */
export async function until(page: Page, expression: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(`Boolean(${expression})`))) {
    if (Date.now() > deadline) throw new Error(`still false after ${timeoutMs} ms: ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
