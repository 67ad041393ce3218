// The customer's browser runs the face model the appliance serves: in the device check, Chromium's fake camera plays
// a clip of a fixture face (appliance/test/fixtures/faces, see SOURCE.md there) and the live guidance reaches "face
// detected"; a camera showing no face reads "face not found". Every request the page makes stays on the appliance
// (loopback): the bundle, TF.js's WASM and the weights come from /models/. Real Chromium, built UI, no Janus (the
// device check comes before the call). Needs `npm run build -w web`.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { newCaseBody, startTestAppliance, WEB_BUILD, type TestAppliance } from '../../../appliance/test/helpers/appliance.js';
import { openBrowser, watchPage } from '../../../appliance/test/helpers/ui-browser.js';

const run = promisify(execFile);
const FACES = new URL('../../../appliance/test/fixtures/faces/', import.meta.url);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A looping 640×480 camera clip of `source` (an image path, or an ffmpeg lavfi source). */
async function clip(dir: string, name: string, input: string[]): Promise<string> {
  const out = join(dir, `${name}.y4m`);
  await run('/usr/bin/ffmpeg', ['-loglevel', 'error', '-y', ...input, '-t', '1', '-vf', 'scale=-2:480,pad=640:480:(ow-iw)/2:0:color=gray,format=yuv420p', '-f', 'yuv4mpegpipe', out]);
  return out;
}

async function invitation(a: TestAppliance): Promise<{ link: string; code: string }> {
  const headers = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const created = await a.app.inject({ method: 'POST', url: '/api/cases', headers, payload: newCaseBody() });
  const inv = await a.app.inject({ method: 'POST', url: `/api/cases/${created.json().id}/invitations`, headers });
  const { url, code } = inv.json() as { url: string; code: string };
  return { link: url, code };
}

/** Opens the invitation with a camera playing `camera`, enters the code and returns the guidance state reached. */
async function deviceCheckGuidance(t: Test, a: TestAppliance, camera: string, until: string[]): Promise<{ state: string; requests: string[]; problems: string[] }> {
  const browser = await openBrowser(t, a, { viewport: { width: 390, height: 844 }, extraArgs: [`--use-file-for-fake-video-capture=${camera}`] });
  const requests: string[] = [];
  browser.context.on('request', (r) => requests.push(r.url()));
  const page = await browser.newPage();
  const problems = watchPage(page, a.baseUrl);
  const { link, code } = await invitation(a);
  await page.goto(link);
  await page.getByTestId('join-code-input').fill(code);
  await page.getByTestId('join-code-submit').click();
  await page.getByTestId('device-check').waitFor();
  const selector = until.map((s) => `[data-testid=face-guide][data-state=${s}]`).join(', ');
  await page.locator(selector).first().waitFor({ timeout: 60_000 });
  const state = (await page.getByTestId('face-guide').getAttribute('data-state')) ?? '';
  await browser.screenshot(page, `face-guide-${state}`);
  await browser.close();
  return { state, requests, problems };
}

t.before(() => {
  if (!existsSync(join(WEB_BUILD, 'index.html'))) throw new Error(`no UI build in ${WEB_BUILD}: run npm run build -w web`);
});

t.test("the customer's device check: the appliance's face model guides, and nothing is fetched from elsewhere", { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kyc-face-guide-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const a = await startTestAppliance(t, { listen: true, webRoot: WEB_BUILD });
  const base = ((await a.app.inject({ method: 'GET', url: '/models/index.json' })).json() as { base: string }).base;

  const face = await clip(dir, 'face', ['-loop', '1', '-framerate', '10', '-i', new URL('people/london-005/neutral.jpg', FACES).pathname]);
  const seen = await deviceCheckGuidance(t, a, face, ['face-detected', 'unavailable']);
  t.equal(seen.state, 'face-detected', 'the guidance reaches "face detected" for a face in front of the camera');
  const paths = seen.requests.map((u) => new URL(u)).filter((u) => u.protocol !== 'data:' && u.protocol !== 'blob:');
  t.same(
    paths.filter((u) => !LOOPBACK.has(u.hostname)).map((u) => u.href),
    [],
    'no request leaves the appliance (loopback only)',
  );
  for (const file of ['face-api.esm.js', 'tiny_face_detector_model-weights_manifest.json', 'tiny_face_detector_model.bin', 'face_landmark_68_model.bin']) {
    t.ok(
      paths.some((u) => u.pathname === `${base}${file}`),
      `${file} loaded from the appliance's ${base}`,
    );
  }
  t.ok(
    paths.some((u) => u.pathname.startsWith(base) && u.pathname.endsWith('.wasm')),
    "TF.js's WASM binary loaded from the appliance",
  );
  t.same(seen.problems, [], 'no CSP refusal, script error or failed request');

  const nobody = await clip(dir, 'nobody', ['-f', 'lavfi', '-i', 'color=c=0x808890:s=640x480:r=10']);
  const empty = await deviceCheckGuidance(t, a, nobody, ['no-face', 'unavailable']);
  t.equal(empty.state, 'no-face', 'a camera showing no face reads "face not found"');
  t.same(empty.problems, []);
});
