// Retention in the built UI (real Chromium, appliance, dev IdP): the admin's panel (expiries, holds, last run, run
// now) and the auditor's case page line "shredded on … per policy". Needs `npm run build -w web` first.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import pg from 'pg';
import { startTestAppliance, WEB_BUILD } from '../../../appliance/test/helpers/appliance.js';
import { openBrowser, watchPage } from '../../../appliance/test/helpers/ui-browser.js';
import { signInThroughIdp } from '../../../appliance/test/harness/browser.js';
import { caseWithEndedCall, fixtureCallTimes } from '../../../appliance/test/helpers/recording-fixtures.js';
import { RetentionShredder } from '../../../appliance/src/recording/shred-job.js';

const SIGNED_OUT = '401 GET /api/me';

t.before(() => {
  if (!existsSync(join(WEB_BUILD, 'index.html'))) throw new Error(`no UI build in ${WEB_BUILD}: run npm run build -w web`);
});

t.test('retention panel for the admin, shredded and held cases for the auditor', async (t) => {
  const a = await startTestAppliance(t, { listen: true, webRoot: WEB_BUILD, env: { KYC_WORKER_IN_PROCESS: 'false', KYC_RETENTION_RUN_HOURS: '0' } });
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const as = async (user: string) => ({ authorization: `Bearer ${await a.tokenFor(user)}` });
  const completedCase = async (daysAgo: number) => {
    const { caseId } = await caseWithEndedCall(a, a.runtime.ctx.pool, 'teller1', await fixtureCallTimes());
    const done = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/complete`, headers: await as('teller1') });
    if (done.statusCode !== 200) throw new Error(`complete: ${done.body}`);
    await su.query(`UPDATE cases SET completed_at = now() - make_interval(days => $2) WHERE id = $1`, [caseId, daysAgo]);
    return caseId;
  };
  await a.app.inject({ method: 'PUT', url: '/api/admin/retention/policies/VIDEO-WITNESS', headers: await as('admin1'), payload: { retentionDays: 30, anchor: 'case_completed' } });
  const shredded = await completedCase(40);
  const soon = await completedCase(20);
  const held = await completedCase(25);
  const hold = await a.app.inject({ method: 'POST', url: `/api/cases/${held}/holds`, headers: await as('auditor1'), payload: { reason: 'dispute with the customer' } });
  t.equal(hold.statusCode, 201);
  const run = await new RetentionShredder({
    pool: a.runtime.ctx.pool,
    audit: a.runtime.auditLog,
    archiveDir: a.config.recording.archiveDir,
    recordingsDir: a.config.recording.dir,
    exportsDir: join(a.config.dataDir, 'exports'),
  }).run(new Date(), 'test');
  t.equal(run.shredded.pii, 1, 'the expired case shredded');

  const browser = await openBrowser(t, a);
  const adminPage = await browser.newPage();
  const adminProblems = watchPage(adminPage, a.baseUrl, { expected: [SIGNED_OUT] });
  await adminPage.goto(`${a.baseUrl}/admin`);
  await signInThroughIdp(adminPage, a.baseUrl, 'admin1', 'admin1');
  const panel = adminPage.getByTestId('retention-panel');
  await panel.getByTestId('retention-upcoming').waitFor();
  // the UI speaks the browser's language (zh-CN here): compare the figures
  t.same((await panel.getByTestId('retention-upcoming').innerText()).match(/\d+/g), ['30', '1', '90', '1'], 'one case expires within 30 and 90 days (the held one does not count)');
  t.match(await panel.getByTestId('retention-upcoming-row').innerText(), new RegExp(soon));
  t.match(await panel.getByTestId('retention-holds').innerText(), /dispute with the customer/);
  t.match(await panel.getByTestId('retention-last-run').innerText(), /pii 1/);
  await panel.getByTestId('retention-run-reason').fill('regulator inspection: shred what is due today');
  await panel.getByTestId('retention-run').click();
  await panel.getByTestId('retention-queued').waitFor();
  t.equal(Number((await su.query(`SELECT count(*) AS n FROM pgboss.job WHERE name = 'retention.run'`)).rows[0].n), 1, 'run now queued a job');
  await browser.screenshot(adminPage, 'admin-retention');
  t.same(adminProblems, [], 'no CSP violation, script error or unexpected failed request');

  const auditorBrowser = await openBrowser(t, a);
  const auditorPage = await auditorBrowser.newPage();
  const auditorProblems = watchPage(auditorPage, a.baseUrl, { expected: [SIGNED_OUT, '404 GET /api/audit/checkpoint'] });
  await auditorPage.goto(`${a.baseUrl}/archive/cases/${shredded}`);
  await signInThroughIdp(auditorPage, a.baseUrl, 'auditor1', 'auditor1');
  const note = auditorPage.getByTestId('case-retention');
  await note.waitFor();
  t.equal(await note.getAttribute('data-shredded'), 'true');
  t.match(await note.innerText(), /(Shredded on|销毁).*VIDEO-WITNESS.*30/s, 'shredded on … per policy (product, days)');
  await auditorBrowser.screenshot(auditorPage, 'auditor-case-shredded');
  t.equal(await auditorPage.getByTestId('reveal-customerName-value').innerText(), '(shredded)');
  t.equal(await auditorPage.getByTestId('reveal-customerName-show').count(), 0, 'nothing left to reveal');
  await auditorPage.goto(`${a.baseUrl}/archive/cases/${held}`);
  await auditorPage.getByTestId('case-retention-hold').waitFor();
  t.match(await auditorPage.getByTestId('case-retention-hold').innerText(), /dispute with the customer/);
  t.equal(await auditorPage.getByTestId('case-retention').getAttribute('data-shredded'), 'false');
  t.equal(await auditorPage.getByTestId('reveal-customerName-show').count(), 1, 'a held case keeps its personal data');
  t.same(auditorProblems, [], 'no CSP violation, script error or unexpected failed request');
});
