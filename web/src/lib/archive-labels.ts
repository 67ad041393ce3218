import type { RecordingStatus } from '$lib/archive-api.js';
import { m } from '$lib/paraglide/messages.js';

export function recordingStatusLabel(status: RecordingStatus): string {
  switch (status) {
    case 'queued':
      return m.recording_status_queued();
    case 'processing':
      return m.recording_status_processing();
    case 'sealed':
      return m.recording_status_sealed();
    case 'failed':
      return m.recording_status_failed();
  }
}
