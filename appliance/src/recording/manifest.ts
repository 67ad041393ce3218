import type { MediaMode } from '../domain/vocabulary.js';
import { createHash } from 'node:crypto';
import { canonicalJson } from '@kyc/compliance';
import { hasMedia, isComplete, type InspectedSegment, type RecordingIssue } from './completeness.js';
import type { Party } from './recording-layout.js';

/**
 * The manifest of a sealed recording: who, when, what was recorded, how the streams align, what each file
 * holds (with the plaintext's SHA-256), markers of the session, and every completeness issue. Serialised as
 * RFC 8785 canonical JSON; its SHA-256 goes into the `recording.sealed` audit event. Sealed like the media.
 */

export const MANIFEST_FORMAT = 'kyc-recording-manifest/1';

export interface FileDigest {
  bytes: number;
  sha256: string;
}

export interface MediaEntry {
  name: string;
  party: Party;
  segment: number;
  container: 'webm';
  codecs: { video: string | null; audio: string | null };
  /** wall-clock start of the segment (its earlier stream), ISO-8601 with microseconds */
  startedAt: string;
  /** start relative to the recording's time base (the earliest stream of the session) */
  offsetMs: number;
  /** start of the audio relative to the video in this file (positive: audio later) */
  avOffsetMs: number | null;
  durationMs: number;
  plaintext: FileDigest;
  ciphertext: FileDigest & { name: string };
}

export interface RawEntry {
  /** the original file name in the recording folder */
  source: string;
  reason: string;
  plaintext: FileDigest;
  ciphertext: FileDigest & { name: string };
}

export interface Marker {
  at: string;
  /** relative to the recording's time base */
  offsetMs: number;
  party: 'teller' | 'customer' | 'system';
  kind: string;
  data: Record<string, unknown>;
  /** the marker's position in each party's media */
  media: MarkerMedia[];
}

/** A marker's position in one party's media file. */
export interface MarkerMedia {
  party: Party;
  segment: number;
  /** from the start of that party's file of this segment */
  offsetMs: number;
}

/**
 * An identity still taken during the session (ID sides, face frames, liveness key frames). The still itself stays
 * where it is kept, encrypted with the case's personal data; the manifest seals its SHA-256 and what it served, so
 * an export that carries it (or anyone holding it) can be checked against the sealed recording.
 */
export interface IdentityStillEntry {
  id: string;
  kind: string;
  frameIndex: number;
  at: string;
  /** relative to the recording's time base */
  offsetMs: number;
  mediaType: string;
  width: number;
  height: number;
  bytes: number;
  sha256: string;
  /** ID sides: the teller's decision */
  decision: string | null;
  /** what it was used for: `face-reference`, `face-probe`, `liveness` (with the challenge's position) */
  usedFor: string[];
  liveness: { checkId: string; challenge: number } | null;
}

export interface ManifestInput {
  recordingId: string;
  sessionId: string;
  caseId: string;
  teller: string;
  /** how the customer took part (video when not given) */
  customerMedia?: MediaMode;
  session: { admittedAt: Date; endedAt: Date | null; endReason: string | null };
  segments: readonly InspectedSegment[];
  media: readonly MediaEntry[];
  raw: readonly RawEntry[];
  markers: ReadonlyArray<{ at: Date; party: Marker['party']; kind: string; data: Record<string, unknown> }>;
  issues: readonly RecordingIssue[];
  identityStills?: ReadonlyArray<Omit<IdentityStillEntry, 'offsetMs'>>;
  encryption: { format: string; segmentSize: number; kid: string };
  sealedAt: Date;
}

/** One stream Janus recorded (a .mjr file), as inspected when sealing. */
export interface StreamEntry {
  party: Party;
  segment: number;
  kind: string;
  source: string;
  closed: boolean;
  bytes: number;
  codec: string | null;
  createdAt: string | null;
  startedAt: string | null;
  /** relative to the recording's time base; null when the stream has no packets */
  offsetMs: number | null;
  packets: number;
  durationMs: number;
}

/** The sealed manifest, as `buildManifest` writes it: the one declaration of its shape. */
// A type alias, not an interface: it stays assignable to the repository's `Record<string, unknown>` (jsonb).
export type SealedManifest = {
  format: typeof MANIFEST_FORMAT;
  recordingId: string;
  sessionId: string;
  caseId: string;
  parties: ReadonlyArray<{ party: Party; username: string | null }>;
  /** how the customer took part: video, voice only (no video stream) or text only (no customer media); absent in
   * manifests sealed before media modes, which read as video (see `customerMediaOf`) */
  customerMedia?: MediaMode;
  session: { admittedAt: string; endedAt: string | null; endReason: string | null; durationMs: number | null };
  /** the earliest stream's start, ISO-8601 with microseconds: every `offsetMs` counts from it */
  timeBase: string;
  streams: readonly StreamEntry[];
  files: readonly MediaEntry[];
  raw: readonly RawEntry[];
  markers: readonly Marker[];
  identityStills: readonly IdentityStillEntry[];
  issues: readonly RecordingIssue[];
  complete: boolean;
  encryption: ManifestInput['encryption'];
  sealedAt: string;
};

/**
 * A manifest as the database holds it (`recordings.manifest`) for readers: any part may be missing, as in manifests
 * sealed before it was added.
 */
export type StoredManifest = Partial<SealedManifest>;

/** ISO-8601 UTC with microseconds from µs since the epoch (the .mjr headers' resolution). */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const micro = String(Math.round(us - ms * 1000)).padStart(3, '0');
  return new Date(ms).toISOString().replace('Z', `${micro}Z`);
}

/** The earliest first-packet time of any stream, or the session start when nothing was recorded. */
export function timeBaseUs(segments: readonly InspectedSegment[], fallback: Date): number {
  const starts = segments
    .flatMap((s) => [s.audio, s.video])
    .filter(hasMedia)
    .map((s) => s.info.firstPacketUs);
  return starts.length ? Math.min(...starts) : fallback.getTime() * 1000;
}

/**
 * Where a moment (ms from the time base) falls in each party's media: the file holding it and the position in that
 * file, so a replay of either party can seek to a marker. A party whose media does not cover the moment is left out.
 */
export function mediaOffsets(offsetMs: number, media: readonly Pick<MediaEntry, 'party' | 'segment' | 'offsetMs' | 'durationMs'>[]): MarkerMedia[] {
  const found = new Map<Party, MarkerMedia>();
  for (const f of media) {
    const within = offsetMs - f.offsetMs;
    if (within < 0 || within > f.durationMs) continue;
    const prev = found.get(f.party);
    if (!prev || f.segment > prev.segment) found.set(f.party, { party: f.party, segment: f.segment, offsetMs: within });
  }
  return [...found.values()].sort((a, b) => a.party.localeCompare(b.party));
}

export function buildManifest(i: ManifestInput): SealedManifest {
  const base = timeBaseUs(i.segments, i.session.admittedAt);
  const streams = i.segments.flatMap((seg) =>
    [seg.audio, seg.video, ...seg.extra]
      .filter((s): s is NonNullable<typeof s> => s !== null)
      .map((s) => ({
        party: seg.party,
        segment: seg.segment,
        kind: s.file.kind,
        source: s.file.name,
        closed: !s.file.open,
        bytes: s.bytes,
        codec: s.info?.codec ?? null,
        createdAt: s.info ? isoMicros(s.info.createdUs) : null,
        startedAt: s.info && s.info.packets > 0 ? isoMicros(s.info.firstPacketUs) : null,
        offsetMs: s.info && s.info.packets > 0 ? Math.round((s.info.firstPacketUs - base) / 1000) : null,
        packets: s.info?.packets ?? 0,
        durationMs: s.info?.durationMs ?? 0,
      })),
  );
  return {
    format: MANIFEST_FORMAT,
    recordingId: i.recordingId,
    sessionId: i.sessionId,
    caseId: i.caseId,
    parties: [
      { party: 'teller', username: i.teller },
      { party: 'customer', username: null },
    ],
    customerMedia: i.customerMedia ?? 'video',
    session: {
      admittedAt: i.session.admittedAt.toISOString(),
      endedAt: i.session.endedAt?.toISOString() ?? null,
      endReason: i.session.endReason,
      durationMs: i.session.endedAt ? i.session.endedAt.getTime() - i.session.admittedAt.getTime() : null,
    },
    timeBase: isoMicros(base),
    streams,
    files: i.media,
    raw: i.raw,
    markers: i.markers.map((m) => {
      const offsetMs = Math.round(m.at.getTime() - base / 1000);
      return { at: m.at.toISOString(), offsetMs, party: m.party, kind: m.kind, data: m.data, media: mediaOffsets(offsetMs, i.media) };
    }),
    identityStills: (i.identityStills ?? []).map((s) => ({ ...s, offsetMs: Math.round(Date.parse(s.at) - base / 1000) })),
    issues: i.issues,
    complete: isComplete(i.issues),
    encryption: i.encryption,
    sealedAt: i.sealedAt.toISOString(),
  };
}

/** How the customer took part in a sealed recording; manifests from before media modes were all video. */
export function customerMediaOf(manifest: Pick<SealedManifest, 'customerMedia'>): MediaMode {
  return manifest.customerMedia ?? 'video';
}

/** The manifest's exact bytes (canonical JSON, UTF-8) and their SHA-256. */
export function encodeManifest(manifest: SealedManifest): { bytes: Buffer; sha256: string } {
  const bytes = Buffer.from(canonicalJson(manifest), 'utf8');
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}
