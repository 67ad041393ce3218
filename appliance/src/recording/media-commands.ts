/**
 * Command lines for janus-pp-rec, ffmpeg and ffprobe, and parsers of what they print. Pure: the runner
 * (media-tools.ts) executes them. Nothing is re-encoded: the sealed media are Janus's original RTP payloads,
 * depacketised and remuxed.
 */

/** `janus-pp-rec -e`: the .mjr header plus a packet count and duration, as one JSON line. */
export function mjrInfoArgs(mjr: string): string[] {
  return ['-e', mjr];
}

/** `janus-pp-rec` depacketises one stream into its natural container (.opus for Opus, .webm for VP8). */
export function mjrConvertArgs(mjr: string, out: string): string[] {
  return ['-o', '-d', '3', mjr, out];
}

export interface MjrInfo {
  kind: 'audio' | 'video' | 'data';
  codec: string;
  /** recorder created (µs since the epoch) */
  createdUs: number;
  /** first packet written (µs since the epoch): the stream's wall-clock start */
  firstPacketUs: number;
  packets: number;
  durationMs: number;
}

/** Parses `janus-pp-rec -e` output; null when it printed no header (an 8-byte or damaged file). */
export function parseMjrInfo(stdout: string): MjrInfo | null {
  const line = stdout.trim().split('\n').find((l) => l.startsWith('{'));
  if (!line) return null;
  let j: { t?: unknown; c?: unknown; s?: unknown; u?: unknown; extended?: { packets?: unknown; duration?: unknown } };
  try {
    j = JSON.parse(line) as typeof j;
  } catch {
    return null;
  }
  const kind = j.t === 'a' ? 'audio' : j.t === 'v' ? 'video' : j.t === 'd' ? 'data' : null;
  if (!kind || typeof j.c !== 'string' || typeof j.s !== 'number' || typeof j.u !== 'number') return null;
  const packets = typeof j.extended?.packets === 'number' ? j.extended.packets : 0;
  const duration = typeof j.extended?.duration === 'number' ? j.extended.duration : 0;
  return { kind, codec: j.c, createdUs: j.s, firstPacketUs: j.u, packets, durationMs: Math.round(duration * 1000) };
}

export interface MergeInput {
  path: string;
  /** delay of this stream relative to the earlier of the two, in microseconds (≥ 0) */
  offsetUs: number;
}

function seconds(us: number): string {
  return (us / 1e6).toFixed(6);
}

/**
 * One party segment's audio and video into one WebM by stream copy, each shifted by its offset so both keep
 * their wall-clock alignment; cues (the seek index) at the front so a player seeks with few Range requests.
 */
export function mergeArgs(o: { video: MergeInput | null; audio: MergeInput | null; out: string }): string[] {
  if (!o.video && !o.audio) throw new Error('nothing to merge');
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'];
  const maps: string[] = [];
  let i = 0;
  for (const [input, kind] of [
    [o.video, 'v'],
    [o.audio, 'a'],
  ] as const) {
    if (!input) continue;
    args.push('-itsoffset', seconds(input.offsetUs), '-i', input.path);
    maps.push('-map', `${i}:${kind}:0`);
    i += 1;
  }
  return [...args, ...maps, '-c', 'copy', '-cues_to_front', '1', '-f', 'webm', o.out];
}

export function ffprobeArgs(path: string): string[] {
  return ['-v', 'error', '-show_entries', 'format=duration,format_name:stream=index,codec_type,codec_name,start_time,duration', '-of', 'json', path];
}

export interface ProbeResult {
  formatName: string;
  durationMs: number;
  streams: Array<{ type: string; codec: string; startMs: number | null }>;
}

export function parseFfprobe(stdout: string): ProbeResult {
  const j = JSON.parse(stdout) as {
    format?: { duration?: string; format_name?: string };
    streams?: Array<{ codec_type?: string; codec_name?: string; start_time?: string }>;
  };
  const num = (s: string | undefined) => (s !== undefined && s !== 'N/A' && Number.isFinite(Number(s)) ? Number(s) : null);
  return {
    formatName: j.format?.format_name ?? '',
    durationMs: Math.round((num(j.format?.duration) ?? 0) * 1000),
    streams: (j.streams ?? []).map((s) => {
      const start = num(s.start_time);
      return { type: s.codec_type ?? '', codec: s.codec_name ?? '', startMs: start === null ? null : Math.round(start * 1000) };
    }),
  };
}

/** The natural output of janus-pp-rec for a codec (no transcoding is possible there). */
export function depacketisedExtension(codec: string): string | null {
  switch (codec.toLowerCase()) {
    case 'opus':
      return 'opus';
    case 'vp8':
    case 'vp9':
      return 'webm';
    default:
      return null;
  }
}

/**
 * A reason fit for the status page and the audit log from a tool's failure: exit code and the last meaningful
 * stderr line, with the recording's paths reduced to file names.
 */
export function toolFailureReason(tool: string, code: number | null, signal: string | null, stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const last = lines.filter((l) => /error|no space|denied|invalid|failed|not found/i.test(l)).pop() ?? lines.pop() ?? '';
  const clean = last.replace(/(\/[^\s/:'"]+)+\/([^\s/:'"]+)/g, '$2').slice(0, 300);
  const how = signal ? `killed by ${signal}` : `exit code ${code}`;
  const disk = /no space left on device/i.test(stderr) ? 'disk full: ' : '';
  return `${disk}${tool} failed (${how})${clean ? `: ${clean}` : ''}`;
}
