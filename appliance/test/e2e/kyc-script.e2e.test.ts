// A 双录 sale end to end through the real UI, Janus and appliance in a network namespace: the teller picks the
// product from the catalogue (branch from the identity), runs its script in the call; the customer sees the
// "recording" indicator, shares the location, taps "I understand and confirm" and sees the code to read aloud; a
// skipped step is refused; completion is refused until the recording is sealed and allowed after; the sealed
// manifest holds every step's marker with each party's media offset; the auditor's checklist jumps to a marker.
// Needs root (ip netns) and `npm run build -w web`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import pg from 'pg';
import { startTestAppliance, WEB_BUILD } from '../helpers/appliance.js';
import { waitForRecording } from '../helpers/live-appliance.js';
import { customerJoinsAndIsAdmitted, openBrowser, watchPage } from '../helpers/ui-browser.js';
import { signInThroughIdp, until } from '../harness/browser.js';
import { createNetns } from '../harness/netns.js';
import { startTestJanus } from '../harness/janus.js';

t.test('a wealth-management sale: script, confirmations, markers, gate, checklist', { timeout: 300_000 }, async (t) => {
  const ns = await createNetns(t);
  const janus = await startTestJanus(ns);
  t.teardown(() => janus.stop());
  const roomKeyFile = join(ns.dir, 'janus-room-key');
  writeFileSync(roomKeyFile, janus.roomAdminKey, { mode: 0o600 });
  const a = await startTestAppliance(t, {
    netns: ns,
    webRoot: WEB_BUILD,
    env: { KYC_JANUS_WS_URL: janus.url, KYC_JANUS_ROOM_KEY_FILE: roomKeyFile, KYC_RECORDING_SETTLE_SECONDS: '1', KYC_SEAL_RECONCILE_SECONDS: '2' },
  });
  const chromium = await ns.wrapper('/usr/bin/chromium');

  const tellerBrowser = await openBrowser(t, a, { executablePath: chromium });
  const teller = await tellerBrowser.newPage();
  const tellerProblems = watchPage(teller, a.baseUrl, { expected: ['401 GET /api/me', /^409 POST \/api\/cases\/[0-9a-f-]+\/kyc\/steps\//] });
  await teller.goto(`${a.baseUrl}/cases/new`);
  await signInThroughIdp(teller, a.baseUrl, 'teller1', 'teller1');
  t.equal(await teller.getByTestId('case-branch').getAttribute('data-branch'), '北京分行营业部', 'branch from the identity');
  await teller.getByTestId('case-customer-name').fill('张三');
  await teller.getByTestId('case-customer-id').fill('11010519491231002X');
  await teller.getByTestId('case-customer-phone').fill('13812345678');
  await teller.getByTestId('case-product').selectOption('WM-SALE');
  await teller.getByTestId('case-save').click();
  await teller.getByTestId('case-detail').waitFor();
  const caseId = new URL(teller.url()).pathname.split('/')[2] ?? '';
  await teller.getByTestId('invite-create').click();
  const link = (await teller.getByTestId('invite-link').innerText()).trim();
  const code = (await teller.getByTestId('invite-code').innerText()).replace(/\D/g, '');

  const customerBrowser = await openBrowser(t, a, { executablePath: chromium, viewport: { width: 390, height: 844 } });
  await customerBrowser.context.grantPermissions(['geolocation'], { origin: a.baseUrl });
  await customerBrowser.context.setGeolocation({ latitude: 31.2304, longitude: 121.4737, accuracy: 30 });
  const customer = await customerBrowser.newPage();
  // after the hang-up the session's files and script are no longer the customer's to read
  const customerProblems = watchPage(customer, a.baseUrl, { expected: [/^404 GET \/api\/sessions\/[0-9a-f-]+\/(files|kyc)/] });
  await customerJoinsAndIsAdmitted(customer, teller, link, code);

  // Both sides: "recording" with the elapsed time running.
  await teller.getByTestId('recording-indicator').waitFor({ timeout: 30_000 });
  await customer.getByTestId('recording-indicator').waitFor({ timeout: 30_000 });
  const before = await customer.getByTestId('recording-elapsed').innerText();
  await customer.waitForTimeout(2100);
  t.not(await customer.getByTestId('recording-elapsed').innerText(), before, `the customer's elapsed time runs (${before} → …)`);
  t.match(await teller.getByTestId('recording-elapsed').innerText(), /^\d+:\d\d$/);

  await customer.getByTestId('location-share').click();
  await customer.locator('[data-testid="location-state"][data-state="given"]').waitFor({ timeout: 15_000 });
  t.pass('the customer shared the location with consent');

  const step = (id: string) => teller.locator(`[data-testid="script-step"][data-step-id="${id}"]`);
  await step('opening').waitFor();
  t.same(
    await teller.getByTestId('script-step').evaluateAll((els) => els.map((e) => e.getAttribute('data-step-id'))),
    ['opening', 'risk-disclosure', 'product-explanation', 'suitability', 'customer-confirmation', 'read-aloud'],
    'the steps in order',
  );
  t.equal(await step('suitability').locator('[data-testid="script-questions"] li').count(), 3, 'three questions drawn for this case');

  // A later required step before the earlier ones is refused.
  await step('product-explanation').getByTestId('script-step-done').click();
  await teller.getByTestId('script-panel').getByTestId('error-notice').waitFor();
  t.equal(await step('product-explanation').getAttribute('data-status'), 'pending', 'skipping is refused');

  /** "Done" on a step; one that needs confirmation waits for the customer's tap. */
  async function run(id: string, confirm: boolean) {
    await step(id).getByTestId('script-step-done').click();
    if (confirm) {
      await step(id).and(teller.locator('[data-status="awaiting-confirmation"]')).waitFor();
      const prompt = customer.locator(`[data-testid="customer-prompt"][data-step-id="${id}"]`);
      await prompt.waitFor({ timeout: 10_000 });
      await prompt.getByTestId('customer-confirm').click();
      await prompt.waitFor({ state: 'detached', timeout: 10_000 }).catch(() => t.fail(`${id}: the prompt stays; customer: ${customerProblems.join('; ')}`));
    }
    await step(id)
      .and(teller.locator('[data-status="done"]'))
      .waitFor({ timeout: 20_000 })
      .catch(async (err: unknown) => {
        t.fail(`${id}: ${await step(id).getAttribute('data-status')}; teller: ${tellerProblems.join('; ')}; customer: ${customerProblems.join('; ')}`);
        throw err;
      });
  }
  await run('opening', true);
  t.equal(await customer.getByTestId('customer-prompt').count(), 0, 'the prompt goes once tapped');
  await run('risk-disclosure', true);
  await run('product-explanation', false);
  await run('suitability', false);
  await run('customer-confirmation', true);
  const tellerCode = (await step('read-aloud').getByTestId('script-read-aloud-code').innerText()).trim();
  await customer.getByTestId('customer-read-aloud-code').waitFor({ timeout: 10_000 });
  t.equal((await customer.getByTestId('customer-read-aloud-code').innerText()).trim(), tellerCode, `the customer sees the code the teller expects (${tellerCode})`);
  await run('read-aloud', false);
  // Redo keeps both attempts.
  await step('product-explanation').getByTestId('script-step-done').click();
  await step('product-explanation').and(teller.locator('[data-attempts="2"]')).waitFor({ timeout: 10_000 });
  await tellerBrowser.screenshot(teller, 'kyc-script-teller');
  await customerBrowser.screenshot(customer, 'kyc-script-customer');

  const headers = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  await teller.waitForTimeout(2000);
  await teller.getByTestId('hangup-button').click();
  await teller.getByTestId('session-ended').waitFor({ timeout: 15_000 });
  const refused = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/complete`, headers });
  t.equal(refused.statusCode, 409, 'completion refused while the recording is not sealed');
  t.equal(refused.json().error.code, 'KYC_ERR_STEPS_MISSING');

  const { sessionId, rec } = await waitForRecording(a, caseId);
  t.equal(rec.status, 'sealed');

  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const manifest = (await su.query('SELECT manifest FROM recordings WHERE session_id = $1', [sessionId])).rows[0].manifest as {
    markers: Array<{ kind: string; offsetMs: number; data: { stepId?: string; consent?: string; geolocationId?: string }; media: Array<{ party: string; offsetMs: number }> }>;
  };
  const stepMarkers = manifest.markers.filter((mk) => mk.kind === 'kyc.step');
  t.same([...new Set(stepMarkers.map((mk) => mk.data.stepId))].sort(), ['customer-confirmation', 'opening', 'product-explanation', 'read-aloud', 'risk-disclosure', 'suitability']);
  t.equal(stepMarkers.length, 7, 'one marker per attempt (a redo included)');
  t.ok(
    stepMarkers.every((mk) => ['customer', 'teller'].every((p) => mk.media.some((x) => x.party === p && x.offsetMs >= 0))),
    "every step marker carries its offset in both parties' media",
  );
  const geoMarker = manifest.markers.find((mk) => mk.kind === 'geolocation');
  t.match(geoMarker?.data, { consent: 'granted', geolocationId: String, receivedAt: String }, 'the location is marked in the manifest');
  t.notOk(JSON.stringify(manifest).includes('31.2304'), 'its coordinates are not (the manifest is also kept in the database in clear)');
  t.match(
    (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/kyc`, headers })).json().geolocation,
    { consent: 'granted', latitude: 31.2304, longitude: 121.4737 },
    'the teller sees them decrypted',
  );

  // Sealed: the teller's completion now passes the gate.
  await teller.reload();
  await teller.getByTestId('case-complete').click();
  await teller.locator('[data-testid="case-status"][data-status="completed"]').waitFor();
  t.pass('completed once every step is done and the recording sealed');

  const auditorBrowser = await openBrowser(t, a, { executablePath: chromium });
  const auditor = await auditorBrowser.newPage();
  await auditor.goto(`${a.baseUrl}/archive/cases/${caseId}`);
  await signInThroughIdp(auditor, a.baseUrl, 'auditor1', 'auditor1');
  await auditor.getByTestId('kyc-checklist').waitFor();
  t.equal(await auditor.getByTestId('kyc-checklist').getAttribute('data-missing'), '0', 'nothing missing');
  t.equal(await auditor.locator('[data-testid="kyc-checklist-step"][data-step-id="product-explanation"] [data-testid="kyc-checklist-attempt"]').count(), 2);
  t.equal(await auditor.getByTestId('kyc-checklist-location').getAttribute('data-consent'), 'granted');
  await auditor.getByTestId('replay-open').click();
  const jump = auditor.locator('[data-testid="kyc-checklist-step"][data-step-id="customer-confirmation"]').getByTestId('kyc-checklist-jump');
  await jump.waitFor();
  const target = stepMarkers.find((mk) => mk.data.stepId === 'customer-confirmation')!.offsetMs / 1000;
  await jump.click();
  await until(auditor, `Math.abs(Number(document.querySelector('[data-testid="replay-time"]').dataset.t) - ${target}) < 1.5`);
  t.pass(`the checklist jumps to the customer's confirmation in the replay (${target.toFixed(1)} s)`);
  await auditorBrowser.screenshot(auditor, 'kyc-checklist-auditor');

  t.same(tellerProblems, [], 'no console errors, CSP refusals or unexpected failed requests on the teller page');
  t.same(customerProblems, [], 'nor on the customer page');
  const events = (await a.auditEvents()).filter((e) => e.object?.id === caseId).map((e) => e.action);
  for (const action of ['case.create', 'kyc.confirm.requested', 'kyc.step.completed', 'kyc.geolocation', 'case.complete', 'case.kyc.view'])
    t.ok(events.includes(action), `${action} audited`);
});
