import type { Attachment } from 'svelte/attachments';

/**
 * Shows a MediaStream in a <video> (streams cannot be given as an attribute). `onBlocked` runs when the browser
 * refuses to start playback with sound before the user touched the page, so the page can offer a button.
 */
export function showStream(stream: MediaStream | null, onBlocked?: () => void): Attachment<HTMLVideoElement> {
  return (video) => {
    video.srcObject = stream;
    if (stream) {
      video.play().catch((err: unknown) => {
        if (err instanceof DOMException && err.name === 'NotAllowedError') onBlocked?.();
      });
    }
    return () => {
      if (video.srcObject === stream) video.srcObject = null;
    };
  };
}
