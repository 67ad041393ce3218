import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ensureOwnTls } from '../../src/pki/certificate-authority.js';
import { launchBrowser, spkiHash } from './browser.js';

const page: RequestListener = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end('<!doctype html><title>probe</title><h1 data-testid="probe">probe</h1>');
};

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function tempDir(t: Test, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('Debian Chromium with fake media devices, extra args, screenshots and a clean close', async (t) => {
  const server = createHttpServer(page);
  const port = await listen(server);
  t.teardown(() => new Promise((resolve) => server.close(resolve)));

  const browser = await launchBrowser({
    screenshotDir: tempDir(t, 'kyc-shots-'),
    extraArgs: ['--user-agent=kyc-harness-probe'],
  });
  t.teardown(() => browser.close());
  t.ok(existsSync(browser.userDataDir), 'a fresh profile folder exists while the browser runs');

  const tab = await browser.newPage();
  t.equal(browser.context.pages().length, 1, 'the blank page of the launch is handed out, not left idle');
  await tab.goto(`http://127.0.0.1:${port}/`);
  t.equal(await tab.getByTestId('probe').innerText(), 'probe');
  // Page code as text: the appliance's type check has no DOM library.
  t.equal(await tab.evaluate('navigator.userAgent'), 'kyc-harness-probe', 'extra args reach Chromium');

  const kinds = await tab.evaluate(`(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    const found = stream.getTracks().map((track) => track.kind + ':' + track.readyState);
    for (const track of stream.getTracks()) track.stop();
    return found.sort();
  })()`);
  t.same(kinds, ['audio:live', 'video:live'], 'camera and microphone are granted without a prompt');

  const shot = await browser.screenshot(tab, 'probe page/1');
  t.equal(shot, join(browser.screenshotDir, 'probe_page_1.png'));
  t.same([...readFileSync(shot).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');

  await browser.close();
  t.notOk(existsSync(browser.userDataDir), 'close() removes the profile folder');
  await browser.close();
  t.pass('a second close() is harmless');
});

t.test('TLS: trusts exactly the given CA instead of ignoring certificate errors', async (t) => {
  const tls = ensureOwnTls(tempDir(t, 'kyc-tls-'), ['127.0.0.1']);
  t.ok(tls.caCertPath);
  const caHash = spkiHash(readFileSync(tls.caCertPath ?? '', 'utf8'));
  const otherCa = ensureOwnTls(tempDir(t, 'kyc-tls-other-'), ['127.0.0.1']).caCertPath ?? '';
  const otherHash = spkiHash(readFileSync(otherCa, 'utf8'));
  t.not(caHash, otherHash);

  const server = createHttpsServer({ cert: tls.cert, key: tls.key }, page);
  const url = `https://127.0.0.1:${await listen(server)}/`;
  t.teardown(() => new Promise((resolve) => server.close(resolve)));

  const trusting = await launchBrowser({ trustedSpkiHashes: [caHash] });
  t.teardown(() => trusting.close());
  const response = await (await trusting.newPage()).goto(url);
  t.equal(response?.status(), 200, 'the appliance CA is trusted');
  await trusting.close();

  const strict = await launchBrowser({ trustedSpkiHashes: [otherHash] });
  t.teardown(() => strict.close());
  await t.rejects((await strict.newPage()).goto(url), /ERR_CERT_AUTHORITY_INVALID/, 'another CA is not trusted');
  await strict.close();

  const lenient = await launchBrowser();
  t.teardown(() => lenient.close());
  t.equal((await (await lenient.newPage()).goto(url))?.status(), 200, 'without trusted hashes, TLS errors are ignored');
});
