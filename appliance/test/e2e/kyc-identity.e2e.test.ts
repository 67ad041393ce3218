// Video KYC end to end through the real UI, Janus and appliance in a network namespace: a teller runs the
// account-opening script with a customer whose camera is Chromium's fake camera playing clips made from the face
// fixtures (ffmpeg): the customer confirms the opening prompt; the ID card's sides are captured at the camera's
// resolution in the customer's browser and accepted; the face on a card bearing another person's photo does not
// match, the right card's does; liveness (turn left / right) passes; the gate refuses completion while steps are
// missing and allows it once all is done and sealed; the auditor sees the checklist and the identity evidence.
//
// The camera's picture cannot be timed from outside the browser, so each phase of the story (card front, card back,
// the face) is its own clip in its own Chromium that rejoins the call with the customer's device cookie: a capture
// request can then be answered at any moment. Needs root (ip netns) and `npm run build -w web`.
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Page } from 'playwright-core';
import { startTestAppliance, WEB_BUILD, type TestAppliance } from '../helpers/appliance.js';
import { openBrowser, tellerOpensCaseAndInvites, watchPage } from '../helpers/ui-browser.js';
import { signInThroughIdp, until, type TestBrowser } from '../harness/browser.js';
import { createNetns } from '../harness/netns.js';
import { startTestJanus } from '../harness/janus.js';

const run = promisify(execFile);
const FACES = new URL('../fixtures/faces/', import.meta.url);
const fixturePath = (p: string) => new URL(p, FACES).pathname;
const PERSON_A = JSON.parse(readFileSync(new URL('id-cards/person-a.json', FACES), 'utf8')) as { idNumber: string };

/**
 * Camera clips (y4m, 640×480, looping): a card held flat to the camera, or the customer's face turning left and
 * right (a perspective warp of a frontal photo and its mirror image, half a second each).
 */
async function makeClips(dir: string): Promise<Record<'frontB' | 'frontA' | 'back' | 'face', string>> {
  const ff = (args: string[]) => run('/usr/bin/ffmpeg', ['-loglevel', 'error', '-y', ...args]);
  const still = async (image: string, out: string) => {
    await ff([
      '-loop',
      '1',
      '-framerate',
      '10',
      '-t',
      '1',
      '-i',
      fixturePath(image),
      '-vf',
      'scale=600:-2,pad=640:480:(ow-iw)/2:(oh-ih)/2:color=gray,format=yuv420p',
      '-f',
      'yuv4mpegpipe',
      join(dir, out),
    ]);
    return join(dir, out);
  };
  const warp = 'perspective=x0=0:y0=0:x1=W:y1=H*0.35:x2=0:y2=H:x3=W:y3=H*0.65:sense=destination';
  const fit = 'scale=-2:480,pad=640:480:(ow-iw)/2:0:color=gray';
  await ff(['-i', fixturePath('people/london-005/smiling.jpg'), '-vf', `${warp},${fit}`, join(dir, 'turn-a.png')]);
  await ff(['-i', fixturePath('people/london-005/smiling.jpg'), '-vf', `${warp},hflip,${fit}`, join(dir, 'turn-b.png')]);
  await ff([
    '-framerate',
    '10',
    '-loop',
    '1',
    '-t',
    '0.5',
    '-i',
    join(dir, 'turn-a.png'),
    '-framerate',
    '10',
    '-loop',
    '1',
    '-t',
    '0.5',
    '-i',
    join(dir, 'turn-b.png'),
    '-filter_complex',
    '[0][1]concat=n=2:v=1,fps=10,format=yuv420p',
    '-f',
    'yuv4mpegpipe',
    join(dir, 'face.y4m'),
  ]);
  return {
    frontB: await still('id-cards/person-a-data-person-b-photo-front.jpg', 'front-b.y4m'),
    frontA: await still('id-cards/person-a-front.jpg', 'front-a.y4m'),
    back: await still('id-cards/person-a-back.jpg', 'back.y4m'),
    face: join(dir, 'face.y4m'),
  };
}

interface Customer {
  browser: TestBrowser;
  page: Page;
}

t.test('video KYC through the real UI: script, ID capture, face match, liveness, gate, auditor', { timeout: 600_000 }, async (t) => {
  const ns = await createNetns(t);
  const janus = await startTestJanus(ns);
  t.teardown(() => janus.stop());
  const roomKeyFile = join(ns.dir, 'janus-room-key');
  writeFileSync(roomKeyFile, janus.roomAdminKey, { mode: 0o600 });
  // A copy of the built UI: a rebuild during this long test must not pull its assets from under the pages.
  const webRoot = join(ns.dir, 'web');
  cpSync(WEB_BUILD, webRoot, { recursive: true });
  const a: TestAppliance = await startTestAppliance(t, {
    netns: ns,
    webRoot,
    env: {
      KYC_JANUS_WS_URL: janus.url,
      KYC_JANUS_ROOM_KEY_FILE: roomKeyFile,
      KYC_RECORDING_SETTLE_SECONDS: '1',
      KYC_SEAL_RECONCILE_SECONDS: '2',
      // the clips show head turns only (the fixtures have no closed eyes or open mouths)
      KYC_LIVENESS_CHALLENGES: 'turn-left,turn-right',
    },
  });
  const clips = await makeClips(ns.dir);
  // The model loads on first use; load it now so that the first still is not measured against a cold start.
  const model = await a.runtime.ctx.face.ready();
  t.comment(`face model ${model.version} loaded in ${model.loadMs} ms`);
  const chromium = await ns.wrapper('/usr/bin/chromium');

  const tellerBrowser = await openBrowser(t, a, { executablePath: chromium });
  const teller = await tellerBrowser.newPage();
  const tellerProblems = watchPage(teller, a.baseUrl, { expected: [/^409 POST \/api\/cases\/[^/]+\/complete$/] });
  const customerProblems: string[][] = [];
  const { caseId, link, code } = await tellerOpensCaseAndInvites(teller, a.baseUrl, { product: 'ACCT-OPEN', customerName: '张示例', customerIdNumber: PERSON_A.idNumber });

  /** A customer browser whose camera plays `clip`; with `cookies`, the same customer rejoining from it. */
  const customerWith = async (clip: string, cookies?: Awaited<ReturnType<TestBrowser['context']['cookies']>>): Promise<Customer> => {
    const browser = await openBrowser(t, a, { executablePath: chromium, viewport: { width: 390, height: 844 }, extraArgs: [`--use-file-for-fake-video-capture=${clip}`] });
    await browser.context.grantPermissions(['geolocation'], { origin: a.baseUrl });
    await browser.context.setGeolocation({ latitude: 39.9042, longitude: 116.4074, accuracy: 30 });
    if (cookies) await browser.context.addCookies(cookies);
    const page = await browser.newPage();
    customerProblems.push(watchPage(page, a.baseUrl));
    await page.goto(link);
    return { browser, page };
  };
  /** The customer moves to another clip: a new browser rejoins with the device cookie; the old one closes. */
  const switchClip = async (from: Customer, clip: string): Promise<Customer> => {
    const next = await customerWith(clip, await from.browser.context.cookies());
    await next.page.getByTestId('call-view').waitFor({ timeout: 30_000 });
    await from.browser.close();
    await until(teller, `document.querySelector('[data-testid="call-status"]')?.dataset.peer === 'media-up'`, 30_000);
    return next;
  };

  // set by the first join; the catch below reports what the pages showed
  let customer = undefined as unknown as Customer;
  try {
    customer = await customerWith(clips.frontB);
    await customer.page.getByTestId('join-code-input').fill(code);
    await customer.page.getByTestId('join-code-submit').click();
    await customer.page.getByTestId('device-check-ok').click({ timeout: 30_000 });
    await customer.page.getByTestId('consent-accept').click();
    await customer.page.getByTestId('waiting-room').waitFor();
    await teller.getByTestId('admit-button').click({ timeout: 30_000 });
    await teller.getByTestId('remote-video').waitFor({ timeout: 30_000 });
    await customer.page.getByTestId('call-view').waitFor({ timeout: 30_000 });
    await until(teller, `document.querySelector('[data-testid="call-status"]')?.dataset.peer === 'media-up'`, 30_000);
    if (await customer.page.getByTestId('location-share').isVisible()) await customer.page.getByTestId('location-share').click();

    const teller1 = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
    const early = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/complete`, headers: teller1 });
    t.equal(early.statusCode, 409, 'the gate refuses completion while the script is not done');
    t.equal(early.json().error.code, 'KYC_ERR_STEPS_MISSING');
    t.ok(
      early.json().error.details.some((d: { field: string }) => d.field === 'face-match'),
      'the refusal lists the missing steps',
    );

    const step = (id: string) => teller.locator(`[data-testid="script-step"][data-step-id="${id}"]`);
    const stepDone = (id: string) => until(teller, `document.querySelector('[data-testid="script-step"][data-step-id="${id}"]')?.dataset.status === 'done'`, 30_000);

    // The opening prompt: the teller reads it, the customer confirms on their screen.
    await step('opening').getByTestId('script-step-done').click();
    await customer.page.getByTestId('customer-confirm').click({ timeout: 15_000 });
    await stepDone('opening');
    t.pass("the opening prompt is done with the customer's confirmation");

    const side = (s: string) => teller.locator(`[data-testid="id-side"][data-side="${s}"]`);
    /** Waits for the customer's browser to have sent what was asked (or says why not). */
    const customerSent = async () => {
      const phase = `document.querySelector('[data-testid="customer-capture"]')?.dataset.phase`;
      try {
        await until(customer.page, `['sent', 'failed'].includes(${phase})`, 60_000);
      } finally {
        const shown = await customer.page
          .locator('[data-testid="customer-capture"]')
          .innerText()
          .catch(() => '(no capture prompt)');
        const tellerErrors = await teller.locator('.notice-error, [role="alert"]').allInnerTexts();
        if ((await customer.page.evaluate(phase)) !== 'sent') {
          t.comment(`customer: ${shown} | teller: ${tellerErrors.join(' / ')} | problems: ${[...tellerProblems, ...customerProblems.flat()].join(' / ')}`);
          const detail = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/identity`, headers: teller1 })).json();
          t.comment(`server: pending ${JSON.stringify(detail.pending)} front ${JSON.stringify(detail.sides?.['id-front']?.latest ?? null)}`);
          const pendingReq = detail.pending?.requestId as string | undefined;
          const cookie = (await customer.browser.context.cookies()).find((c) => c.name === '__Host-kyc_device');
          const sessionIdNow = ((await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/sessions`, headers: teller1 })).json().items[0]?.id ?? '') as string;
          const token = link.split('/').pop() ?? '';
          if (pendingReq && cookie) {
            const boundary = '----diag';
            const img = readFileSync(new URL('id-cards/person-a-front.jpg', FACES));
            const payload = Buffer.concat([
              Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="frame"; filename="f.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
              img,
              Buffer.from(`\r\n--${boundary}--\r\n`),
            ]);
            const started = Date.now();
            const res = await a.app.inject({
              method: 'POST',
              url: `/api/sessions/${sessionIdNow}/identity/captures/${pendingReq}?invitation=${token}`,
              cookies: { '__Host-kyc_device': cookie.value },
              headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
              payload,
            });
            t.comment(`the same upload by inject: ${res.statusCode} ${res.body.slice(0, 200)} in ${Date.now() - started} ms`);
          }
        }
      }
      t.equal(await customer.page.evaluate(phase), 'sent', "the customer's browser sent the still");
    };
    const captureSide = async (s: 'id-front' | 'id-back') => {
      await teller.getByTestId(s === 'id-front' ? 'id-capture-front' : 'id-capture-back').click();
      await customerSent();
      await side(s).getByTestId('id-accept').click({ timeout: 30_000 });
      await teller.locator(`[data-testid="id-side"][data-side="${s}"][data-state="accepted"]`).waitFor({ timeout: 15_000 });
    };

    // A card with the customer's data but another person's photo.
    await captureSide('id-front');
    const still = side('id-front').getByTestId('id-still');
    t.ok((await still.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)) >= 640, 'the still is the camera picture at its full size, not the decoded remote video');
    t.equal(await teller.getByTestId('id-ocr').getAttribute('data-matches'), 'true', 'the number on the card is read and matches the case');

    // The script's order: both sides before the face match.
    customer = await switchClip(customer, clips.back);
    await captureSide('id-back');
    await stepDone('id-capture');
    t.pass('both ID sides captured and accepted');

    customer = await switchClip(customer, clips.face);
    await teller.getByTestId('face-match-run').click();
    await teller.locator('[data-testid="face-match-result"]').waitFor({ timeout: 120_000 });
    t.equal(await teller.getByTestId('face-match-result').getAttribute('data-decision'), 'no_match', "another person's photo on the card does not match the customer");

    // The teller asks for the right card's front and compares again.
    customer = await switchClip(customer, clips.frontA);
    await captureSide('id-front');
    customer = await switchClip(customer, clips.face);
    await teller.getByTestId('face-match-run').click();
    await until(teller, `document.querySelector('[data-testid="face-match-result"]')?.dataset.decision === 'match'`, 120_000);
    await stepDone('face-match');
    t.pass("the customer's face matches the photo on their card");

    await teller.getByTestId('liveness-start').click();
    await until(teller, `['passed', 'failed'].includes(document.querySelector('[data-testid="liveness-result"]')?.dataset.status)`, 240_000);
    t.equal(await teller.getByTestId('liveness-result').getAttribute('data-status'), 'passed', 'liveness: the customer turned left and right as asked');
    t.equal(
      await customer.page.getByTestId('customer-capture').getAttribute('data-guide'),
      'movement-seen',
      "the last challenge's key frames were taken when the browser's face model saw the turn (not on the fallback timer)",
    );
    await stepDone('liveness');
    await tellerBrowser.screenshot(teller, 'e2e-kyc-teller-identity');
    await customer.browser.screenshot(customer.page, 'e2e-kyc-customer');

    // The rest of the script: questions, the serial read aloud, the customer's confirmation of the terms.
    await step('security-questions').getByTestId('script-step-done').click();
    await stepDone('security-questions');
    await step('read-serial').getByTestId('script-step-done').click();
    await stepDone('read-serial');
    await step('account-terms').getByTestId('script-step-done').click();
    await customer.page.getByTestId('customer-confirm').click({ timeout: 15_000 });
    await stepDone('account-terms');

    await teller.getByTestId('hangup-button').click();
    await teller.getByTestId('session-ended').waitFor({ timeout: 15_000 });
    // Read as the signed-in teller's page (the bearer token from the start of this long test has expired by now).
    const api = async <T>(path: string): Promise<T> => (await teller.evaluate(`fetch(${JSON.stringify(path)}, { headers: { accept: 'application/json' } }).then((r) => r.json())`)) as T;
    const sessions = await api<{ items?: Array<{ id: string }> } | Array<{ id: string }>>(`/api/cases/${caseId}/sessions`);
    const sessionId = ((Array.isArray(sessions) ? sessions : (sessions.items ?? []))[0]?.id ?? '') as string;
    let status = '';
    for (let i = 0; i < 240 && status !== 'sealed' && status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 500));
      status = (await api<{ status: string }>(`/api/sessions/${sessionId}/recording`)).status;
    }
    t.equal(status, 'sealed', 'the recording is sealed');
    await teller.getByTestId('case-complete').click({ timeout: 15_000 });
    await teller.locator('[data-testid="case-status"][data-status="completed"]').waitFor({ timeout: 15_000 });
    t.pass('completion is allowed once every step is done and the recording sealed');

    const kyc = await api<Record<string, unknown>>(`/api/cases/${caseId}/kyc`);
    t.match(kyc, {
      idDocument: { front: { fileId: String, sha256: /^[0-9a-f]{64}$/ }, back: { fileId: String } },
      faceMatch: { decision: 'match' },
      liveness: { passed: true },
      ocr: { idNumberMatches: true },
    });

    const auditorBrowser = await openBrowser(t, a, { executablePath: chromium });
    const auditor = await auditorBrowser.newPage();
    await auditor.goto(`${a.baseUrl}/archive`);
    await signInThroughIdp(auditor, a.baseUrl, 'auditor1', 'auditor1');
    await auditor.goto(`${a.baseUrl}/archive/cases/${caseId}`);
    await auditor.getByTestId('archive-case').waitFor();
    await auditor.getByTestId('kyc-checklist').waitFor({ timeout: 15_000 });
    const evidence = auditor.getByTestId('identity-evidence');
    await evidence.getByTestId('face-match-result').waitFor({ timeout: 15_000 });
    t.equal(await evidence.getByTestId('face-match-result').getAttribute('data-decision'), 'match', "the auditor sees the face match beside the card's photo");
    t.equal(await evidence.locator('img').count(), 4, 'both ID sides, the ID photo and the best live frame');
    t.equal(await evidence.getByTestId('liveness-result').getAttribute('data-status'), 'passed');
    await auditorBrowser.screenshot(auditor, 'e2e-kyc-auditor');

    const actions = (await a.auditEvents()).map((e) => e.action);
    for (const action of [
      'kyc.capture.requested',
      'kyc.capture.received',
      'kyc.id.accepted',
      'kyc.ocr.checked',
      'kyc.face.compared',
      'kyc.liveness.started',
      'kyc.liveness.challenge',
      'kyc.liveness.finished',
      'kyc.step.completed',
      'kyc.still.viewed',
    ]) {
      t.ok(actions.includes(action), `${action} audited`);
    }
  } catch (err) {
    // What the pages showed when it went wrong.
    await tellerBrowser.screenshot(teller, 'e2e-kyc-failed-teller').catch(() => undefined);
    if (customer) await customer.browser.screenshot(customer.page, 'e2e-kyc-failed-customer').catch(() => undefined);
    t.comment(`problems: ${[...tellerProblems, ...customerProblems.flat()].join(' / ')}`);
    t.comment(
      `customer page: ${
        customer
          ? (
              await customer.page
                .locator('main')
                .innerText()
                .catch(() => '?')
            ).slice(0, 600)
          : '-'
      }`,
    );
    throw err;
  }
});
