// The face model in the customer's own browser, served by the appliance under /models/ (never a CDN): it finds the
// face in the camera picture to guide the customer ("face not found", "turn your head left") and to take a
// challenge's key frames at the moment the asked movement shows. It only guides: the appliance re-checks every key
// frame with its own model and decides. When the model cannot load (files missing, no WebAssembly), load() gives
// null and the page captures on a timer as before.
import { eyeDarkness, mouthOpenRatio, yawRatio } from '../../../appliance/src/face/geometry.js';
import type { LivenessChallengeKind } from '../../../appliance/src/media/protocol.js';

interface Detection {
  detection: { score: number; box: { width: number; height: number } };
  landmarks: { positions: { x: number; y: number }[] };
}
interface FaceApiModule {
  tf: { setBackend(name: string): Promise<boolean>; ready(): Promise<void>; getBackend(): string; setWasmPaths(prefix: string): void };
  nets: { tinyFaceDetector: { loadFromUri(uri: string): Promise<void> }; faceLandmark68Net: { loadFromUri(uri: string): Promise<void> } };
  TinyFaceDetectorOptions: new (o: { inputSize: number; scoreThreshold: number }) => unknown;
  detectAllFaces(input: HTMLCanvasElement, options: unknown): { withFaceLandmarks(): Promise<Detection[]> };
}
type ModelIndex = { available: true; base: string; bundle: string } | { available: false; missing: string[] };

/** One look at the picture: how many faces, and the measurements of the face when there is exactly one. */
export interface FaceReading {
  faces: number;
  /** face width over picture width (too far away below ~0.15) */
  size: number;
  yaw: number;
  /** share of dark pixels inside the eye outlines (the appliance's own measure): falls when the eyes close */
  eyes: number;
  mouth: number;
}

export type Guidance = 'no-face' | 'several-faces' | 'too-far' | 'face-detected';

/** What the page shows: the model's state, then the guidance, then the outcome of a guided capture. */
export type GuideState = 'loading' | 'unavailable' | Guidance | 'movement-seen' | 'timed';

export function guidanceOf(r: FaceReading): Guidance {
  if (r.faces === 0) return 'no-face';
  if (r.faces > 1) return 'several-faces';
  return r.size < 0.12 ? 'too-far' : 'face-detected';
}

/**
 * Movements the browser looks for before it takes the key frame. A little beyond the appliance's own thresholds
 * (appliance/src/face/liveness.ts: yaw swing 0.12, eyes' dark share at most 0.5 of open, mouth 0.3 / swing 0.15), so the frame
 * it sends is one the re-check will also see moving.
 */
export const GUIDE_THRESHOLDS = { yawSwing: 0.16, blinkRatio: 0.4, mouthOpen: 0.35, mouthSwing: 0.2 };

/** Whether `now` shows the asked movement against the frontal `base` reading (turns: the camera's unmirrored view). */
export function showsMovement(kind: LivenessChallengeKind, base: FaceReading, now: FaceReading, t = GUIDE_THRESHOLDS): boolean {
  switch (kind) {
    case 'turn-left':
      return now.yaw - base.yaw >= t.yawSwing && now.yaw >= t.yawSwing / 2;
    case 'turn-right':
      return base.yaw - now.yaw >= t.yawSwing && -now.yaw >= t.yawSwing / 2;
    case 'blink':
      return now.eyes <= base.eyes * t.blinkRatio;
    case 'open-mouth':
      return now.mouth >= t.mouthOpen && now.mouth - base.mouth >= t.mouthSwing;
    case 'read-digits':
      return Math.abs(now.mouth - base.mouth) >= t.mouthSwing;
  }
}

/**
 * Whether `now` is further from the asked movement than `base` (turned the other way, eyes wider, mouth more closed):
 * the frame to measure the movement from, as the appliance measures from the least-moved frame.
 */
export function isFurtherFromMovement(kind: LivenessChallengeKind, base: FaceReading, now: FaceReading): boolean {
  switch (kind) {
    case 'turn-left':
      return now.yaw < base.yaw;
    case 'turn-right':
      return now.yaw > base.yaw;
    case 'blink':
      return now.eyes > base.eyes;
    case 'open-mouth':
      return now.mouth < base.mouth;
    case 'read-digits':
      return false;
  }
}

export class FaceGuide {
  private readonly canvas = document.createElement('canvas');

  private constructor(
    private readonly api: FaceApiModule,
    readonly backend: string,
  ) {}

  /** Draws the current picture of `video` at its own size and reads it; the canvas then holds that very frame. */
  async read(video: HTMLVideoElement): Promise<{ reading: FaceReading; frame: HTMLCanvasElement }> {
    const { videoWidth: w, videoHeight: h } = video;
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    ctx?.drawImage(video, 0, 0, w, h);
    const detect = (inputSize: number, scoreThreshold: number) =>
      this.api.detectAllFaces(this.canvas, new this.api.TinyFaceDetectorOptions({ inputSize, scoreThreshold })).withFaceLandmarks();
    // the quick pass first; a turned face often scores lower, so a finer, more lenient pass before "no face"
    let found = await detect(320, 0.5);
    if (found.length === 0) found = await detect(416, 0.3);
    const one = found.length === 1 ? found[0] : undefined;
    const l = one ? one.landmarks.positions.flatMap((p) => [p.x, p.y]) : [];
    return {
      reading: {
        faces: found.length,
        size: one && w ? one.detection.box.width / w : 0,
        yaw: one ? yawRatio(l) : 0,
        eyes: one && ctx ? eyeDarkness(ctx.getImageData(0, 0, w, h).data, w, h, 4, l) : 0,
        mouth: one ? mouthOpenRatio(l) : 0,
      },
      frame: this.canvas,
    };
  }

  static async #load(): Promise<FaceGuide | null> {
    const res = await fetch('/models/index.json', { headers: { accept: 'application/json' } });
    if (!res.ok) return null;
    const index = (await res.json()) as ModelIndex;
    if (!index.available) return null;
    const api = (await import(/* @vite-ignore */ `${index.base}${index.bundle}`)) as FaceApiModule;
    api.tf.setWasmPaths(index.base);
    let backend: string | null = null;
    // WASM first (the same numbers everywhere, 'wasm-unsafe-eval' in the CSP), then WebGL, then plain JavaScript
    for (const name of ['wasm', 'webgl', 'cpu']) {
      try {
        if (await api.tf.setBackend(name)) {
          await api.tf.ready();
          backend = api.tf.getBackend();
          break;
        }
      } catch {
        // the next backend
      }
    }
    if (!backend) return null;
    await api.nets.tinyFaceDetector.loadFromUri(index.base);
    await api.nets.faceLandmark68Net.loadFromUri(index.base);
    return new FaceGuide(api, backend);
  }

  static #loading: Promise<FaceGuide | null> | null = null;

  /** The page's one model, loaded on first use; null when it cannot load (the caller captures on a timer). */
  static load(): Promise<FaceGuide | null> {
    FaceGuide.#loading ??= FaceGuide.#load().catch(() => null);
    return FaceGuide.#loading;
  }
}

/**
 * Reads `video` again and again, one read at a time, `gapMs` apart, until `signal` aborts; `onRead` gets each
 * reading with the canvas holding the frame it was taken from (valid until the next read).
 */
export async function watchFaces(
  guide: FaceGuide,
  video: HTMLVideoElement,
  signal: AbortSignal,
  onRead: (reading: FaceReading, frame: HTMLCanvasElement) => void | Promise<void>,
  gapMs = 150,
): Promise<void> {
  while (!signal.aborted) {
    if (video.videoWidth > 0) {
      const { reading, frame } = await guide.read(video);
      if (signal.aborted) return;
      await onRead(reading, frame);
    }
    await new Promise((r) => setTimeout(r, gapMs));
  }
}
