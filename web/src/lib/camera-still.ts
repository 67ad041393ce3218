// Stills from this browser's own camera track, at the camera's resolution — never the downscaled video the other side
// decodes. ImageCapture.takePhoto gives the camera's still resolution where the browser has it; otherwise a frame
// of the track at its own size (ImageCapture.grabFrame, else a video element playing the track).

interface ImageCaptureLike {
  takePhoto(): Promise<Blob>;
  grabFrame(): Promise<ImageBitmap>;
}
type ImageCaptureCtor = new (track: MediaStreamTrack) => ImageCaptureLike;

/** The server refuses larger sides (appliance/src/kyc/identity-image.ts). */
export const MAX_STILL_SIDE = 4096;

function imageCapture(track: MediaStreamTrack): ImageCaptureLike | null {
  const ctor = (globalThis as { ImageCapture?: ImageCaptureCtor }).ImageCapture;
  if (!ctor) return null;
  try {
    return new ctor(track);
  } catch {
    return null;
  }
}

/** A video element playing the track (muted, inline), once it has a picture. */
export async function frameFromVideo(track: MediaStreamTrack): Promise<HTMLVideoElement> {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = new MediaStream([track]);
  await video.play();
  if (video.videoWidth === 0) await new Promise<void>((resolve) => video.addEventListener('loadeddata', () => resolve(), { once: true }));
  return video;
}

/** A JPEG of `source` at its own size (at most MAX_STILL_SIDE). */
export async function toJpeg(source: CanvasImageSource, width: number, height: number, quality: number): Promise<Blob> {
  const scale = Math.min(1, MAX_STILL_SIDE / Math.max(width, height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const g = canvas.getContext('2d');
  if (!g) throw new Error('no 2d canvas');
  g.drawImage(source, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('encoding failed'))), 'image/jpeg', quality));
}

/** One JPEG of the track's current picture. `photo`: prefer the camera's still mode (ID documents). */
export async function takeStill(track: MediaStreamTrack, opts: { photo?: boolean; quality?: number } = {}): Promise<Blob> {
  const quality = opts.quality ?? 0.92;
  const capture = imageCapture(track);
  if (capture && opts.photo) {
    try {
      const photo = await capture.takePhoto();
      const bitmap = await createImageBitmap(photo);
      try {
        return await toJpeg(bitmap, bitmap.width, bitmap.height, quality);
      } finally {
        bitmap.close();
      }
    } catch {
      // some cameras have no still mode: a frame of the track at its own size instead
    }
  }
  if (capture) {
    try {
      const bitmap = await capture.grabFrame();
      try {
        return await toJpeg(bitmap, bitmap.width, bitmap.height, quality);
      } finally {
        bitmap.close();
      }
    } catch {
      // fall through to a video element
    }
  }
  const video = await frameFromVideo(track);
  try {
    return await toJpeg(video, video.videoWidth, video.videoHeight, quality);
  } finally {
    video.srcObject = null;
  }
}

/** `count` stills spread over `spanMs` (live face frames, liveness key frames). */
export async function takeStills(track: MediaStreamTrack, count: number, spanMs: number): Promise<Blob[]> {
  const out: Blob[] = [];
  const gap = count > 1 ? spanMs / (count - 1) : 0;
  for (let i = 0; i < count; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, gap));
    out.push(await takeStill(track));
  }
  return out;
}
