// The browser's face model served by the appliance: the index names a content-tagged folder; the files come from the
// installed packages with immutable caching and the right types; unknown names and stale tags are 404; with a model
// folder that lacks the files, the index and /readyz say so and the appliance stays ready.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { startTestAppliance } from '../helpers/appliance.js';

const require = createRequire(import.meta.url);
const faceApiDir = dirname(require.resolve('@vladmandic/face-api/package.json'));

t.test('GET /models/: the face-api bundle, TF.js WASM and the weights, from the packages, immutable', async (t) => {
  const a = await startTestAppliance(t);
  const index = await a.app.inject({ method: 'GET', url: '/models/index.json' });
  t.equal(index.statusCode, 200);
  t.equal(index.headers['cache-control'], 'no-cache', 'the index is revalidated: it names the current tag');
  const body = index.json();
  t.match(body, { available: true, base: /^\/models\/[0-9a-f]{16}\/$/, bundle: 'face-api.esm.js', detector: 'tiny_face_detector', landmarks: 'face_landmark_68' });

  const expectType: Record<string, RegExp> = {
    'face-api.esm.js': /^text\/javascript/,
    'tfjs-backend-wasm-simd.wasm': /^application\/wasm$/,
    'tiny_face_detector_model-weights_manifest.json': /^application\/json/,
    'face_landmark_68_model.bin': /^application\/octet-stream$/,
  };
  for (const [file, type] of Object.entries(expectType)) {
    const res = await a.app.inject({ method: 'GET', url: `${body.base}${file}` });
    t.equal(res.statusCode, 200, `${file} served`);
    t.match(String(res.headers['content-type']), type, `${file}: its content type`);
    t.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable', `${file}: cached as immutable under its tag`);
    t.equal(res.headers['cross-origin-resource-policy'], 'same-origin', `${file}: for this origin only`);
  }
  const weights = await a.app.inject({ method: 'GET', url: `${body.base}tiny_face_detector_model.bin` });
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  t.equal(sha(weights.rawPayload), sha(readFileSync(join(faceApiDir, 'model/tiny_face_detector_model.bin'))), "the weights are the package's own file");

  t.equal((await a.app.inject({ method: 'GET', url: `${body.base}face_recognition_model.bin` })).statusCode, 404, 'only the files the browser needs');
  t.equal((await a.app.inject({ method: 'GET', url: `${body.base}..%2Fpackage.json` })).statusCode, 400, 'no path outside the set');
  const stale = await a.app.inject({ method: 'GET', url: '/models/0000000000000000/face-api.esm.js' });
  t.equal(stale.statusCode, 404, 'a stale tag is not served');
  t.equal(stale.json().error.code, 'KYC_ERR_NOT_FOUND');

  const ready = (await a.app.inject({ method: 'GET', url: '/readyz' })).json();
  t.match(ready.components['face-model-browser'], { status: 'up', required: false });
});

t.test('a model folder without the files: the index says which are missing, /readyz reports it, still ready', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'kyc-no-models-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  const a = await startTestAppliance(t, { env: { KYC_FACE_MODEL_DIR: empty } });
  const index = await a.app.inject({ method: 'GET', url: '/models/index.json' });
  t.equal(index.statusCode, 200);
  t.equal(index.json().available, false);
  t.ok(index.json().missing.includes('tiny_face_detector_model.bin'), 'names the missing files');
  const ready = await a.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200, 'the appliance stays ready: the page falls back to timed capture, the server re-check is unchanged');
  t.match(ready.json().components['face-model-browser'], { status: 'down', required: false, detail: /missing/ });
});
