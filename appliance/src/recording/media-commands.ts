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
  const line = stdout
    .trim()
    .split('\n')
    .find((l) => l.startsWith('{'));
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

export interface CompositeSegment {
  /** the segment's merged WebM */
  path: string;
  /** start of the segment (its earlier stream) on the recording's timeline, in ms */
  startMs: number;
  durationMs: number;
  /** start of each stream within the segment (ms after `startMs`); null when the segment lacks that stream */
  videoDelayMs: number | null;
  audioDelayMs: number | null;
}

export interface CompositeParty {
  /** burned in under the party's picture; plain words only (it is written into the filter graph) */
  label: string;
  segments: readonly CompositeSegment[];
}

export interface CompositeOptions {
  left: CompositeParty;
  right: CompositeParty;
  /** length of the export (the recording's timeline), in ms */
  totalMs: number;
  /** wall-clock time of the timeline's origin, in seconds since the epoch */
  epochSeconds: number;
  /** drawtext text files: the clock (expanded), and the watermark (shown verbatim, so user text cannot inject) */
  clockTextFile: string;
  watermarkTextFile: string;
  /** the customer's consented location, or its refusal (R17), shown verbatim under the clock */
  locationTextFile?: string;
  fontFile: string;
  out: string;
  width?: number;
  height?: number;
  fps?: number;
}

const ms2s = (ms: number): string => (Math.max(0, ms) / 1000).toFixed(3);

/** The text of the clock file: UTC wall-clock time of each frame, from the timeline origin. */
export function compositeClockText(epochSeconds: number): string {
  return `%{pts:gmtime:${epochSeconds.toFixed(3)}:%Y-%m-%d %H\\:%M\\:%S} UTC`;
}

/**
 * Both parties side by side in sync, on the recording's timeline: each party's segments are placed at their offsets
 * (black picture / silence in the gaps, e.g. before a reconnect), scaled into equal tiles, labelled and stacked;
 * a wall-clock overlay, a watermark and the customer's location (or its refusal) on top; audio of both mixed without normalisation. H.264 + AAC in an MP4
 * with the index in front (faststart); progress as key=value lines on stdout.
 */
export function compositeExportArgs(o: CompositeOptions): string[] {
  const w = o.width ?? 640;
  const h = o.height ?? 480;
  const fps = o.fps ?? 15;
  const total = ms2s(o.totalMs);
  if (!/^[A-Za-z0-9 ]{1,40}$/.test(o.left.label) || !/^[A-Za-z0-9 ]{1,40}$/.test(o.right.label)) throw new Error('party labels are plain words');
  const inputs: string[] = [];
  const graph: string[] = [];
  const font = `fontfile=${o.fontFile}`;
  const audioOuts: string[] = [];
  [o.left, o.right].forEach((party, p) => {
    const vParts: string[] = [];
    const aParts: string[] = [];
    let vEnd = 0;
    let aEnd = 0;
    for (const seg of [...party.segments].sort((a, b) => a.startMs - b.startMs)) {
      const i = inputs.length / 2;
      inputs.push('-i', seg.path);
      const end = seg.startMs + seg.durationMs;
      if (seg.videoDelayMs !== null) {
        const at = seg.startMs + seg.videoDelayMs;
        const label = `v${p}_${vParts.length}`;
        graph.push(
          `[${i}:v:0]setpts=PTS-STARTPTS,fps=${fps},scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p,` +
            `tpad=start_duration=${ms2s(at - vEnd)}:color=black[${label}]`,
        );
        vParts.push(`[${label}]`);
        vEnd = Math.max(vEnd, end);
      }
      if (seg.audioDelayMs !== null) {
        const at = seg.startMs + seg.audioDelayMs;
        const label = `a${p}_${aParts.length}`;
        graph.push(`[${i}:a:0]asetpts=PTS-STARTPTS,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,` + `adelay=delays=${Math.round(Math.max(0, at - aEnd))}:all=1[${label}]`);
        aParts.push(`[${label}]`);
        aEnd = Math.max(aEnd, end);
      }
    }
    const tile = `drawtext=${font}:text=${party.label}:fontsize=24:fontcolor=white:box=1:boxcolor=black@0.5:boxborderw=6:x=10:y=h-th-16`;
    if (vParts.length === 0) graph.push(`color=c=black:s=${w}x${h}:r=${fps}:d=${total},format=yuv420p,${tile}[tile${p}]`);
    else {
      const joined = vParts.length === 1 ? vParts[0]! : `${vParts.join('')}concat=n=${vParts.length}:v=1:a=0,`;
      graph.push(`${joined}tpad=stop=-1:color=black,trim=duration=${total},${tile}[tile${p}]`);
    }
    if (aParts.length > 0) {
      graph.push(`${aParts.join('')}${aParts.length === 1 ? 'anull' : `concat=n=${aParts.length}:v=0:a=1`}[aud${p}]`);
      audioOuts.push(`[aud${p}]`);
    }
  });
  graph.push(
    `[tile0][tile1]hstack=inputs=2,` +
      `drawtext=${font}:textfile=${o.clockTextFile}:expansion=normal:fontsize=24:fontcolor=white:box=1:boxcolor=black@0.5:boxborderw=6:x=10:y=10,` +
      `drawtext=${font}:textfile=${o.watermarkTextFile}:expansion=none:fontsize=18:fontcolor=white@0.85:box=1:boxcolor=black@0.4:boxborderw=6:x=10:y=50` +
      (o.locationTextFile ? `,drawtext=${font}:textfile=${o.locationTextFile}:expansion=none:fontsize=20:fontcolor=white:box=1:boxcolor=black@0.5:boxborderw=6:x=10:y=84` : '') +
      '[vout]',
  );
  if (audioOuts.length === 2) graph.push(`${audioOuts.join('')}amix=inputs=2:normalize=0:duration=longest,apad,atrim=duration=${total}[aout]`);
  else if (audioOuts.length === 1) graph.push(`${audioOuts[0]}apad,atrim=duration=${total}[aout]`);
  else graph.push(`anullsrc=r=48000:cl=stereo,atrim=duration=${total}[aout]`);
  return [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostats',
    '-y',
    ...inputs,
    '-filter_complex',
    graph.join(';'),
    '-map',
    '[vout]',
    '-map',
    '[aout]',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '23',
    '-pix_fmt',
    'yuv420p',
    '-r',
    String(fps),
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    '-t',
    total,
    '-movflags',
    '+faststart',
    '-progress',
    'pipe:1',
    '-f',
    'mp4',
    o.out,
  ];
}

/** The customer's location as burned into an export (R17): coordinates with consent, or why there are none. */
export function exportLocationText(g: { consent: string; latitude?: number | null; longitude?: number | null; accuracyM?: number | null; receivedAt?: string | null } | null): string {
  if (!g) return 'Location: not given';
  if (g.consent !== 'granted' || typeof g.latitude !== 'number' || typeof g.longitude !== 'number') {
    return g.consent === 'refused' ? 'Location: refused by the customer' : 'Location: unavailable';
  }
  const lat = `${Math.abs(g.latitude).toFixed(5)} ${g.latitude >= 0 ? 'N' : 'S'}`;
  const lon = `${Math.abs(g.longitude).toFixed(5)} ${g.longitude >= 0 ? 'E' : 'W'}`;
  const acc = typeof g.accuracyM === 'number' ? ` +/-${Math.round(g.accuracyM)} m` : '';
  const at = g.receivedAt ? `, received ${g.receivedAt.slice(0, 19).replace('T', ' ')} UTC` : '';
  return `Location: ${lat}, ${lon}${acc} (consented${at})`;
}

/** Fraction done from ffmpeg's `-progress` output (`out_time_ms` is in microseconds despite its name). */
export function progressFraction(line: string, totalMs: number): number | null {
  const m = /^out_time_(?:ms|us)=(\d+)$/.exec(line.trim());
  if (!m || totalMs <= 0) return null;
  return Math.min(1, Number(m[1]) / 1000 / totalMs);
}
