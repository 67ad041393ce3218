// The admin's product catalogue in the built UI: create a product with its script, edit it into a new version, see
// the diff; a teller's new-case form offers it. Needs `npm run build -w web` first.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startTestAppliance, WEB_BUILD } from '../../../appliance/test/helpers/appliance.js';
import { openBrowser, watchPage } from '../../../appliance/test/helpers/ui-browser.js';
import { signInThroughIdp } from '../../../appliance/test/harness/browser.js';

t.before(() => {
  if (!existsSync(join(WEB_BUILD, 'index.html'))) throw new Error(`no UI build in ${WEB_BUILD}: run npm run build -w web`);
});

const steps = [
  { id: 'opening', kind: 'read', required: true, title: { 'zh-CN': '开场提示', en: 'Opening' }, text: { 'zh-CN': '您好', en: 'Hello' } },
  { id: 'risk', kind: 'read', required: true, confirm: true, title: { 'zh-CN': '风险揭示', en: 'Risk' }, text: { 'zh-CN': '投资有风险', en: 'Investing is risky' } },
];

t.test('admin: create a product, edit it into version 2, see what changed; the teller can choose it', async (t) => {
  const a = await startTestAppliance(t, { listen: true, webRoot: WEB_BUILD });
  const browser = await openBrowser(t, a);
  const page = await browser.newPage();
  const problems = watchPage(page, a.baseUrl, { expected: ['401 GET /api/me', '400 POST /api/admin/products'] });
  await page.goto(`${a.baseUrl}/admin`);
  await signInThroughIdp(page, a.baseUrl, 'admin1', 'admin1');
  await page.getByTestId('products-page').waitFor();
  await page.locator('[data-testid="product-row"][data-code="WM-SALE"]').waitFor();

  await page.getByTestId('product-new').click();
  await page.getByTestId('product-code').fill('PENSION-2027');
  await page.getByTestId('product-name-zh').fill('个人养老金产品');
  await page.getByTestId('product-name-en').fill('Personal pension product');
  await page.getByTestId('product-retention').fill('10');
  await page.getByTestId('product-steps').fill(JSON.stringify([{ ...steps[0], kind: 'question' }]));
  await page.getByTestId('product-save').click();
  await page.getByTestId('product-problems').waitFor();
  t.match(await page.getByTestId('product-problems').innerText(), /pool/, 'a question without a pool is refused with the field named');

  await page.getByTestId('product-steps').fill(JSON.stringify(steps));
  await page.getByTestId('product-save').click();
  await page.locator('[data-testid="product-row"][data-code="PENSION-2027"][data-version="1"]').waitFor();
  t.pass('created as version 1');

  await page.locator('[data-testid="product-row"][data-code="PENSION-2027"]').getByTestId('product-edit').click();
  const edited = [steps[0], { ...steps[1], text: { 'zh-CN': '投资有风险，入市需谨慎', en: 'Investing is risky' } }];
  await page.getByTestId('product-steps').fill(JSON.stringify(edited));
  await page.getByTestId('product-retention').fill('12');
  await page.getByTestId('product-save').click();
  await page.locator('[data-testid="product-row"][data-code="PENSION-2027"][data-version="2"]').waitFor();
  await page.locator('[data-testid="product-diff"][data-from="1"][data-to="2"]').waitFor();
  const paths = await page.getByTestId('product-diff-change').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-change')} ${e.getAttribute('data-path')}`));
  t.same(paths.sort(), ['changed retentionYears', 'changed steps.risk.text'], 'the diff shows exactly what changed');
  t.match(await page.getByTestId('product-diff').innerText(), /入市需谨慎/);
  await browser.screenshot(page, 'admin-products');
  t.same(problems, [], 'no console errors, CSP refusals or unexpected failed requests');

  const events = await a.auditEvents();
  t.ok(events.some((e) => e.action === 'product.create' && e.object?.id === 'PENSION-2027'));
  t.ok(events.some((e) => e.action === 'product.update' && e.object?.id === 'PENSION-2027'));

  const tellerBrowser = await openBrowser(t, a);
  const teller = await tellerBrowser.newPage();
  await teller.goto(`${a.baseUrl}/cases/new`);
  await signInThroughIdp(teller, a.baseUrl, 'teller1', 'teller1');
  await teller.locator('[data-testid="case-product"] option[value="PENSION-2027"]').waitFor({ state: 'attached' });
  t.pass("the new product is offered in the teller's form");
});
