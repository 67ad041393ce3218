import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathExists } from '@kyc/compliance';
import { hasMedia, type InspectedSegment, type RecordingIssue } from './completeness.js';
import { depacketisedExtension } from './media-commands.js';
import { MediaToolError, type MediaTools } from './media-tools.js';
import type { MediaEntry } from './manifest.js';
import { mediaFileName, segmentLabel } from './recording-layout.js';

/*
 * The seal's convert step, stream by stream: janus-pp-rec depacketises each .mjr, ffmpeg merges a party segment's
 * audio and video by stream copy. Outputs are renamed into place only when complete, so a resumed attempt skips
 * what is done.
 */

/** a depacketised or merged file may be this much shorter than its .mjr says (packetisation, last frame) */
const TRUNCATION_TOLERANCE_MS = 1_000;

export interface Converted {
  label: string;
  segment: InspectedSegment;
  path: string;
  entry: Omit<MediaEntry, 'plaintext' | 'ciphertext'>;
  /** audio-video misalignment left after the merge (ms), for the operators' metric; null without both */
  avSkewMs: number | null;
}

/** Produces `out` via `make(partial)` unless it exists already: an output exists only once complete. */
async function produce(out: string, partial: string, make: (partial: string) => Promise<void>): Promise<void> {
  if (await pathExists(out)) return;
  await rm(partial, { force: true });
  await make(partial);
  await rename(partial, out);
}

/**
 * One party segment's audio and video, depacketised by janus-pp-rec; a stream without media or with a codec that
 * cannot be remuxed goes to `rawSources` (sealed as it is) instead.
 */
export async function depacketiseSegment(
  tools: MediaTools,
  sessionDir: string,
  work: string,
  seg: InspectedSegment,
  rawSources: Array<{ source: string; reason: string }>,
  issues: RecordingIssue[],
): Promise<{ audio: string | null; video: string | null }> {
  const label = segmentLabel(seg.party, seg.segment);
  const parts: { audio: string | null; video: string | null } = { audio: null, video: null };
  for (const kind of ['audio', 'video'] as const) {
    const s = seg[kind];
    if (!s) continue;
    const ext = s.info ? depacketisedExtension(s.info.codec) : null;
    if (!hasMedia(s) || s.info.kind !== kind || !ext) {
      rawSources.push({ source: s.file.name, reason: hasMedia(s) ? `codec ${s.info.codec} is not supported for ${kind}` : 'no media' });
      if (hasMedia(s) && !ext) {
        issues.push({
          code: 'stream_unusable',
          severity: 'error',
          party: seg.party,
          segment: seg.segment,
          file: s.file.name,
          message: `${label}: codec ${s.info.codec} cannot be remuxed; sealed as it is`,
        });
      }
      continue;
    }
    const out = join(work, `${label}-${kind}.${ext}`);
    await produce(out, join(work, `${label}-${kind}.partial.${ext}`), async (p) => {
      await tools.depacketise(join(sessionDir, s.file.name), p);
      // janus-pp-rec reports some write failures (a full disk) only as a short file: compare with the .mjr
      const got = await tools.probe(p);
      if (got.durationMs < s.info.durationMs - TRUNCATION_TOLERANCE_MS) {
        throw new MediaToolError(`janus-pp-rec wrote ${got.durationMs} ms of the ${s.info.durationMs} ms in ${s.file.name} (disk full or damaged input)`);
      }
    });
    parts[kind] = out;
  }
  return parts;
}

/** Merges a party segment's depacketised audio and video into one WebM (ffmpeg stream copy) and checks the result. */
export async function mergeSegment(tools: MediaTools, work: string, seg: InspectedSegment, parts: { audio: string | null; video: string | null }, base: number): Promise<Converted> {
  const label = segmentLabel(seg.party, seg.segment);
  const a = parts.audio ? seg.audio!.info!.firstPacketUs : null;
  const v = parts.video ? seg.video!.info!.firstPacketUs : null;
  const start = Math.min(...[a, v].filter((x): x is number => x !== null));
  const name = mediaFileName(seg.party, seg.segment);
  const merged = join(work, name);
  const expectMs = Math.max(...[seg.audio, seg.video].filter((x) => x && parts[x.file.kind]).map((x) => x!.info!.durationMs));
  await produce(merged, join(work, `${label}.partial.webm`), async (p) => {
    await tools.merge({
      video: parts.video ? { path: parts.video, offsetUs: v! - start } : null,
      audio: parts.audio ? { path: parts.audio, offsetUs: a! - start } : null,
      out: p,
    });
    const got = await tools.probe(p);
    if (got.durationMs < expectMs - TRUNCATION_TOLERANCE_MS) throw new MediaToolError(`ffmpeg wrote ${got.durationMs} ms of ${expectMs} ms for ${name} (disk full or damaged input)`);
  });
  const probe = await tools.probe(merged);
  const videoCodec = probe.streams.find((s) => s.type === 'video')?.codec ?? null;
  const audioCodec = probe.streams.find((s) => s.type === 'audio')?.codec ?? null;
  if ((parts.video && !videoCodec) || (parts.audio && !audioCodec)) throw new MediaToolError(`ffmpeg wrote ${name} without its ${parts.video && !videoCodec ? 'video' : 'audio'}`);
  // what the merge left of audio-video misalignment: the streams' starts in the output vs the offset asked for
  const audioStart = probe.streams.find((s) => s.type === 'audio')?.startMs ?? null;
  const videoStart = probe.streams.find((s) => s.type === 'video')?.startMs ?? null;
  const avSkewMs = a !== null && v !== null && audioStart !== null && videoStart !== null ? audioStart - videoStart - Math.round((a - v) / 1000) : null;
  return {
    avSkewMs,
    label,
    segment: seg,
    path: merged,
    entry: {
      name,
      party: seg.party,
      segment: seg.segment,
      container: 'webm',
      codecs: { video: videoCodec, audio: audioCodec },
      startedAt: new Date(start / 1000).toISOString(),
      offsetMs: Math.round((start - base) / 1000),
      avOffsetMs: a !== null && v !== null ? Math.round((a - v) / 1000) : null,
      durationMs: probe.durationMs,
    },
  };
}
