import type { MediaMode } from '../domain/vocabulary.js';
import type { MjrInfo } from './media-commands.js';
import { PARTIES, segmentLabel, type Party, type StreamFile } from './recording-layout.js';

/**
 * Completeness of a session's recording, checked before sealing. Problems are never dropped: they go into the
 * manifest, the recording row (shown to auditors) and the `recording.sealed` audit event. Pure.
 */

/** A party's recorded media may fall short of the session by this much (joining and leaving take a moment)... */
export const DURATION_TOLERANCE_MS = 5_000;
/** ...or by this fraction of the session, whichever is larger. */
export const DURATION_TOLERANCE_FRACTION = 0.05;
/** audio and video of one publisher start within this of each other */
export const AV_OFFSET_TOLERANCE_MS = 1_000;
/** both parties' first segments start within this of each other */
export const PARTY_OFFSET_TOLERANCE_MS = 15_000;

export type IssueSeverity = 'error' | 'warning' | 'info';

export interface RecordingIssue {
  code:
    | 'party_missing'
    | 'stream_missing'
    | 'stream_empty'
    | 'stream_unclosed'
    | 'stream_unusable'
    | 'stream_extra'
    | 'unknown_file'
    | 'av_offset'
    | 'party_offset'
    | 'duration_short'
    | 'duration_long'
    | 'segment_break'
    | 'stream_unexpected'
    | 'customer_chat_only';
  severity: IssueSeverity;
  message: string;
  party?: Party;
  segment?: number;
  file?: string;
}

export interface InspectedStream {
  file: StreamFile;
  bytes: number;
  /** null: no readable header (e.g. the 8-byte file Janus leaves when no media ever arrived) */
  info: MjrInfo | null;
}

export interface InspectedSegment {
  party: Party;
  segment: number;
  audio: InspectedStream | null;
  video: InspectedStream | null;
  extra: InspectedStream[];
}

/** A stream holding media: a readable header and at least one packet. */
export function hasMedia(s: InspectedStream | null): s is InspectedStream & { info: MjrInfo } {
  return !!s && !!s.info && s.info.packets > 0;
}

export function segmentStartUs(seg: InspectedSegment): number | null {
  const starts = [seg.audio, seg.video].filter(hasMedia).map((s) => s.info.firstPacketUs);
  return starts.length ? Math.min(...starts) : null;
}

export function segmentDurationMs(seg: InspectedSegment): number {
  return Math.max(0, ...[seg.audio, seg.video].filter(hasMedia).map((s) => s.info.durationMs));
}

/**
 * The streams a party is expected to record: the teller always audio and video; the customer as their media mode says
 * (video: both, audio: audio only, chat: none — a text-only customer publishes nothing).
 */
export function expectedKinds(party: Party, customerMedia: MediaMode): ReadonlyArray<'audio' | 'video'> {
  if (party === 'teller' || customerMedia === 'video') return ['audio', 'video'];
  return customerMedia === 'audio' ? ['audio'] : [];
}

export function checkCompleteness(o: {
  sessionStart: Date;
  sessionEnd: Date;
  segments: readonly InspectedSegment[];
  unknownFiles: readonly string[];
  /** how the customer took part (manifests sealed before media modes existed: video) */
  customerMedia?: MediaMode;
}): RecordingIssue[] {
  const issues: RecordingIssue[] = [];
  const customerMedia = o.customerMedia ?? 'video';
  const sessionMs = Math.max(0, o.sessionEnd.getTime() - o.sessionStart.getTime());
  const tolerance = Math.max(DURATION_TOLERANCE_MS, sessionMs * DURATION_TOLERANCE_FRACTION);
  const firstStart = new Map<Party, number>();

  for (const party of PARTIES) {
    const segs = o.segments.filter((s) => s.party === party);
    const expected = expectedKinds(party, customerMedia);
    if (expected.length === 0 && segs.length === 0) {
      issues.push({ code: 'customer_chat_only', severity: 'info', party, message: `the ${party} took part by text only: no media to record` });
      continue;
    }
    if (segs.length === 0) {
      issues.push({ code: 'party_missing', severity: 'error', party, message: `no recording of the ${party}` });
      continue;
    }
    let total = 0;
    for (const seg of segs) {
      const label = segmentLabel(party, seg.segment);
      if (seg.segment > 1) {
        issues.push({ code: 'segment_break', severity: 'info', party, segment: seg.segment, message: `${label}: a new segment after a reconnect` });
      }
      for (const kind of ['audio', 'video'] as const) {
        const s = seg[kind];
        if (!expected.includes(kind)) {
          // not expected in this media mode: absent or empty is right; media is kept and sealed, but flagged
          if (hasMedia(s)) {
            issues.push({
              code: 'stream_unexpected',
              severity: 'warning',
              party,
              segment: seg.segment,
              file: s.file.name,
              message: `${label}: ${kind} was recorded though the ${party} took part by ${customerMedia === 'audio' ? 'voice' : 'text'} only`,
            });
          }
          continue;
        }
        if (!s) {
          issues.push({ code: 'stream_missing', severity: 'error', party, segment: seg.segment, message: `${label}: no ${kind} stream` });
          continue;
        }
        if (!hasMedia(s)) {
          issues.push({
            code: 'stream_empty',
            severity: 'error',
            party,
            segment: seg.segment,
            file: s.file.name,
            message: `${label}: the ${kind} file holds no media (${s.bytes} bytes${s.info ? ', 0 packets' : ', header only'})`,
          });
        } else if (s.info.kind !== kind) {
          issues.push({ code: 'stream_unusable', severity: 'error', party, segment: seg.segment, file: s.file.name, message: `${label}: the ${kind} file holds ${s.info.kind}` });
        }
        if (s.file.open) {
          issues.push({
            code: 'stream_unclosed',
            severity: 'warning',
            party,
            segment: seg.segment,
            file: s.file.name,
            message: `${label}: Janus did not close the ${kind} file (stopped mid-call?)`,
          });
        }
      }
      for (const x of seg.extra) {
        issues.push({ code: 'stream_extra', severity: 'warning', party, segment: seg.segment, file: x.file.name, message: `${label}: an additional ${x.file.kind} stream, sealed as it is` });
      }
      if (hasMedia(seg.audio) && hasMedia(seg.video)) {
        const d = Math.abs(seg.audio.info.firstPacketUs - seg.video.info.firstPacketUs) / 1000;
        if (d > AV_OFFSET_TOLERANCE_MS) {
          issues.push({ code: 'av_offset', severity: 'warning', party, segment: seg.segment, message: `${label}: audio and video start ${Math.round(d)} ms apart` });
        }
      }
      const start = segmentStartUs(seg);
      if (start !== null && !firstStart.has(party)) firstStart.set(party, start);
      total += segmentDurationMs(seg);
    }
    if (expected.length === 0) continue;
    if (total < sessionMs - tolerance) {
      issues.push({
        code: 'duration_short',
        severity: 'error',
        party,
        message: `the ${party}'s media last ${(total / 1000).toFixed(1)} s of a ${(sessionMs / 1000).toFixed(1)} s session`,
      });
    } else if (total > sessionMs + tolerance) {
      issues.push({
        code: 'duration_long',
        severity: 'warning',
        party,
        message: `the ${party}'s media last ${(total / 1000).toFixed(1)} s, longer than the ${(sessionMs / 1000).toFixed(1)} s session`,
      });
    }
  }
  const t = firstStart.get('teller');
  const c = firstStart.get('customer');
  if (t !== undefined && c !== undefined && Math.abs(t - c) / 1000 > PARTY_OFFSET_TOLERANCE_MS) {
    issues.push({ code: 'party_offset', severity: 'warning', message: `the parties' recordings start ${Math.round(Math.abs(t - c) / 1000)} ms apart` });
  }
  for (const name of o.unknownFiles) {
    issues.push({ code: 'unknown_file', severity: 'warning', file: name, message: `an unexpected file in the recording folder, sealed as it is` });
  }
  return issues;
}

/** Complete = nothing worse than information (segment breaks) was found. */
export function isComplete(issues: readonly RecordingIssue[]): boolean {
  return !issues.some((i) => i.severity !== 'info');
}
