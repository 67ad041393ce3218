// What an identity still must be before anything looks at it: a JPEG, PNG or WebP recognised by its content, whose
// header states sane dimensions. Pure; the face engine decodes and refuses what it cannot read later.
import { sniffFileType } from '../domain/file-types.js';

export type StillMediaType = 'image/jpeg' | 'image/png' | 'image/webp';

export const STILL_LIMITS = {
  /** a phone camera's full-resolution JPEG fits easily */
  maxBytes: 8 * 1024 * 1024,
  /** per side; 4K cameras are 3840 wide */
  maxSide: 4096,
  minSide: 64,
} as const;

export type StillProblem = 'KYC_ERR_IMAGE_INVALID' | 'KYC_ERR_IMAGE_TOO_LARGE';

export interface StillInfo {
  mediaType: StillMediaType;
  width: number;
  height: number;
}

export class StillError extends Error {
  constructor(
    readonly code: StillProblem,
    message: string,
  ) {
    super(message);
    this.name = 'StillError';
  }
}

/** JPEG: the first start-of-frame marker (SOF0–SOF15 except DHT/JPG/DAC) carries height and width. */
function jpegSize(b: Buffer): { width: number; height: number } | null {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1] as number;
    if (marker === 0xff) {
      i += 1;
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    const len = b.readUInt16BE(i + 2);
    if (len < 2) return null;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
    if (marker === 0xda || marker === 0xd9) return null;
    i += 2 + len;
  }
  return null;
}

function pngSize(b: Buffer): { width: number; height: number } | null {
  if (b.length < 24 || b.subarray(12, 16).toString('latin1') !== 'IHDR') return null;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

function webpSize(b: Buffer): { width: number; height: number } | null {
  if (b.length < 30) return null;
  const chunk = b.subarray(12, 16).toString('latin1');
  if (chunk === 'VP8 ' && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  if (chunk === 'VP8L' && b[20] === 0x2f) {
    const bits = b.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') return { width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
  return null;
}

/** Checks a still's type, size and stated dimensions; throws StillError with a stable code. */
export function inspectStill(content: Buffer): StillInfo {
  if (content.length > STILL_LIMITS.maxBytes) throw new StillError('KYC_ERR_IMAGE_TOO_LARGE', `An image may be at most ${STILL_LIMITS.maxBytes / 1024 / 1024} MB.`);
  const type = sniffFileType(content.subarray(0, 16));
  if (type !== 'image/jpeg' && type !== 'image/png' && type !== 'image/webp') throw new StillError('KYC_ERR_IMAGE_INVALID', 'The still is not a JPEG, PNG or WebP image.');
  const size = type === 'image/jpeg' ? jpegSize(content) : type === 'image/png' ? pngSize(content) : webpSize(content);
  if (!size || size.width === 0 || size.height === 0) throw new StillError('KYC_ERR_IMAGE_INVALID', 'The image cannot be read.');
  if (size.width > STILL_LIMITS.maxSide || size.height > STILL_LIMITS.maxSide) {
    throw new StillError('KYC_ERR_IMAGE_TOO_LARGE', `An image may be at most ${STILL_LIMITS.maxSide} pixels on a side.`);
  }
  if (size.width < STILL_LIMITS.minSide || size.height < STILL_LIMITS.minSide) throw new StillError('KYC_ERR_IMAGE_INVALID', 'The image is too small to be a camera still.');
  return { mediaType: type, ...size };
}
