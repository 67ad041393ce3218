// The face, liveness and ID-number engines as the rest of the appliance sees them. Pure types and the error class;
// the implementations live beside this file (built-in engine on worker threads, external hook, tesseract reader).

export type FaceDecision = 'match' | 'review' | 'no_match';

/** One comparison. `score` is 0..1, higher = more alike (the built-in engine maps distance d to 1 − d). */
export interface FaceComparison {
  score: number;
  decision: FaceDecision;
  engine: string;
  modelVersion: string;
  /** in score terms: score ≥ match → "match"; ≥ review → "review"; below → "no_match" */
  thresholds: { match: number; review: number };
  /** faces found in each image (the comparison uses the largest) */
  faces: { reference: number; probe: number };
}

export interface CompareOptions {
  requestId?: string;
  caseId?: string;
}

export interface FaceEngine {
  compare(reference: Buffer, probe: Buffer, opts?: CompareOptions): Promise<FaceComparison>;
  /** the reference against several live frames: the best-scoring frame wins (its index is returned) */
  compareBest(reference: Buffer, probes: Buffer[], opts?: CompareOptions): Promise<FaceComparison & { probeIndex: number }>;
  close(): Promise<void>;
}

import type { ChallengeKind } from '../domain/vocabulary.js';
export { CHALLENGE_KINDS } from '../domain/vocabulary.js';
export type { ChallengeKind };

export interface ChallengeResult {
  passed: boolean;
  reason?: string;
  /** whether the frames show the reference's face; null when no reference was given */
  sameFace: boolean | null;
  measurements: Record<string, number>;
}

export interface LivenessChecker {
  checkChallenge(kind: ChallengeKind, frames: Buffer[], reference?: Buffer): Promise<ChallengeResult>;
}

export interface IdNumberReader {
  read(image: Buffer): Promise<{ idNumber: string | null; checksumValid: boolean }>;
}

export type FaceImageErrorCode = 'KYC_ERR_IMAGE_INVALID' | 'KYC_ERR_NO_FACE' | 'KYC_ERR_MULTIPLE_FACES' | 'KYC_ERR_IMAGE_TOO_LARGE';

/** Bad input to an engine; routes map it to 400 (413 for KYC_ERR_IMAGE_TOO_LARGE). `which` names the image. */
export class FaceImageError extends Error {
  constructor(
    readonly code: FaceImageErrorCode,
    message: string,
    readonly which?: 'reference' | 'probe' | 'frame',
  ) {
    super(message);
    this.name = 'FaceImageError';
  }

  get status(): number {
    return this.code === 'KYC_ERR_IMAGE_TOO_LARGE' ? 413 : 400;
  }
}
