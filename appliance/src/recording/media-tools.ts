import { spawn } from 'node:child_process';
import { ffprobeArgs, mergeArgs, mjrConvertArgs, mjrInfoArgs, parseFfprobe, parseMjrInfo, toolFailureReason, type MergeInput, type MjrInfo, type ProbeResult } from './media-commands.js';

/** A media tool failed; `message` is safe to show on the status page and to put into the audit log. */
export class MediaToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaToolError';
  }
}

export interface MediaToolPaths {
  ffmpeg: string;
  ffprobe: string;
  janusPpRec: string;
}

const STDERR_KEEP = 16 * 1024;

function runTool(tool: string, bin: string, args: string[], timeoutMs: number, onLine?: (line: string) => void): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (!onLine) {
        stdout += d;
        return;
      }
      // A long-running tool's stdout is a stream of lines consumed as they come, not kept.
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_KEEP);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new MediaToolError(`${tool} could not be started (${(err as NodeJS.ErrnoException).code ?? err.message})`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new MediaToolError(toolFailureReason(tool, code, signal, stderr)));
    });
  });
}

/** The media tools behind one small adapter: janus-pp-rec, ffmpeg, ffprobe. */
export class MediaTools {
  constructor(
    private readonly paths: MediaToolPaths,
    /** a hung tool is killed after this long (scaled by the media's size by callers where it matters) */
    private readonly timeoutMs = 30 * 60_000,
  ) {}

  async mjrInfo(mjr: string): Promise<MjrInfo | null> {
    const { stdout } = await runTool('janus-pp-rec', this.paths.janusPpRec, mjrInfoArgs(mjr), this.timeoutMs);
    return parseMjrInfo(stdout);
  }

  /** janus-pp-rec exits 0 even when it could not process a file: its output is checked with ffprobe instead. */
  async depacketise(mjr: string, out: string): Promise<void> {
    const { stderr } = await runTool('janus-pp-rec', this.paths.janusPpRec, mjrConvertArgs(mjr, out), this.timeoutMs);
    if (/\[ERR\]/.test(stderr)) throw new MediaToolError(toolFailureReason('janus-pp-rec', 0, null, stderr));
  }

  async merge(o: { video: MergeInput | null; audio: MergeInput | null; out: string }): Promise<void> {
    await runTool('ffmpeg', this.paths.ffmpeg, mergeArgs(o), this.timeoutMs);
  }

  /** ffmpeg with `-progress pipe:1` among `args`: each progress line goes to `onLine` as it is printed. */
  async ffmpegWithProgress(args: string[], onLine: (line: string) => void): Promise<void> {
    await runTool('ffmpeg', this.paths.ffmpeg, args, this.timeoutMs, onLine);
  }

  async probe(path: string): Promise<ProbeResult> {
    const { stdout } = await runTool('ffprobe', this.paths.ffprobe, ffprobeArgs(path), this.timeoutMs);
    try {
      return parseFfprobe(stdout);
    } catch {
      throw new MediaToolError('ffprobe printed something that is not JSON');
    }
  }
}
