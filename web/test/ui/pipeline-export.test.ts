// The admin's seal-pipeline status and the auditor's export button in the built UI (real Chromium, appliance,
// dev IdP, ffmpeg). Needs `npm run build -w web` first.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import pg from 'pg';
import { startTestAppliance, WEB_BUILD } from '../../../appliance/test/helpers/appliance.js';
import { openBrowser, watchPage } from '../../../appliance/test/helpers/ui-browser.js';
import { signInThroughIdp } from '../../../appliance/test/harness/browser.js';
import { caseWithEndedCall, fixtureCallTimes, insertSession, sealFixtureRecording } from '../../../appliance/test/helpers/recording-fixtures.js';
import { recordingRepository } from '../../../appliance/src/repositories/recording.repository.js';

const run = promisify(execFile);
const SIGNED_OUT = '401 GET /api/me';

t.before(() => {
  if (!existsSync(join(WEB_BUILD, 'index.html'))) throw new Error(`no UI build in ${WEB_BUILD}: run npm run build -w web`);
});

t.test('admin: failed recordings first with the reason and the retry, then the one in progress with its step', async (t) => {
  const a = await startTestAppliance(t, { listen: true, webRoot: WEB_BUILD, env: { KYC_WORKER_IN_PROCESS: 'false' } });
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 2 });
  t.teardown(() => pool.end());
  const newRecording = async () => {
    const s = await insertSession(pool, { admittedAt: new Date(Date.now() - 60_000), endedAt: new Date() });
    const rec = await recordingRepository.createForSession(pool, { id: randomUUID(), sessionId: s.sessionId, caseId: s.caseId });
    if (!rec) throw new Error('recording not created');
    await recordingRepository.startAttempt(pool, rec.id);
    return rec.id;
  };
  const failed = await newRecording();
  await recordingRepository.markFailed(pool, failed, 'ffmpeg exited with code 1: Invalid data found when processing input', false);
  const processing = await newRecording();
  await recordingRepository.setStep(pool, processing, 'convert', 0.5);

  const browser = await openBrowser(t, a);
  const page = await browser.newPage();
  const problems = watchPage(page, a.baseUrl, { expected: [SIGNED_OUT] });
  await page.goto(`${a.baseUrl}/admin`);
  await signInThroughIdp(page, a.baseUrl, 'admin1', 'admin1');
  await page.getByTestId('readyz-table').waitFor();
  await page.getByTestId('recording-status-row').first().waitFor();
  const rows = page.getByTestId('recording-status-row');
  t.same([await rows.nth(0).getAttribute('data-status'), await rows.nth(1).getAttribute('data-status')], ['failed', 'processing'], 'the failed one first although it is older');
  t.equal(await rows.count(), 2);
  t.equal(await rows.nth(0).getAttribute('data-recording-id'), failed);
  t.equal(await rows.nth(0).getByTestId('recording-failure-reason').innerText(), 'ffmpeg exited with code 1: Invalid data found when processing input');
  t.equal(await rows.nth(0).getByTestId('recording-will-retry').getAttribute('data-will-retry'), 'false');
  t.match(await rows.nth(1).innerText(), /convert/);
  t.equal(Number(await rows.nth(1).getByTestId('recording-progress').getAttribute('value')), 0.5);
  await browser.screenshot(page, 'admin-recordings-status');
  t.same(problems, [], 'no CSP violation, script error or unexpected failed request');
});

t.test('auditor: export with a reason, progress, then the MP4 and its signature, which openssl verifies', async (t) => {
  const a = await startTestAppliance(t, { listen: true, webRoot: WEB_BUILD, env: { KYC_WORKER_IN_PROCESS: 'false' } });
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 4 });
  t.teardown(() => pool.end());
  const { caseId, sessionId } = await caseWithEndedCall(a, pool, 'teller1', await fixtureCallTimes());
  const sealed = await sealFixtureRecording(a, pool, { caseId, sessionId });
  t.equal(sealed.status, 'sealed');

  const browser = await openBrowser(t, a);
  const page = await browser.newPage();
  // No audit checkpoint is signed yet in this short run: the proofs panel says so after a 404.
  const problems = watchPage(page, a.baseUrl, { expected: [SIGNED_OUT, '404 GET /api/audit/checkpoint'] });
  await page.goto(`${a.baseUrl}/archive/cases/${caseId}`);
  await signInThroughIdp(page, a.baseUrl, 'auditor1', 'auditor1');
  await page.getByTestId('export-request').click();
  await page.getByTestId('export-reason').fill('regulator request 2026-17');
  await page.getByTestId('export-confirm').click();
  // The job takes seconds (ffmpeg): the progress bar shows while it runs.
  await page.getByTestId('export-progress').waitFor();
  await page.getByTestId('export-file').waitFor({ timeout: 120_000 });
  t.equal(await page.getByTestId('export-panel').getAttribute('data-status'), 'done');
  t.equal(await page.getByTestId('export-progress').count(), 0);
  t.match(await page.getByTestId('export-panel').innerText(), /openssl cms -verify -purpose any -binary -inform DER -in export\.p7s -content export\.mp4 -CAfile ca\.crt/);

  // The links work with the auditor's browser session.
  const out = await mkdtemp(join(tmpdir(), 'kyc-export-ui-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  for (const [testid, name] of [
    ['export-file', 'export.mp4'],
    ['export-signature', 'export.p7s'],
  ] as const) {
    const link = page.getByTestId(testid);
    t.equal(await link.getAttribute('download'), name);
    const res = await page.request.get(new URL((await link.getAttribute('href'))!, a.baseUrl).href, { ignoreHTTPSErrors: true });
    t.equal(res.status(), 200, `${name} downloads`);
    await writeFile(join(out, name), await res.body());
  }
  const ca = join(a.config.dataDir, 'pki', 'ca.crt');
  await t.resolves(
    run('openssl', [
      'cms',
      '-verify',
      '-purpose',
      'any',
      '-binary',
      '-inform',
      'DER',
      '-in',
      join(out, 'export.p7s'),
      '-content',
      join(out, 'export.mp4'),
      '-CAfile',
      ca,
      '-out',
      '/dev/null',
    ]),
    'openssl verifies the downloaded pair against the appliance CA',
  );

  const events = await a.auditEvents();
  t.ok(
    events.some((e) => e.action === 'recording.export_requested' && e.actor.username === 'auditor1'),
    'the request is audited',
  );
  t.equal(events.filter((e) => e.action === 'recording.export_download').length, 2, 'both downloads are audited');
  t.same(problems, [], 'no CSP violation, script error or unexpected failed request');
});
