// The admin's operations dashboard in the built UI (real Chromium, appliance, dev IdP): charts drawn by uPlot
// from GET /api/admin/ops, and a warning when a certificate is close to expiry. Needs `npm run build -w web`.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { newCaseBody, startTestAppliance, WEB_BUILD } from '../../../appliance/test/helpers/appliance.js';
import { admitCustomer } from '../../../appliance/test/helpers/kyc-session.js';
import { openBrowser, watchPage } from '../../../appliance/test/helpers/ui-browser.js';
import { signInThroughIdp } from '../../../appliance/test/harness/browser.js';

const run = promisify(execFile);
const SIGNED_OUT = '401 GET /api/me';

t.before(() => {
  if (!existsSync(join(WEB_BUILD, 'index.html'))) throw new Error(`no UI build in ${WEB_BUILD}: run npm run build -w web`);
});

t.test('admin: the operations dashboard draws its charts and warns of a certificate expiring in 10 days', async (t) => {
  // the institution's server certificate (KYC_TLS_CERT_FILE) runs out in 10 days: under the 30-day threshold
  const dir = t.testdir({});
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '10', '-subj', '/CN=kyc.test']);
  const a = await startTestAppliance(t, { listen: true, webRoot: WEB_BUILD, env: { KYC_TLS_CERT_FILE: cert, KYC_TLS_KEY_FILE: key } });
  const teller = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const c = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody() });
  await admitCustomer(a, teller, c.json().id as string);
  // a few samples for the history (the page also samples on each refresh)
  const admin = { authorization: `Bearer ${await a.tokenFor('admin1')}` };
  for (let i = 0; i < 3; i++) await a.app.inject({ method: 'GET', url: '/api/admin/ops', headers: admin });

  const browser = await openBrowser(t, a);
  const page = await browser.newPage();
  const problems = watchPage(page, a.baseUrl, { expected: [SIGNED_OUT] });
  await page.goto(`${a.baseUrl}/admin`);
  await signInThroughIdp(page, a.baseUrl, 'admin1', 'admin1');
  await page.getByTestId('ops-dashboard').waitFor();
  await page.locator('[data-testid="ops-chart"] canvas').first().waitFor();
  t.equal(await page.getByTestId('ops-sessions').innerText(), '1', 'one live session');

  const charts = page.getByTestId('ops-chart');
  t.equal(await charts.count(), 5, 'five charts: sessions, joins, quality, seal backlog, disk');
  for (const name of ['sessions', 'joins', 'quality', 'seal', 'disk']) {
    const chart = page.locator(`[data-testid="ops-chart"][data-chart="${name}"]`);
    t.equal(await chart.locator('canvas').count(), 1, `${name}: a canvas`);
    t.ok(Number(await chart.getAttribute('data-points')) >= 4, `${name}: drawn from at least 4 samples`);
  }
  // the sessions chart really has ink on it: count painted pixels of its canvas
  const painted = (await page.evaluate(`(() => {
    const c = document.querySelector('[data-chart="sessions"] canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  })()`)) as number;
  t.ok(painted > 500, `the sessions chart is drawn (${painted} painted pixels)`);

  const warnings = page.getByTestId('ops-warning');
  await warnings.first().waitFor();
  t.equal(await warnings.count(), 1, 'one warning');
  t.equal(await warnings.first().getAttribute('data-code'), 'certificate_expiring');
  t.ok(['9', '10'].includes((await warnings.first().getAttribute('data-value')) ?? ''), 'expires in 9 or 10 days');
  t.match(await warnings.first().innerText(), /(server certificate expires in (9|10) days)|(server 证书将在 (9|10) 天后到期)/, "in the page's language");
  await browser.screenshot(page, 'admin-ops-dashboard');
  t.same(problems, [], 'no CSP violation, script error or unexpected failed request');
});
