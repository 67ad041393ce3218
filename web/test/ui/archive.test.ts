// The auditor's archive in the built UI (real Chromium, appliance, dev IdP): search, timeline with the audit
// events' proofs verified in the browser, synchronized replay of a really sealed recording with seeking, and
// maker-checker. Needs `npm run build -w web` first.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { startTestAppliance, WEB_BUILD } from '../../../appliance/test/helpers/appliance.js';
import { openBrowser, watchPage } from '../../../appliance/test/helpers/ui-browser.js';
import { signInThroughIdp, until } from '../../../appliance/test/harness/browser.js';
import { caseWithEndedCall, fixtureCallTimes, sealFixtureRecording } from '../../../appliance/test/helpers/recording-fixtures.js';

const ID_NUMBER = '11010519491231002X';
const SIGNED_OUT = '401 GET /api/me';
// Kept for looking at after the run.
const SHOTS = join(tmpdir(), 'kyc-screenshots');

t.before(() => {
  if (!existsSync(join(WEB_BUILD, 'index.html'))) throw new Error(`no UI build in ${WEB_BUILD}: run npm run build -w web`);
});

/** A case created through the API (real PII encryption and blind indexes) with one ended call. */
interface VideoTime {
  party: string;
  currentTime: number;
  offset: number;
  paused: boolean;
}

const VIDEOS = `[...document.querySelectorAll('[data-testid^="replay-video-"]')]`;
const videoTimes = (page: Page): Promise<VideoTime[]> =>
  page.evaluate(`${VIDEOS}.map((v) => ({ party: v.dataset.testid.replace('replay-video-', ''), currentTime: v.currentTime, offset: Number(v.dataset.offset), paused: v.paused }))`);

t.test('auditor: search, verified timeline, synchronized replay with seeking, approve; the teller sees the outcome', async (t) => {
  const a = await startTestAppliance(t, {
    listen: true,
    webRoot: WEB_BUILD,
    env: { KYC_WORKER_IN_PROCESS: 'false', KYC_AUDIT_CHECKPOINT_EVERY_EVENTS: '1', KYC_AUDIT_CHECKPOINT_EVERY_SECONDS: '1' },
  });
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 4 });
  t.teardown(() => pool.end());
  const { caseId, sessionId } = await caseWithEndedCall(a, pool, 'teller1', await fixtureCallTimes());
  const { status } = await sealFixtureRecording(a, pool, { caseId, sessionId });
  t.equal(status, 'sealed');

  // The teller completes the case on their case page.
  const tellerBrowser = await openBrowser(t, a, { screenshotDir: SHOTS });
  const tellerPage = await tellerBrowser.newPage();
  const tellerProblems = watchPage(tellerPage, a.baseUrl, { expected: [SIGNED_OUT] });
  await tellerPage.goto(`${a.baseUrl}/cases/${caseId}`);
  await signInThroughIdp(tellerPage, a.baseUrl, 'teller1', 'teller1');
  await tellerPage.getByTestId('case-detail').waitFor();
  await tellerBrowser.screenshot(tellerPage, 'teller-case-before-complete');
  await tellerPage.getByTestId('case-complete').click();
  await tellerPage.locator('[data-testid="case-status"][data-status="completed"]').waitFor();
  await tellerPage.getByTestId('case-awaiting-review').waitFor();

  const browser = await openBrowser(t, a, { screenshotDir: SHOTS });
  const page = await browser.newPage();
  const problems = watchPage(page, a.baseUrl, { expected: [SIGNED_OUT] });
  await page.goto(`${a.baseUrl}/archive`);
  await signInThroughIdp(page, a.baseUrl, 'auditor1', 'auditor1');
  await page.getByTestId('archive-search-input').fill(ID_NUMBER);
  await page.getByTestId('archive-search-submit').click();
  await page.getByTestId('archive-total').waitFor();
  t.equal(await page.getByTestId('archive-total').getAttribute('data-total'), '1', 'the ID number finds exactly the case');
  t.equal(await page.getByTestId('archive-result-row').getAttribute('data-case-id'), caseId);
  t.notMatch(await page.getByTestId('archive-result-row').innerText(), ID_NUMBER, 'the ID number is shown masked');
  await browser.screenshot(page, 'archive-search');

  await page.getByTestId('archive-result-row').click();
  await page.getByTestId('archive-case').waitFor();
  await page.getByTestId('audit-key-pin').waitFor();
  t.equal(await page.getByTestId('audit-key-pin').getAttribute('data-pin'), 'first-use', 'the browser pins the verifier key at first use');
  // Back to the search: the same search is there again, asked afresh; then on to the case again.
  await page.goBack();
  await page.locator(`[data-testid="archive-result-row"][data-case-id="${caseId}"]`).waitFor();
  t.equal(await page.getByTestId('archive-search-input').inputValue(), ID_NUMBER, 'the search text is restored');
  t.notOk(
    await page
      .evaluate(`JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }) + location.href + JSON.stringify(history.state)`)
      .then((v) => String(v).includes(ID_NUMBER)),
    'the ID number is in no URL, history state or browser storage',
  );
  await page.goForward();
  await page.getByTestId('archive-case').waitFor();
  t.ok((await page.getByTestId('timeline-event').count()) >= 3, 'invitation, call start and end at least');
  t.ok((await page.locator('[data-testid="timeline-event"][data-kind="session_start"]').count()) === 1);
  // The proofs are checked in the browser; wait until none is still being checked.
  await until(
    page,
    `(() => { const rows = [...document.querySelectorAll('[data-testid="audit-event"]')]; return rows.length > 0 && rows.every((r) => r.dataset.verified !== 'checking'); })()`,
  );
  const verdicts: Array<[string, string]> = await page.evaluate(`[...document.querySelectorAll('[data-testid="audit-event"]')].map((r) => [r.dataset.action, r.dataset.verified])`);
  t.same(
    verdicts.filter(([, v]) => v === 'failed'),
    [],
    'no audit event fails its proof',
  );
  t.ok(
    verdicts.find(([action, v]) => action === 'case.create' && v === 'verified'),
    'the case creation is verified against the signed checkpoint',
  );
  t.ok(
    verdicts.find(([action, v]) => action === 'case.complete' && v === 'verified'),
    'the completion is verified',
  );
  t.equal(await page.getByTestId('audit-key-pin').getAttribute('data-pin'), 'match', 'the next visit finds the pinned key');

  // The appliance presenting another key than the pinned one (a rewritten log re-signed with a new key) fails
  // every event until the auditor deliberately trusts the new key.
  const pinned = JSON.parse((await page.evaluate(`localStorage.getItem('kyc.audit.verifierKey')`)) as string) as { key: string };
  const otherKey = `kyc-appliance.local/audit+00000000+${Buffer.concat([Buffer.from([1]), Buffer.alloc(32, 7)]).toString('base64')}`;
  await page.evaluate(`localStorage.setItem('kyc.audit.verifierKey', ${JSON.stringify(JSON.stringify({ key: otherKey, since: '2026-01-01T00:00:00.000Z' }))})`);
  await page.reload();
  await page.getByTestId('audit-key-changed').waitFor();
  const failedAll: string[] = await page.evaluate(`[...document.querySelectorAll('[data-testid="audit-event"]')].map((r) => r.dataset.verified)`);
  t.ok(failedAll.length > 0 && failedAll.every((v) => v === 'failed'), 'with another key pinned, no event shows as verified');
  await page.getByTestId('audit-key-trust-new').click();
  await until(
    page,
    `(() => { const rows = [...document.querySelectorAll('[data-testid="audit-event"]')]; return rows.length > 0 && rows.every((r) => r.dataset.verified === 'verified' || r.dataset.verified === 'pending'); })()`,
  );
  t.ok(await page.locator('[data-testid="audit-event"][data-action="case.create"][data-verified="verified"]').count(), 'after trusting the key, events verify again');
  t.equal(JSON.parse((await page.evaluate(`localStorage.getItem('kyc.audit.verifierKey')`)) as string).key, pinned.key, 'trusting the served key pins it again');

  await page.getByTestId('replay-open').click();
  await page.getByTestId('replay-video-teller').waitFor();
  await page.getByTestId('replay-video-customer').waitFor();
  await until(page, `${VIDEOS}.length === 2 && ${VIDEOS}.every((v) => v.readyState >= 1)`);
  await page.getByTestId('replay-play').click();
  await until(page, `Number(document.querySelector('[data-testid="replay-time"]').dataset.t) > 0.5`);

  // Seek to a point where both parties have media, later than now, and check both videos jump there and go on.
  const duration = Number(await page.getByTestId('replay').getAttribute('data-duration'));
  const before = await videoTimes(page);
  const latestOffset = Math.max(...before.map((v) => v.offset));
  const target = Math.min(duration - 1, Math.max(latestOffset + 1, duration * 0.6));
  t.ok(target > 1 && target < duration, `seek target ${target.toFixed(2)} s of ${duration.toFixed(2)} s`);
  await page.getByTestId('replay-seek').fill(target.toFixed(1));
  const seekTo = Number(target.toFixed(1));
  await until(page, `${VIDEOS}.every((v) => !v.paused && v.currentTime > 0 && v.currentTime >= ${seekTo} - Number(v.dataset.offset) - 0.2)`);
  const jumped = await videoTimes(page);
  for (const v of jumped) t.ok(v.currentTime >= seekTo - v.offset - 0.2, `${v.party} jumped to ${v.currentTime.toFixed(2)} s (file time)`);
  // Playback continues from there: both files advance beyond where the seek left them.
  const marks = JSON.stringify(Object.fromEntries(jumped.map((v) => [v.party, v.currentTime])));
  await until(page, `${VIDEOS}.every((v) => v.currentTime > ${marks}[v.dataset.testid.replace('replay-video-', '')] + 0.3)`);
  const after = await videoTimes(page);
  for (const [i, v] of after.entries()) t.ok(v.currentTime > jumped[i]!.currentTime, `${v.party} keeps playing after the seek`);
  const drift = Math.abs(after[0]!.currentTime + after[0]!.offset - (after[1]!.currentTime + after[1]!.offset));
  t.ok(drift < 0.5, `the two parties stay on one clock (difference ${drift.toFixed(3)} s)`);
  await browser.screenshot(page, 'archive-replay');
  await page.getByTestId('replay-play').click();

  await page.getByTestId('case-comment').fill('身份核验与双录内容完整，同意。');
  await page.getByTestId('case-approve').click();
  await page.locator('[data-testid="case-status"][data-status="approved"]').waitFor();
  t.equal(await page.getByTestId('review-comment').innerText(), '身份核验与双录内容完整，同意。');
  await browser.screenshot(page, 'archive-timeline');

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${a.baseUrl}/archive`);
  await page.getByTestId('archive-search-input').fill(ID_NUMBER);
  await page.getByTestId('archive-search-submit').click();
  await page.getByTestId('archive-result-row').waitFor();
  await browser.screenshot(page, 'archive-search-phone');
  await page.getByTestId('archive-result-row').click();
  await page.getByTestId('replay-open').click();
  await page.getByTestId('replay-video-customer').waitFor();
  await browser.screenshot(page, 'archive-case-phone');

  await tellerPage.reload();
  await tellerPage.getByTestId('case-review-outcome').waitFor();
  t.equal(await tellerPage.getByTestId('case-review-outcome').getAttribute('data-decision'), 'approved');
  t.equal(await tellerPage.getByTestId('case-review-comment').innerText(), '身份核验与双录内容完整，同意。', 'the teller sees the comment');

  const events = await a.auditEvents();
  t.ok(
    events.some((e) => e.action === 'recording.replay_open' && e.actor.username === 'auditor1'),
    'the replay opening is audited',
  );
  t.ok(
    events.some((e) => e.action === 'case.approve' && e.actor.username === 'auditor1'),
    'the approval is audited',
  );
  t.same(problems, [], 'no CSP violations, script errors or failed requests (auditor)');
  t.same(tellerProblems, [], 'no CSP violations, script errors or failed requests (teller)');
});

t.test('a user with both roles cannot review a case they were the teller of: the page says so', async (t) => {
  const a = await startTestAppliance(t, { listen: true, webRoot: WEB_BUILD });
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 2 });
  t.teardown(() => pool.end());
  const now = Date.now();
  const { caseId } = await caseWithEndedCall(a, pool, 'teller_auditor1', { admittedAt: new Date(now - 60_000), endedAt: new Date(now - 30_000) });
  const res = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/complete`, headers: { authorization: `Bearer ${await a.tokenFor('teller_auditor1')}` } });
  t.equal(res.statusCode, 200, res.body);

  const browser = await openBrowser(t, a, { screenshotDir: SHOTS });
  const page = await browser.newPage();
  const problems = watchPage(page, a.baseUrl, { expected: [SIGNED_OUT, '404 GET /api/audit/checkpoint', `403 POST /api/cases/${caseId}/review`] });
  await page.goto(`${a.baseUrl}/archive/cases/${caseId}`);
  await signInThroughIdp(page, a.baseUrl, 'teller_auditor1', 'teller_auditor1');
  await page.getByTestId('case-comment').fill('looks fine');
  await page.getByTestId('case-approve').click();
  await page.getByTestId('review-self').waitFor();
  t.equal(await page.getByTestId('case-status').getAttribute('data-status'), 'completed', 'still awaiting review');
  t.equal(await page.getByTestId('case-reject').isVisible(), true);
  t.same(problems, []);
});
