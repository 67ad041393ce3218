import { readFileSync } from 'node:fs';
import type { FaceConfig } from '../../src/face/index.js';

const dir = new URL('../fixtures/faces/', import.meta.url);

/** A fixture image of appliance/test/fixtures/faces (see SOURCE.md there). */
export const faceFixture = (path: string): Buffer => readFileSync(new URL(path, dir));

export interface LabelledSet {
  personA: string;
  personB: string;
  photos: { file: string; person: string }[];
}

export const labelledSet = (): LabelledSet => JSON.parse(readFileSync(new URL('labels.json', dir), 'utf8')) as LabelledSet;

export const personA = JSON.parse(readFileSync(new URL('id-cards/person-a.json', dir), 'utf8')) as { idNumber: string; name: string };

/** The face configuration the engine tests use: the defaults of KYC_FACE_* with the built-in engine. */
export function testFaceConfig(overrides: Partial<FaceConfig> = {}): FaceConfig {
  return {
    engine: 'builtin',
    modelDir: null,
    workers: 1,
    matchDistance: 0.5,
    reviewDistance: 0.6,
    livenessYaw: 0.12,
    maxImageBytes: 6 * 1024 * 1024,
    tesseractPath: '/usr/bin/tesseract',
    hook: { url: null, secretFile: null, caFile: null, timeoutMs: 1000, retries: 0 },
    ...overrides,
  };
}
