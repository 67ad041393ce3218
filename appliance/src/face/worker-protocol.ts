import type { FaceImageErrorCode } from './types.js';

/** One face as the worker reports it, in the original image's pixel coordinates. */
export interface WorkerFace {
  score: number;
  box: { x: number; y: number; width: number; height: number };
  /** the 68 landmark points as x0, y0, x1, y1, … */
  landmarks: number[];
  /** 128-dimensional descriptor (dlib ResNet); computed for the largest face of an image only, empty for the others */
  descriptor: number[];
  /** share of dark pixels inside the eye outlines (geometry.ts eyeDarkness): high with the eyes open, low closed */
  eyes: number;
}

export interface WorkerRequest {
  id: number;
  which: 'reference' | 'probe' | 'frame';
  image: Uint8Array;
}

export type WorkerResponse =
  | { kind: 'ready'; loadMs: number; version: string }
  | { kind: 'failed'; message: string }
  | { kind: 'result'; id: number; width: number; height: number; faces: WorkerFace[] }
  | { kind: 'error'; id: number; code: FaceImageErrorCode | null; message: string };
