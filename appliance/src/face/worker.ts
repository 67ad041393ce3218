// The face model on a worker thread (never on the HTTP event loop): @vladmandic/face-api on the TF.js WASM backend,
// weights read from the package's own model/ folder (or KYC_FACE_MODEL_DIR). One request at a time per worker.
// Plain CommonJS run with `eval`, so that it runs the same under tsx (tests, benchmarks) and from dist; every
// module path is resolved here and handed over, so the thread does not depend on the working directory.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { eyeDarkness } from './geometry.js';

const require = createRequire(import.meta.url);

export interface WorkerSetup {
  modelDir: string;
  wasmDir: string;
  faceApi: string;
  tfjs: string;
  tfjsWasm: string;
  jpegJs: string;
  pngjs: string;
}

export function workerSetup(modelDir: string | null): WorkerSetup {
  return {
    modelDir: modelDir ?? join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model'),
    wasmDir: join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/',
    faceApi: require.resolve('@vladmandic/face-api/dist/face-api.node-wasm.js'),
    tfjs: require.resolve('@tensorflow/tfjs'),
    tfjsWasm: require.resolve('@tensorflow/tfjs-backend-wasm'),
    jpegJs: require.resolve('jpeg-js'),
    pngjs: require.resolve('pngjs'),
  };
}

/** Larger stills are scaled down to this side before detection (speed; faces stay well above the detector's minimum). */
export const DETECT_MAX_SIDE = 640;

/** Input sizes of the tiny detector, tried in turn until one finds a face (then the SSD detector). */
export const TINY_INPUT_SIZES = [320, 416] as const;

export const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const s = workerData;
const tfjs = require(s.tfjs);
const wasm = require(s.tfjsWasm);
const faceapi = require(s.faceApi);
const jpeg = require(s.jpegJs);
const { PNG } = require(s.pngjs);
const tf = faceapi.tf;

async function load() {
  const t0 = performance.now();
  wasm.setWasmPaths(s.wasmDir);
  await tfjs.setBackend('wasm');
  await tfjs.ready();
  await faceapi.nets.tinyFaceDetector.loadFromDisk(s.modelDir);
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(s.modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(s.modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(s.modelDir);
  return performance.now() - t0;
}

// geometry.ts's own function, its source inlined (a transpiler may wrap inner functions in __name(): kept as is)
var __name = (f) => f;
const eyeDarkness = ${eyeDarkness.toString()};

class Refused extends Error { constructor(code, message) { super(message); this.code = code; } }

function decode(buf, which) {
  try {
    if (buf[0] === 0xff && buf[1] === 0xd8) {
      const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 256, tolerantDecoding: false });
      return { width: img.width, height: img.height, data: img.data };
    }
    const png = PNG.sync.read(buf);
    const rgb = new Uint8Array(png.width * png.height * 3);
    for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) { rgb[j] = png.data[i]; rgb[j + 1] = png.data[i + 1]; rgb[j + 2] = png.data[i + 2]; }
    return { width: png.width, height: png.height, data: rgb };
  } catch {
    throw new Refused('KYC_ERR_IMAGE_INVALID', which + ': the image cannot be decoded.');
  }
}

async function analyze(image, which) {
  const img = decode(Buffer.from(image.buffer, image.byteOffset, image.byteLength), which);
  const scale = Math.min(1, ${DETECT_MAX_SIDE} / Math.max(img.width, img.height));
  const input = tf.tidy(() => {
    const t = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    if (scale === 1) return t;
    return tf.cast(tf.image.resizeBilinear(t, [Math.round(img.height * scale), Math.round(img.width * scale)]), 'int32');
  });
  try {
    // Detection, cheapest first: the tiny detector at 320 (a camera frame's face is large), at 416 when it finds
    // nothing, the SSD detector last, so a face they miss (small, dark, tilted) is still found before "no face".
    let found = [];
    for (const size of ${JSON.stringify(TINY_INPUT_SIZES)}) {
      found = await faceapi.detectAllFaces(input, new faceapi.TinyFaceDetectorOptions({ inputSize: size, scoreThreshold: 0.5 })).withFaceLandmarks();
      if (found.length > 0) break;
    }
    if (found.length === 0) {
      found = await faceapi.detectAllFaces(input, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5, maxResults: 10 })).withFaceLandmarks();
    }
    // Only the largest face is ever compared (the others are counted): its descriptor alone is computed.
    let largest = -1;
    found.forEach((f, i) => { if (largest < 0 || f.detection.box.area > found[largest].detection.box.area) largest = i; });
    let descriptor = [];
    if (largest >= 0) {
      const [crop] = await faceapi.extractFaceTensors(input, [found[largest].alignedRect]);
      try {
        descriptor = Array.from(await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(crop));
      } finally {
        crop.dispose();
      }
    }
    const faces = found.map((f, i) => {
      const landmarks = f.landmarks.positions.flatMap((p) => [p.x / scale, p.y / scale]);
      return {
        score: f.detection.score,
        box: { x: f.detection.box.x / scale, y: f.detection.box.y / scale, width: f.detection.box.width / scale, height: f.detection.box.height / scale },
        landmarks,
        descriptor: i === largest ? descriptor : [],
        eyes: eyeDarkness(img.data, img.width, img.height, 3, landmarks),
      };
    });
    return { width: img.width, height: img.height, faces };
  } finally {
    input.dispose();
  }
}

const ready = load();
ready.then(
  (loadMs) => parentPort.postMessage({ kind: 'ready', loadMs, version: faceapi.version }),
  (err) => parentPort.postMessage({ kind: 'failed', message: String((err && err.message) || err) }),
);
parentPort.on('message', async (req) => {
  try {
    await ready;
    const result = await analyze(req.image, req.which);
    parentPort.postMessage({ kind: 'result', id: req.id, ...result });
  } catch (err) {
    parentPort.postMessage({ kind: 'error', id: req.id, code: err instanceof Refused ? err.code : null, message: String((err && err.message) || err) });
  }
});
`;
