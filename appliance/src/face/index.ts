// Face verification, challenge liveness and ID-number reading: the interface the KYC flow uses, and the one place
// that builds the engines from configuration (one instance of each per process, made by bootstrap).
import type { AppConfig } from '../config/load.js';
import { TesseractIdNumberReader } from '../ocr/tesseract.js';
import { BuiltinFaceEngine } from './builtin.js';
import { HookFaceEngine } from './hook.js';
import { BrowserFaceAssets } from './browser-assets.js';
import { LandmarkLivenessChecker } from './liveness.js';
import { FaceModelPool } from './pool.js';
import type { FaceEngine, IdNumberReader, LivenessChecker } from './types.js';

export * from './types.js';
export { BUILTIN_ENGINE_NAME, BuiltinFaceEngine } from './builtin.js';
export { BrowserFaceAssets, type BrowserModelIndex } from './browser-assets.js';
export { HOOK_ENGINE_NAME, HookFaceEngine, signHookBody } from './hook.js';
export { isValidGb11643, gb11643CheckChar, findIdNumber } from '../ocr/gb11643.js';

export interface FaceServices {
  /** the configured engine (built-in or hook) for ID photo vs live frames */
  engine: FaceEngine;
  /** always the built-in model: liveness frames and image checks */
  builtin: BuiltinFaceEngine;
  liveness: LivenessChecker;
  idReader: IdNumberReader;
  /** the model files the customer's browser runs to guide captures (checked once; may be unavailable) */
  browserAssets: BrowserFaceAssets;
  /** loads the model now if not yet loaded (it otherwise loads on first use); its load time and version */
  ready(): Promise<{ loadMs: number; version: string }>;
  /** whether the model was started (loaded or loading) */
  readonly started: boolean;
  close(): Promise<void>;
}

export type FaceConfig = AppConfig['face'];

/**
 * Builds the engines. The model loads on worker threads in the background; the first comparison waits for it.
 * `onHookFailure` hears why the hook failed (no images, no secrets in the reason).
 */
export function createFaceServices(config: FaceConfig, onHookFailure?: (reason: string) => void): FaceServices {
  const pool = new FaceModelPool(config.workers, config.modelDir);
  const versionLabel = '@vladmandic/face-api@1.7.15 tiny_face_detector(ssd_mobilenetv1 fallback)+face_landmark_68+face_recognition';
  const builtin = new BuiltinFaceEngine(pool, { match: config.matchDistance, review: config.reviewDistance }, versionLabel);
  const engine: FaceEngine =
    config.engine === 'hook' && config.hook.url && config.hook.secretFile
      ? HookFaceEngine.fromFiles(
          { url: config.hook.url, secretFile: config.hook.secretFile, caFile: config.hook.caFile, timeoutMs: config.hook.timeoutMs, retries: config.hook.retries },
          builtin,
          onHookFailure,
        )
      : builtin;
  const liveness = new LandmarkLivenessChecker(builtin, {
    yaw: config.livenessYaw,
    blinkRatio: 0.5,
    openEye: 0.3,
    mouthOpen: 0.3,
    mouthMove: 0.15,
    sameFaceDistance: config.reviewDistance,
  });
  return {
    engine,
    builtin,
    liveness,
    idReader: new TesseractIdNumberReader({ binary: config.tesseractPath, timeoutMs: 20_000 }),
    browserAssets: BrowserFaceAssets.fromModelDir(config.modelDir),
    ready: () => pool.ready(),
    get started() {
      return pool.started;
    },
    close: () => pool.close(),
  };
}
