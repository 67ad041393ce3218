// The built-in engine: descriptors of the largest face in each image, euclidean distance, score 1 − d, decision by
// the configured distance thresholds.
import { decide, euclidean, scoreOf, type DistanceThresholds } from './geometry.js';
import type { Analysis, FaceModelPool } from './pool.js';
import { FaceImageError, type CompareOptions, type FaceComparison, type FaceEngine } from './types.js';
import type { WorkerFace } from './worker-protocol.js';

export const BUILTIN_ENGINE_NAME = 'builtin-face-api';

/** The face an image is about: exactly one is expected; several → KYC_ERR_MULTIPLE_FACES, none → KYC_ERR_NO_FACE. */
export function soleFace(a: Analysis, which: 'reference' | 'probe' | 'frame'): WorkerFace {
  if (a.faces.length === 0) throw new FaceImageError('KYC_ERR_NO_FACE', `${which}: no face found.`, which);
  if (a.faces.length > 1) {
    // An ID card's small printed ghost image or a face far in the background is not a second person: only faces
    // at least half the size of the largest count.
    const sorted = [...a.faces].sort((x, y) => y.box.width * y.box.height - x.box.width * x.box.height);
    const largest = sorted[0] as WorkerFace;
    const big = sorted.filter((f) => f.box.width * f.box.height >= 0.5 * largest.box.width * largest.box.height);
    if (big.length > 1) throw new FaceImageError('KYC_ERR_MULTIPLE_FACES', `${which}: more than one face.`, which);
    return largest;
  }
  return a.faces[0] as WorkerFace;
}

export class BuiltinFaceEngine implements FaceEngine {
  readonly name = BUILTIN_ENGINE_NAME;

  constructor(
    readonly pool: FaceModelPool,
    readonly thresholds: DistanceThresholds,
    private readonly modelVersion: string,
  ) {}

  /** score thresholds equivalent to the distance thresholds */
  get scoreThresholds(): { match: number; review: number } {
    return { match: scoreOf(this.thresholds.match), review: scoreOf(this.thresholds.review) };
  }

  async describe(image: Buffer, which: 'reference' | 'probe' | 'frame'): Promise<{ face: WorkerFace; count: number }> {
    const a = await this.pool.analyze(image, which);
    return { face: soleFace(a, which), count: a.faces.length };
  }

  private result(distance: number, faces: { reference: number; probe: number }): FaceComparison {
    return {
      score: scoreOf(distance),
      decision: decide(distance, this.thresholds),
      engine: this.name,
      modelVersion: this.modelVersion,
      thresholds: this.scoreThresholds,
      faces,
    };
  }

  async compare(reference: Buffer, probe: Buffer, _opts?: CompareOptions): Promise<FaceComparison> {
    const [r, p] = await Promise.all([this.describe(reference, 'reference'), this.describe(probe, 'probe')]);
    return this.result(euclidean(r.face.descriptor, p.face.descriptor), { reference: r.count, probe: p.count });
  }

  async compareBest(reference: Buffer, probes: Buffer[], _opts?: CompareOptions): Promise<FaceComparison & { probeIndex: number }> {
    if (probes.length === 0) throw new FaceImageError('KYC_ERR_IMAGE_INVALID', 'probe: at least one frame is needed.', 'probe');
    const r = await this.describe(reference, 'reference');
    // frames without a usable face are skipped; if none has one, the first frame's problem is reported
    const described = await Promise.all(
      probes.map((p) =>
        this.describe(p, 'probe').then(
          (d) => d,
          (e: unknown) => e,
        ),
      ),
    );
    let best: { index: number; distance: number; count: number } | null = null;
    for (const [index, d] of described.entries()) {
      if (d instanceof Error) {
        if (!(d instanceof FaceImageError)) throw d;
        continue;
      }
      const { face, count } = d as { face: WorkerFace; count: number };
      const distance = euclidean(r.face.descriptor, face.descriptor);
      if (!best || distance < best.distance) best = { index, distance, count };
    }
    if (!best) throw described[0] as Error;
    return { ...this.result(best.distance, { reference: r.count, probe: best.count }), probeIndex: best.index };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
