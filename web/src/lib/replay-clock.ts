// One clock for the two-party replay: the master time t (seconds since the recording's start) and, per party,
// the file segment that t falls in and the position in it (t minus the segment's offset from the manifest).
import type { ReplayParty } from '$lib/archive-api.js';

/** Seconds a video may drift from the master clock before it is re-seeked. */
export const MAX_DRIFT = 0.15;

export interface Segment {
  url: string;
  segment: number;
  /** seconds from the recording's start */
  offset: number;
  /** seconds; Infinity when the manifest does not know */
  duration: number;
}

export function segmentsOf(parties: readonly ReplayParty[], party: 'teller' | 'customer'): Segment[] {
  return parties
    .filter((p) => p.party === party)
    .map((p) => ({ url: p.url, segment: p.segment, offset: (p.offsetMs ?? 0) / 1000, duration: p.durationMs === null ? Infinity : p.durationMs / 1000 }))
    .sort((a, b) => a.offset - b.offset);
}

/** The whole replay's length: the latest end of any segment (a segment of unknown length counts from its start). */
export function totalDuration(segments: readonly Segment[]): number {
  return segments.reduce((max, s) => Math.max(max, s.offset + (Number.isFinite(s.duration) ? s.duration : 0)), 0);
}

export interface Placement {
  segment: Segment;
  /** where in the segment's file: clamped to it */
  position: number;
  /** t lies inside the segment: the video plays; otherwise it waits (before its start) or rests at its end */
  active: boolean;
}

/** The segment a party's video shows at master time t: the one t lies in, else the next to start, else the last. */
export function placementAt(segments: readonly Segment[], t: number): Placement | null {
  if (segments.length === 0) return null;
  for (const s of segments) {
    if (t < s.offset) return { segment: s, position: 0, active: false };
    if (t < s.offset + s.duration) return { segment: s, position: t - s.offset, active: true };
  }
  const last = segments[segments.length - 1]!;
  return { segment: last, position: Number.isFinite(last.duration) ? last.duration : 0, active: false };
}

export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}
