// What a party opens for the call: its camera and microphone as its media mode says, with the fallbacks a call
// needs rather than failing (no camera: voice; nothing at all: chat only).
import type { MediaMode } from '../../../../appliance/src/domain/vocabulary.js';

export const DEFAULT_CONSTRAINTS: MediaStreamConstraints = {
  audio: true,
  video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 20 } },
};

/**
 * Opens the devices for `mode`: text only opens nothing; voice only the microphone; video both, falling back to the
 * microphone when the camera cannot be opened. `nothing` is true when a device was wanted and none could be opened
 * (the call continues with chat and the other party's media).
 */
export async function openLocalMedia(mode: MediaMode, constraints: MediaStreamConstraints = DEFAULT_CONSTRAINTS): Promise<{ stream: MediaStream; nothing: boolean }> {
  if (mode === 'chat') return { stream: new MediaStream(), nothing: false };
  const wanted = mode === 'audio' ? { audio: constraints.audio ?? true } : constraints;
  try {
    return { stream: await navigator.mediaDevices.getUserMedia(wanted), nothing: false };
  } catch (err) {
    if (!wanted.video) throw err;
    try {
      return { stream: await navigator.mediaDevices.getUserMedia({ audio: constraints.audio ?? true }), nothing: false };
    } catch {
      return { stream: new MediaStream(), nothing: true };
    }
  }
}
