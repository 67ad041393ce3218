// The face model the customer's browser runs to guide a capture and spot the asked movement: the face-api browser
// bundle (TF.js inside), TF.js's WASM binaries and the two small networks it needs (tiny face detector, 68-point
// landmarks), all from the installed packages — never a CDN. Served under /models/<tag>/ where the tag is a hash of
// the files' contents, so the files can be cached as immutable and a package update changes the URL.
// If a file is missing the set is unavailable: /models/index.json says so, the page captures on a timer instead,
// and /readyz reports it (not required: the server's re-check does not depend on it).
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export interface BrowserAsset {
  path: string;
  contentType: string;
  size: number;
}

/** What the page needs to load the model; `base` ends with a slash. */
export type BrowserModelIndex = { available: true; base: string; bundle: string; detector: 'tiny_face_detector'; landmarks: 'face_landmark_68' } | { available: false; missing: string[] };

const MODEL_FILES = ['tiny_face_detector_model-weights_manifest.json', 'tiny_face_detector_model.bin', 'face_landmark_68_model-weights_manifest.json', 'face_landmark_68_model.bin'];
/** TF.js picks one of these by the browser's features (threads need cross-origin isolation, which the UI has not). */
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'];
const BUNDLE = 'face-api.esm.js';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.bin': 'application/octet-stream',
  '.wasm': 'application/wasm',
};

const packageDir = (name: string): string | null => {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return null;
  }
};

/** Where each served file comes from: the face model folder (KYC_FACE_MODEL_DIR or the package's), the packages' dist. */
export function browserAssetSources(modelDir: string | null): Record<string, string | null> {
  const faceApi = packageDir('@vladmandic/face-api');
  const tfWasm = packageDir('@tensorflow/tfjs-backend-wasm');
  const models = modelDir ?? (faceApi ? join(faceApi, 'model') : null);
  return {
    [BUNDLE]: faceApi ? join(faceApi, 'dist', BUNDLE) : null,
    ...Object.fromEntries(WASM_FILES.map((f) => [f, tfWasm ? join(tfWasm, 'dist', f) : null])),
    ...Object.fromEntries(MODEL_FILES.map((f) => [f, models ? join(models, f) : null])),
  };
}

export class BrowserFaceAssets {
  private constructor(
    private readonly files: ReadonlyMap<string, BrowserAsset>,
    readonly tag: string | null,
    readonly missing: readonly string[],
  ) {}

  /** Checks every file once (at start-up) and hashes their contents into the URL tag. */
  static fromSources(sources: Record<string, string | null>): BrowserFaceAssets {
    const files = new Map<string, BrowserAsset>();
    const missing: string[] = [];
    const hash = createHash('sha256');
    for (const [name, path] of Object.entries(sources)) {
      try {
        if (!path || !statSync(path).isFile()) throw new Error('missing');
        const bytes = readFileSync(path);
        hash.update(`${name}\0${bytes.length}\0`).update(bytes);
        files.set(name, { path, contentType: CONTENT_TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream', size: bytes.length });
      } catch {
        missing.push(name);
      }
    }
    return new BrowserFaceAssets(files, missing.length === 0 ? hash.digest('hex').slice(0, 16) : null, missing);
  }

  static fromModelDir(modelDir: string | null): BrowserFaceAssets {
    return BrowserFaceAssets.fromSources(browserAssetSources(modelDir));
  }

  index(prefix: string): BrowserModelIndex {
    if (!this.tag) return { available: false, missing: [...this.missing] };
    return { available: true, base: `${prefix}${this.tag}/`, bundle: BUNDLE, detector: 'tiny_face_detector', landmarks: 'face_landmark_68' };
  }

  /** The file named under this tag, or null (unknown name, stale tag, set unavailable). */
  file(tag: string, name: string): BrowserAsset | null {
    if (!this.tag || tag !== this.tag) return null;
    return this.files.get(name) ?? null;
  }
}
