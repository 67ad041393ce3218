// The built UI (web/build) in real Chromium against a real appliance and dev IdP, under the appliance's CSP.
// Needs `npm run build -w web` first.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startTestAppliance, WEB_BUILD } from '../../../appliance/test/helpers/appliance.js';
import { openBrowser, watchPage } from '../../../appliance/test/helpers/ui-browser.js';
import { signInThroughIdp, signOutThroughIdp } from '../../../appliance/test/harness/browser.js';

// GB 11643-1999's worked example (check character X) and the same number with a wrong check character.
const VALID_ID = '11010519491231002X';
const WRONG_CHECK_ID = '110105194912310021';

// Before sign-in the UI asks who is signed in and shows its landing page on 401.
const SIGNED_OUT = '401 GET /api/me';

t.before(() => {
  if (!existsSync(join(WEB_BUILD, 'index.html'))) throw new Error(`no UI build in ${WEB_BUILD}: run npm run build -w web`);
});

t.test('teller: sign in, open a case with field errors first, switch language, sign out', async (t) => {
  const a = await startTestAppliance(t, { listen: true, webRoot: WEB_BUILD });
  const browser = await openBrowser(t, a);
  const page = await browser.newPage();
  const problems = watchPage(page, a.baseUrl, { expected: [SIGNED_OUT, '400 POST /api/cases'] });

  const response = await page.goto(`${a.baseUrl}/cases/new`);
  const csp = response?.headers()['content-security-policy'] ?? '';
  t.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/, 'served under the strict CSP');
  t.match(csp, /style-src 'self'(;|$)/);
  t.notMatch(csp, /unsafe-inline|sha256-/);
  await page.getByTestId('signin').waitFor();
  t.equal(await page.locator('html').getAttribute('lang'), 'zh-CN', 'Chinese by default');
  t.equal(await page.locator('.brand').innerText(), '视频双录 KYC');

  await signInThroughIdp(page, a.baseUrl, 'teller1', 'teller1');
  t.equal(new URL(page.url()).pathname, '/cases/new', 'back on the page where sign-in started');
  t.equal(await page.getByTestId('user-name').innerText(), 'teller1');
  t.equal(await page.getByTestId('user-roles').innerText(), '柜员');

  await page.getByTestId('case-save').click();
  await page.getByTestId('case-customer-name-error').waitFor();
  for (const testid of ['case-customer-name', 'case-customer-id', 'case-customer-phone', 'case-product']) {
    t.equal(await page.getByTestId(`${testid}-error`).innerText(), '必填', `${testid}: required`);
  }
  t.equal(await page.getByTestId('case-bank-card-error').count(), 0, 'the bank card is optional');

  await page.getByTestId('case-customer-name').fill('张三');
  await page.getByTestId('case-customer-id').fill(WRONG_CHECK_ID);
  await page.getByTestId('case-customer-phone').fill('13812345678');
  await page.getByTestId('case-bank-card').fill('4111 1111 1111 1112');
  t.equal(await page.getByTestId('case-branch').getAttribute('data-branch'), '北京分行营业部', "the branch is the teller's, from the identity");
  await page.getByTestId('case-product').selectOption('WM-SALE');
  await page.getByTestId('case-save').click();
  await page.getByTestId('case-customer-id-error').waitFor();
  t.equal(await page.getByTestId('case-customer-id-error').getAttribute('data-code'), 'gb11643');
  t.equal(await page.getByTestId('case-bank-card-error').getAttribute('data-code'), 'luhn');
  t.equal(await page.getByTestId('case-customer-name-error').count(), 0, 'a corrected field loses its error');

  await page.getByTestId('case-customer-id').fill(VALID_ID.toLowerCase());
  await page.getByTestId('case-bank-card').fill('4111 1111 1111 1111');
  await page.getByTestId('case-save').click();
  await page.getByTestId('case-detail').waitFor();
  t.match(new URL(page.url()).pathname, /^\/cases\/[0-9a-f-]{36}$/);
  t.equal(await page.getByTestId('case-status').getAttribute('data-status'), 'draft');
  t.equal(await page.getByTestId('case-customer-id-value').innerText(), '110***********002X', 'masked by the server');
  t.equal(await page.getByTestId('case-bank-card-value').innerText(), '4111********1111');
  await browser.screenshot(page, 'teller-case-detail');

  await page.getByTestId('nav-home').click();
  await page.getByTestId('home-teller').waitFor();
  t.equal(await page.getByTestId('case-row').count(), 1);
  t.equal(await page.getByTestId('home-auditor').count(), 0, 'no auditor section for a teller');
  t.equal(await page.getByTestId('home-admin').count(), 0, 'no admin section for a teller');

  await page.getByTestId('lang-switch').click();
  await page.getByText('Video KYC').waitFor();
  t.equal(await page.locator('html').getAttribute('lang'), 'en');
  t.equal(await page.getByTestId('case-new').innerText(), 'New case');
  await page.reload();
  await page.getByTestId('home-teller').waitFor();
  t.equal(await page.getByTestId('case-new').innerText(), 'New case', 'the choice survives a reload');
  t.equal(await page.getByTestId('user-roles').innerText(), 'Teller');

  await signOutThroughIdp(page, a.baseUrl);
  const me = await page.evaluate("fetch('/api/me').then((r) => r.status)");
  t.equal(me, 401, 'the appliance session is gone');
  t.same(problems, [], 'no CSP violation, script error or unexpected failed request');
});

t.test('admin on a phone: component status; auditor: archive placeholder', async (t) => {
  const a = await startTestAppliance(t, { listen: true, webRoot: WEB_BUILD });

  const phone = await openBrowser(t, a, { viewport: { width: 390, height: 844 } });
  const page = await phone.newPage();
  const problems = watchPage(page, a.baseUrl, { expected: [SIGNED_OUT] });
  await signInThroughIdp(page, a.baseUrl, 'admin1', 'admin1');
  await page.getByTestId('readyz-table').waitFor();
  t.equal(await page.getByTestId('home-teller').count(), 0);
  const components: string[] = [];
  for (const row of await page.locator('[data-testid=readyz-table] tbody tr').all()) {
    components.push(`${await row.getAttribute('data-component')}=${await row.getAttribute('data-status')}`);
  }
  t.same(components.sort(), ['db=up', 'face-model-browser=up', 'face-model=up', 'idp=up', 'janus=not_configured']);
  await page.getByTestId('readyz-refresh').click();
  await page.getByTestId('readyz-table').waitFor();
  t.equal(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'), 0, 'nothing wider than the phone screen');
  await phone.screenshot(page, 'admin-phone-home');
  t.same(problems, []);

  const desktop = await openBrowser(t, a);
  const auditor = await desktop.newPage();
  const auditorProblems = watchPage(auditor, a.baseUrl, { expected: [SIGNED_OUT] });
  await signInThroughIdp(auditor, a.baseUrl, 'auditor1', 'auditor1');
  await auditor.getByTestId('home-auditor').waitFor();
  await auditor.getByTestId('nav-archive').click();
  await auditor.getByTestId('archive-search-input').waitFor();
  await auditor.goto(`${a.baseUrl}/admin`);
  await auditor.getByTestId('forbidden').waitFor();
  t.equal(await auditor.getByTestId('readyz-table').count(), 0, 'no status table for an auditor');
  t.same(auditorProblems, []);
});
