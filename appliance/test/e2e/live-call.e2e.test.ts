// The product's core path, end to end with real parts inside a network namespace made by the test: a real Janus,
// the appliance (serving the built UI), the dev IdP, and two headless Chromium — the teller signed in through the
// IdP's login page, the customer from the invitation link. Both decode each other's video (getStats framesDecoded
// rising), chat both ways, hang up; the recording is then sealed. Needs root (ip netns) and `npm run build -w web`.
import t from 'tap';
import { startLiveAppliance, waitForRecording } from '../helpers/live-appliance.js';
import { customerJoinsAndIsAdmitted, openBrowser, tellerOpensCaseAndInvites, TRACK_PEER_CONNECTIONS, waitDecodingRises } from '../helpers/ui-browser.js';
import { signInThroughIdp, until } from '../harness/browser.js';

const VIDEOS = `[...document.querySelectorAll('[data-testid^="replay-video-"]')]`;

t.test('a recorded 1:1 video session through the real UI, Janus and appliance', { timeout: 240_000 }, async (t) => {
  const { a, chromium } = await startLiveAppliance(t, { env: { KYC_AUDIT_CHECKPOINT_EVERY_EVENTS: '1', KYC_AUDIT_CHECKPOINT_EVERY_SECONDS: '1' } });

  const tellerBrowser = await openBrowser(t, a, { executablePath: chromium });
  await tellerBrowser.context.addInitScript(TRACK_PEER_CONNECTIONS);
  const teller = await tellerBrowser.newPage();
  // a product without required script steps: these tests are about the call itself
  const { caseId, link, code } = await tellerOpensCaseAndInvites(teller, a.baseUrl, { product: 'VIDEO-WITNESS' });
  t.match(link, /\/join\/[A-Za-z0-9_-]{43}$/);
  t.match(code, /^\d{6}$/);

  const customerBrowser = await openBrowser(t, a, { executablePath: chromium, viewport: { width: 390, height: 844 } });
  await customerBrowser.context.addInitScript(TRACK_PEER_CONNECTIONS);
  const customer = await customerBrowser.newPage();
  await customerJoinsAndIsAdmitted(customer, teller, link, code);
  await teller.getByTestId('remote-video').waitFor({ timeout: 30_000 });
  await customer.getByTestId('remote-video').waitFor({ timeout: 30_000 });

  const [tFirst, tLater] = await waitDecodingRises(teller);
  const [cFirst, cLater] = await waitDecodingRises(customer);
  t.ok(tFirst > 0 && tLater > tFirst, `teller decodes the customer's video (${tFirst} → ${tLater} frames)`);
  t.ok(cFirst > 0 && cLater > cFirst, `customer decodes the teller's video (${cFirst} → ${cLater} frames)`);
  await tellerBrowser.screenshot(teller, 'e2e-teller-call');
  await customerBrowser.screenshot(customer, 'e2e-customer-call');

  await teller.getByTestId('chat-input').fill('您好，请出示身份证');
  await teller.getByTestId('chat-send').click();
  await customer.getByTestId('chat-message').filter({ hasText: '您好，请出示身份证' }).waitFor({ timeout: 10_000 });
  await customer.getByTestId('chat-input').fill('好的');
  await customer.getByTestId('chat-send').click();
  await teller.getByTestId('chat-message').filter({ hasText: '好的' }).waitFor({ timeout: 10_000 });
  t.pass('chat both ways');

  // A recording of a few seconds more, then hang up.
  await teller.waitForTimeout(4000);
  await teller.getByTestId('hangup-button').click();
  await teller.getByTestId('session-ended').waitFor({ timeout: 15_000 });
  await customer.locator('[data-testid="join-refusal"][data-reason="ended"]').waitFor({ timeout: 15_000 });
  t.pass('both sides see the end');
  await teller.getByTestId('case-complete').waitFor({ timeout: 15_000 });
  t.pass('the teller can mark the case completed as soon as the call ends, without reloading');

  const { sessionId, rec } = await waitForRecording(a, caseId);
  t.ok(sessionId, 'the session is listed');
  t.equal(rec.status, 'sealed', `the recording is sealed${rec.failureReason ? ` (${rec.failureReason})` : ''}`);
  for (const party of ['teller', 'customer']) {
    const p = rec.parties.find((x) => x.party === party);
    t.ok(p && p.durationMs > 3000 && p.bytes > 10_000, `${party}: ${p?.durationMs} ms, ${p?.bytes} bytes sealed`);
  }

  // The teller marks the case completed; an auditor finds it, replays both parties with seeking and approves it.
  await teller.getByTestId('case-complete').click();
  await teller.locator('[data-testid="case-status"][data-status="completed"]').waitFor();
  const auditorBrowser = await openBrowser(t, a, { executablePath: chromium });
  const auditor = await auditorBrowser.newPage();
  await auditor.goto(`${a.baseUrl}/archive`);
  await signInThroughIdp(auditor, a.baseUrl, 'auditor1', 'auditor1');
  await auditor.getByTestId('archive-search-input').fill('11010519491231002X');
  await auditor.getByTestId('archive-search-submit').click();
  await auditor.locator(`[data-testid="archive-result-row"][data-case-id="${caseId}"]`).click();
  await auditor.getByTestId('timeline-event').first().waitFor();
  await until(
    auditor,
    `(() => { const rows = [...document.querySelectorAll('[data-testid="audit-event"]')]; return rows.length > 0 && rows.every((r) => r.dataset.verified !== 'checking'); })()`,
  );
  t.equal(await auditor.locator('[data-testid="audit-event"][data-verified="failed"]').count(), 0, 'no audit event of the case fails its inclusion proof');
  t.ok((await auditor.locator('[data-testid="audit-event"][data-verified="verified"]').count()) > 0, "the case's audit events verify against the signed checkpoint");
  await auditor.getByTestId('replay-open').click();
  await until(auditor, `${VIDEOS}.length === 2 && ${VIDEOS}.every((v) => v.readyState >= 1)`);
  await auditor.getByTestId('replay-play').click();
  await until(auditor, `Number(document.querySelector('[data-testid="replay-time"]').dataset.t) > 0.5`);
  const duration = Number(await auditor.getByTestId('replay').getAttribute('data-duration'));
  const target = Math.round(duration * 0.6 * 10) / 10;
  await auditor.getByTestId('replay-seek').fill(target.toFixed(1));
  await until(auditor, `${VIDEOS}.every((v) => !v.paused && v.currentTime >= ${target} - Number(v.dataset.offset) - 0.2)`);
  const jumped = (await auditor.evaluate(`${VIDEOS}.map((v) => v.currentTime)`)) as number[];
  await until(auditor, `${VIDEOS}.every((v, i) => v.currentTime > ${JSON.stringify(jumped)}[i] + 0.3)`);
  t.pass(`both recorded parties play on from the seek point (${target} s of ${duration.toFixed(1)} s)`);
  await auditorBrowser.screenshot(auditor, 'e2e-auditor-replay');
  await auditor.getByTestId('replay-play').click();
  await auditor.getByTestId('case-comment').fill('双录完整，同意开户。');
  await auditor.getByTestId('case-approve').click();
  await auditor.locator('[data-testid="case-status"][data-status="approved"]').waitFor();
  t.pass('approved by the auditor');

  const events = await a.auditEvents();
  const actions = events.map((e) => e.action);
  for (const action of [
    'invitation.create',
    'consent.given',
    'session.admit',
    'session.join',
    'chat.send',
    'session.hangup',
    'recording.sealed',
    'case.complete',
    'recording.replay_open',
    'case.approve',
  ]) {
    t.ok(actions.includes(action), `${action} audited`);
  }
  t.ok(
    events.some((e) => e.action === 'recording.replay_open' && e.actor.username === 'auditor1'),
    "the replay is audited with the auditor's identity",
  );
});
