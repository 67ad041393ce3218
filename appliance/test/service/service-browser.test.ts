// The customer-initiated service in the built UI (web/build), real Chromium against a real appliance and dev IdP:
// a customer on a phone asks the assistant and gets a cited answer, transfers, waits with a live position; a teller
// signed in on a desktop goes available, receives the offer with the conversation and accepts it; the customer is
// taken to the join page on the same browser (past the code step). The call itself runs without Janus here (the
// join tests cover the call pages); it is admitted and hung up through the API, then the customer rates it on
// /service. Needs `npm run build -w web`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startTestAppliance, WEB_BUILD } from '../helpers/appliance.js';
import { openBrowser, watchPage } from '../helpers/ui-browser.js';
import { signInThroughIdp, until } from '../harness/browser.js';
import { seedKb } from './helpers.js';

t.before(() => {
  if (!existsSync(join(WEB_BUILD, 'index.html'))) throw new Error(`no UI build in ${WEB_BUILD}: run npm run build -w web`);
});

t.test('customer asks, transfers, waits; teller accepts with the conversation; join; rating', async (t) => {
  const a = await startTestAppliance(t, { listen: true, webRoot: WEB_BUILD, env: { KYC_QUEUE_OFFER_TIMEOUT_SECONDS: '120' } });
  await seedKb(a);

  const phone = await openBrowser(t, a, { viewport: { width: 390, height: 844 } });
  const customer = await phone.newPage();
  const customerProblems = watchPage(customer, a.baseUrl);
  await customer.goto(`${a.baseUrl}/service?product=VIDEO-WITNESS`);
  await customer.getByTestId('service-start').waitFor();
  t.equal(await customer.getByTestId('signin').count(), 0, 'no sign-in for the customer');
  t.equal(await customer.getByTestId('service-product').inputValue(), 'VIDEO-WITNESS', 'the product from the link');
  await customer.getByTestId('service-name').fill('李小龙');
  t.ok(await customer.getByTestId('service-begin').isDisabled(), 'no start without consent');
  await customer.getByTestId('service-consent').check();
  await customer.getByTestId('service-begin').click();
  await customer.getByTestId('service-question').fill('我的信用卡丢了怎么办');
  await customer.getByTestId('service-send').click();
  await customer.getByTestId('service-citation').waitFor();
  t.match(await customer.getByTestId('service-citation').innerText(), /信用卡丢了怎么办？.*1/, 'the answer cites its entry and version');
  t.match(await customer.getByTestId('service-chat').innerText(), /挂失/);
  await phone.screenshot(customer, 'service-cited-answer');

  await customer.getByTestId('service-transfer').click();
  await customer.getByTestId('service-position').waitFor();
  t.equal(await customer.getByTestId('service-position').getAttribute('data-position'), '1', 'first in the queue');
  await phone.screenshot(customer, 'service-queued');

  // the teller: presence and skills on the home page; the offer arrives with the conversation
  const desk = await openBrowser(t, a, { viewport: { width: 1280, height: 800 } });
  const teller = await desk.newPage();
  const tellerProblems = watchPage(teller, a.baseUrl, { expected: ['401 GET /api/me'] });
  await signInThroughIdp(teller, a.baseUrl, 'teller1', 'teller1');
  await teller.getByTestId('service-desk').waitFor();
  await teller.getByTestId('desk-products').fill('VIDEO-WITNESS');
  await teller.getByTestId('desk-available').click();
  await teller.getByTestId('desk-offer').waitFor({ timeout: 30_000 });
  t.match(await teller.getByTestId('desk-conversation').innerText(), /信用卡丢了[\s\S]*挂失/, 'the conversation reaches the teller');
  t.match(await teller.getByTestId('desk-offer').innerText(), /李\*\*/, 'the name masked');
  await desk.screenshot(teller, 'teller-offer');
  await teller.getByTestId('desk-id-number').fill('11010519491231002X');
  await teller.getByTestId('desk-phone').fill('13812345678');
  await teller.getByTestId('desk-accept').click();
  await teller.getByTestId('desk-accepted').waitFor();
  t.match(await teller.getByTestId('desk-accepted-conversation').innerText(), /信用卡丢了/, 'the conversation stays in view once accepted');
  await desk.screenshot(teller, 'teller-accepted');
  await teller.getByTestId('desk-open-case').click();
  await teller.waitForURL(/\/cases\/[0-9a-f-]{36}$/);
  const caseId = new URL(teller.url()).pathname.split('/')[2] ?? '';

  // the customer's page learns it by polling and leads to the join page, on the same browser
  await customer.getByTestId('service-join').waitFor({ timeout: 15_000 });
  await customer.getByTestId('service-join').click();
  await customer.waitForURL(/\/join\/[A-Za-z0-9_-]{43}$/);
  const token = new URL(customer.url()).pathname.split('/')[2] ?? '';
  await until(customer, "document.querySelector('[data-testid=join-code-input]') === null && document.body.innerText.length > 0");
  t.equal(await customer.getByTestId('join-code-input').count(), 0, 'no code to type: the ticket proved the browser');

  // the call (its pages are covered by the join tests): device check and consent with this browser's cookie,
  // admitted and hung up by the teller
  const cookie = (await phone.context.cookies()).find((c) => c.name === '__Host-kyc_device')?.value ?? '';
  const cookies = { '__Host-kyc_device': cookie };
  t.equal((await a.app.inject({ method: 'POST', url: `/api/join/${token}/device-check`, cookies, payload: { camera: true, microphone: true } })).statusCode, 200);
  t.equal((await a.app.inject({ method: 'POST', url: `/api/join/${token}/consent`, cookies, payload: { accept: true, consentVersion: '2026-11' } })).statusCode, 200);
  const auth = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const admit = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/admit`, headers: auth });
  t.equal(admit.statusCode, 200, admit.body);
  t.equal((await a.app.inject({ method: 'POST', url: `/api/sessions/${admit.json().id}/hangup`, headers: auth })).statusCode, 200);

  // back on /service: the rating
  await customer.goto(`${a.baseUrl}/service`);
  await customer.getByTestId('service-rating').waitFor({ timeout: 15_000 });
  await customer.getByTestId('service-score-4').check();
  await customer.getByTestId('service-comment').fill('很耐心');
  await customer.getByTestId('service-rate').click();
  await customer.getByTestId('service-done').waitFor();
  await phone.screenshot(customer, 'service-rated');

  const report = (await a.app.inject({ method: 'GET', url: '/api/admin/service/report', headers: { authorization: `Bearer ${await a.tokenFor('admin1')}` } })).json();
  t.match(report, { handled: 1, perTeller: [{ teller: 'teller1', handled: 1 }], ratings: [{ productCode: 'VIDEO-WITNESS', teller: 'teller1', count: 1, average: 4 }] });
  t.same(customerProblems, [], 'nothing went wrong in the customer page');
  t.same(
    tellerProblems.filter((p) => !/\/api\/signaling/.test(p)),
    [],
    'nothing went wrong in the teller page',
  );
});
