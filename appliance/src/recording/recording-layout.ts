/**
 * The recording folder's layout: Janus writes each publisher's streams into `<recordings>/<sessionId>/` as
 * `<party>-s<NN>-<audio|video>[-<mindex>].mjr` (NN = segment: 01, then one more for each reconnect; Janus 1.x
 * appends the m-line index), `.mjr.tmp` while it is still writing. Pure functions only.
 */

export const PARTIES = ['teller', 'customer'] as const;
export type Party = (typeof PARTIES)[number];
export type StreamKind = 'audio' | 'video';

export interface StreamFile {
  party: Party;
  segment: number;
  kind: StreamKind;
  /** file name in the session folder */
  name: string;
  /** still named .mjr.tmp: Janus has not closed it (still writing, or it stopped without closing) */
  open: boolean;
}

/** Segment numbers have two digits: a party's recordings of one session are numbered 01 to 99, never more. */
export const MAX_SEGMENT = 99;
const STREAM_FILE = /^(teller|customer)-s(\d{2})-(audio|video)(?:-(\d+))?\.mjr(\.tmp)?$/;

/**
 * The base name the hub gives Janus for a party's segment, `<party>-s<NN>`: exactly what parseStreamFileName reads
 * back (two digits, 01..MAX_SEGMENT). A segment outside that range has no name.
 */
export function streamBaseName(party: Party, segment: number): string {
  if (!Number.isInteger(segment) || segment < 1 || segment > MAX_SEGMENT) throw new RangeError(`segment ${segment} is outside 1..${MAX_SEGMENT}`);
  return `${party}-s${String(segment).padStart(2, '0')}`;
}

export function parseStreamFileName(name: string): StreamFile | null {
  const m = STREAM_FILE.exec(name);
  if (!m) return null;
  const segment = Number(m[2]);
  if (segment < 1) return null;
  return { party: m[1] as Party, segment, kind: m[3] as StreamKind, name, open: m[5] !== undefined };
}

export interface SegmentFiles {
  party: Party;
  segment: number;
  audio: StreamFile | null;
  video: StreamFile | null;
  /** further files of the same party/segment/kind (several m-lines of one kind): kept, reported, not merged */
  extra: StreamFile[];
}

/** Groups a folder listing by party and segment, ordered teller first, then by segment. Unknown names are returned apart. */
export function groupStreams(names: readonly string[]): { segments: SegmentFiles[]; unknown: string[] } {
  const segments = new Map<string, SegmentFiles>();
  const unknown: string[] = [];
  // a closed .mjr wins over a leftover .mjr.tmp of the same stream
  const sorted = [...names].sort((a, b) => (a.endsWith('.tmp') ? 1 : 0) - (b.endsWith('.tmp') ? 1 : 0) || a.localeCompare(b));
  for (const name of sorted) {
    const f = parseStreamFileName(name);
    if (!f) {
      unknown.push(name);
      continue;
    }
    const key = `${f.party}/${f.segment}`;
    let s = segments.get(key);
    if (!s) {
      s = { party: f.party, segment: f.segment, audio: null, video: null, extra: [] };
      segments.set(key, s);
    }
    const same = s[f.kind];
    if (!same) s[f.kind] = f;
    else if (same.name.replace(/\.tmp$/, '') !== f.name.replace(/\.tmp$/, '')) s.extra.push(f);
  }
  const order = (p: Party) => PARTIES.indexOf(p);
  return {
    segments: [...segments.values()].sort((a, b) => order(a.party) - order(b.party) || a.segment - b.segment),
    unknown,
  };
}

/** A segment's label in reports and in its sealed file's name: the same `<party>-s<NN>` as the streams Janus writes. */
export const segmentLabel = streamBaseName;

/** The sealed media file of one party segment (WebM: VP8 + Opus, stream copy). */
export function mediaFileName(party: Party, segment: number): string {
  return `${segmentLabel(party, segment)}.webm`;
}

export const MANIFEST_FILE = 'manifest.json';
export const SEALED_SUFFIX = '.kseal';
export const KEY_FILE = 'key.json';
