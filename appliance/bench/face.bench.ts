// Face benchmark: the built-in engine exactly as the appliance runs it (KYC_FACE_WORKERS threads, TF.js WASM, models from the
// package). Reports the model load time, the latency of one comparison of two 640×480 camera frames (detection,
// landmarks and descriptor for both, as POST /api/face/compare does) as p50/p95, and the equal error rate on the
// labelled set shipped with the tests (appliance/test/fixtures/faces/labels.json: every pair of photos, same person
// vs different people, by descriptor distance). Last line:
// {"face_compare_p50_ms":…,"face_compare_p95_ms":…,"face_model_load_ms":…,"face_eer":…}
// (targets: p95 ≤ 250 ms, load ≤ 2000 ms on the appliance's 2 cores).
//
//   npx tsx appliance/bench/face.bench.ts [--runs 30] [--workers N (default: the KYC_FACE_WORKERS default)]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import jpeg from 'jpeg-js';
import { createFaceServices } from '../src/face/index.js';
import { euclidean } from '../src/face/geometry.js';
import { CONFIG_KEYS } from '../src/config/schema.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' }, workers: { type: 'string', default: CONFIG_KEYS.KYC_FACE_WORKERS.default } } });
const RUNS = Number(values.runs);
const fixtures = new URL('../test/fixtures/faces/', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, fixtures));

/** A 640×480 camera-like frame: the photo scaled into the frame's height, centred on grey. */
function frame640(photo: Buffer): Buffer {
  const src = jpeg.decode(photo, { formatAsRGBA: true });
  const W = 640;
  const H = 480;
  const out = Buffer.alloc(W * H * 4, 128);
  const scale = H / src.height;
  const w = Math.round(src.width * scale);
  const x0 = Math.floor((W - w) / 2);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(src.height - 1, Math.floor(y / scale));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(src.width - 1, Math.floor(x / scale));
      const s = (sy * src.width + sx) * 4;
      const d = (y * W + x0 + x) * 4;
      out[d] = src.data[s] as number;
      out[d + 1] = src.data[s + 1] as number;
      out[d + 2] = src.data[s + 2] as number;
      out[d + 3] = 255;
    }
  }
  return jpeg.encode({ data: out, width: W, height: H }, 85).data;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
};
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/** EER: the error rate where false accepts (impostor distance < t) equal false rejects (genuine distance ≥ t). */
function equalErrorRate(genuine: number[], impostor: number[]): { eer: number; threshold: number } {
  const candidates = [...new Set([...genuine, ...impostor])].sort((a, b) => a - b);
  let best = { eer: 1, threshold: 0, gap: Infinity };
  for (const t of [...candidates, candidates[candidates.length - 1]! + 1e-6]) {
    const far = impostor.filter((d) => d < t).length / impostor.length;
    const frr = genuine.filter((d) => d >= t).length / genuine.length;
    if (Math.abs(far - frr) < best.gap) best = { eer: (far + frr) / 2, threshold: t, gap: Math.abs(far - frr) };
  }
  return { eer: best.eer, threshold: best.threshold };
}

const face = createFaceServices({
  engine: 'builtin',
  modelDir: null,
  workers: Number(values.workers),
  matchDistance: 0.5,
  reviewDistance: 0.6,
  livenessYaw: 0.12,
  maxImageBytes: 6 * 1024 * 1024,
  tesseractPath: '/usr/bin/tesseract',
  hook: { url: null, secretFile: null, caFile: null, timeoutMs: 1000, retries: 0 },
});
try {
  const { loadMs, version } = await face.ready();
  console.log(`model ${version}: loaded in ${round(loadMs)} ms (${values.workers} worker threads, TF.js WASM)`);

  const labels = JSON.parse(read('labels.json').toString('utf8')) as { photos: { file: string; person: string }[] };
  const a = frame640(read('people/london-005/neutral.jpg'));
  const b = frame640(read('people/london-005/smiling.jpg'));
  await face.engine.compare(a, b); // warm-up
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await face.engine.compare(a, b);
    times.push(performance.now() - t0);
  }
  console.log(`compare 640×480 vs 640×480 (${RUNS} runs): p50 ${round(pct(times, 50))} ms, p95 ${round(pct(times, 95))} ms`);

  const descriptors: { person: string; d: number[] }[] = [];
  for (const p of labels.photos) descriptors.push({ person: p.person, d: (await face.builtin.describe(read(p.file), 'probe')).face.descriptor });
  const genuine: number[] = [];
  const impostor: number[] = [];
  for (let i = 0; i < descriptors.length; i++) {
    for (let j = i + 1; j < descriptors.length; j++) {
      const x = descriptors[i]!;
      const y = descriptors[j]!;
      (x.person === y.person ? genuine : impostor).push(euclidean(x.d, y.d));
    }
  }
  const { eer, threshold } = equalErrorRate(genuine, impostor);
  const at = (t: number) => ({ far: impostor.filter((d) => d < t).length / impostor.length, frr: genuine.filter((d) => d >= t).length / genuine.length });
  console.log(`labelled set: ${labels.photos.length} photos of ${new Set(labels.photos.map((p) => p.person)).size} people, ${genuine.length} genuine and ${impostor.length} impostor pairs`);
  console.log(`genuine distance max ${round(Math.max(...genuine), 3)}, impostor min ${round(Math.min(...impostor), 3)}; EER ${round(eer * 100, 2)} % at distance ${round(threshold, 3)}`);
  for (const t of [0.5, 0.6]) console.log(`at distance ${t}: FAR ${round(at(t).far * 100, 2)} %, FRR ${round(at(t).frr * 100, 2)} %`);
  console.log(
    JSON.stringify({
      face_compare_p50_ms: round(pct(times, 50)),
      face_compare_p95_ms: round(pct(times, 95)),
      face_model_load_ms: round(loadMs),
      face_eer: round(eer, 4),
    }),
  );
} finally {
  await face.close();
}
