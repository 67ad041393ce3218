// The face model on a worker thread (never on the HTTP event loop): @vladmandic/face-api on the TF.js WASM backend,
// weights read from the package's own model/ folder (or KYC_FACE_MODEL_DIR). One request at a time per worker.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { decodeStill } from './image.js';
import { FaceImageError } from './types.js';
import type { WorkerFace, WorkerRequest, WorkerResponse } from './worker-protocol.js';

const require = createRequire(import.meta.url);
// face-api's node-wasm bundle: CommonJS, expects @tensorflow/tfjs and the wasm backend beside it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as typeof import('@vladmandic/face-api');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tfjs = require('@tensorflow/tfjs') as { setBackend(name: string): Promise<boolean>; ready(): Promise<void> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(prefix: string): void };

/** Larger stills are scaled down to this side before detection (speed; faces stay well above the detector's minimum). */
const DETECT_MAX_SIDE = 640;

const { modelDir } = workerData as { modelDir: string | null };

async function load(): Promise<number> {
  const t0 = performance.now();
  wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
  await tfjs.setBackend('wasm');
  await tfjs.ready();
  const dir = modelDir ?? join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(dir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(dir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(dir);
  return performance.now() - t0;
}

async function analyze(image: Uint8Array, which: 'reference' | 'probe' | 'frame'): Promise<{ width: number; height: number; faces: WorkerFace[] }> {
  const img = decodeStill(Buffer.from(image.buffer, image.byteOffset, image.byteLength), which);
  const tf = faceapi.tf;
  const scale = Math.min(1, DETECT_MAX_SIDE / Math.max(img.width, img.height));
  const input = tf.tidy(() => {
    const t = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    if (scale === 1) return t;
    const h = Math.round(img.height * scale);
    const w = Math.round(img.width * scale);
    return tf.cast(tf.image.resizeBilinear(t, [h, w]), 'int32');
  });
  try {
    const found = await faceapi
      .detectAllFaces(input as never, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5, maxResults: 10 }))
      .withFaceLandmarks()
      .withFaceDescriptors();
    const faces = found.map((f) => ({
      score: f.detection.score,
      box: {
        x: f.detection.box.x / scale,
        y: f.detection.box.y / scale,
        width: f.detection.box.width / scale,
        height: f.detection.box.height / scale,
      },
      landmarks: f.landmarks.positions.flatMap((p) => [p.x / scale, p.y / scale]),
      descriptor: Array.from(f.descriptor),
    }));
    return { width: img.width, height: img.height, faces };
  } finally {
    input.dispose();
  }
}

const ready = load();
ready.then(
  (loadMs) => parentPort?.postMessage({ kind: 'ready', loadMs, version: faceapi.version } satisfies WorkerResponse),
  (err: unknown) => parentPort?.postMessage({ kind: 'failed', message: String((err as Error)?.message ?? err) } satisfies WorkerResponse),
);

parentPort?.on('message', (req: WorkerRequest) => {
  void (async () => {
    try {
      await ready;
      const result = await analyze(req.image, req.which);
      parentPort?.postMessage({ kind: 'result', id: req.id, ...result } satisfies WorkerResponse);
    } catch (err) {
      if (err instanceof FaceImageError) parentPort?.postMessage({ kind: 'error', id: req.id, code: err.code, message: err.message } satisfies WorkerResponse);
      else parentPort?.postMessage({ kind: 'error', id: req.id, code: null, message: String((err as Error)?.message ?? err) } satisfies WorkerResponse);
    }
  })();
});
