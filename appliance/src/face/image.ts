// Decoding camera stills to RGB pixels for the face model, and re-encoding to JPEG for the external hook. Pure JS
// decoders (jpeg-js, pngjs): nothing native, nothing fetched. Type, byte size and stated dimensions are checked first
// (inspectStill) so a decompression bomb is refused before any pixel is decoded.
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { inspectStill, StillError } from '../kyc/identity-image.js';
import { FaceImageError } from './types.js';

export interface RgbImage {
  width: number;
  height: number;
  /** width × height × 3 bytes, row-major RGB */
  data: Uint8Array;
}

type Which = 'reference' | 'probe' | 'frame';

/** Throws FaceImageError (KYC_ERR_IMAGE_INVALID / KYC_ERR_IMAGE_TOO_LARGE) unless this is a JPEG or PNG still. */
export function checkStill(content: Buffer, which: Which): 'image/jpeg' | 'image/png' {
  let info;
  try {
    info = inspectStill(content);
  } catch (err) {
    if (err instanceof StillError) throw new FaceImageError(err.code, `${which}: ${err.message}`, which);
    throw err;
  }
  if (info.mediaType === 'image/webp') throw new FaceImageError('KYC_ERR_IMAGE_INVALID', `${which}: send a JPEG or PNG image.`, which);
  return info.mediaType;
}

function rgbaToRgb(rgba: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < out.length; i += 4, j += 3) {
    out[j] = rgba[i] as number;
    out[j + 1] = rgba[i + 1] as number;
    out[j + 2] = rgba[i + 2] as number;
  }
  return out;
}

/** Decodes a checked still. A truncated or corrupt file is KYC_ERR_IMAGE_INVALID. */
export function decodeStill(content: Buffer, which: Which): RgbImage {
  const type = checkStill(content, which);
  try {
    if (type === 'image/jpeg') {
      const img = jpeg.decode(content, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 256, tolerantDecoding: false });
      return { width: img.width, height: img.height, data: img.data };
    }
    const png = PNG.sync.read(content);
    return { width: png.width, height: png.height, data: rgbaToRgb(png.data, png.width, png.height) };
  } catch {
    throw new FaceImageError('KYC_ERR_IMAGE_INVALID', `${which}: the image cannot be decoded.`, which);
  }
}

/** The still as JPEG (the hook's contract): JPEGs pass through unchanged, PNGs are re-encoded. */
export function asJpeg(content: Buffer, which: Which): Buffer {
  if (checkStill(content, which) === 'image/jpeg') return content;
  const png = decodeStill(content, which);
  const rgba = new Uint8Array(png.width * png.height * 4);
  for (let i = 0, j = 0; i < png.data.length; i += 3, j += 4) {
    rgba[j] = png.data[i] as number;
    rgba[j + 1] = png.data[i + 1] as number;
    rgba[j + 2] = png.data[i + 2] as number;
    rgba[j + 3] = 255;
  }
  return jpeg.encode({ data: rgba, width: png.width, height: png.height }, 90).data;
}
