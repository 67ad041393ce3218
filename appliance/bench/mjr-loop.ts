// Long .mjr inputs for the seal benchmark without a long call: the RTP packets of a short real Janus recording,
// repeated with RTP sequence numbers, RTP timestamps and .mjr arrival times continued, so janus-pp-rec and ffmpeg
// see one long, continuous stream (the stream starts with a key frame, so every repetition does too).
import { open, readFile } from 'node:fs/promises';

interface Frame {
  /** ms since the first frame */
  at: number;
  rtp: Buffer;
}

export function parseMjr(buf: Buffer): { header: Record<string, unknown>; frames: Frame[] } {
  if (buf.subarray(0, 8).toString('latin1') !== 'MJR00002') throw new Error('not an MJR00002 file');
  const len = buf.readUInt16BE(8);
  const header = JSON.parse(buf.subarray(10, 10 + len).toString('utf8')) as Record<string, unknown>;
  const frames: Frame[] = [];
  let off = 10 + len;
  while (off + 10 <= buf.length) {
    if (buf.subarray(off, off + 4).toString('latin1') !== 'MEET') throw new Error(`bad frame header at ${off}`);
    const at = buf.readUInt32BE(off + 4);
    const size = buf.readUInt16BE(off + 8);
    frames.push({ at, rtp: buf.subarray(off + 10, off + 10 + size) });
    off += 10 + size;
  }
  return { header, frames };
}

/**
 * Writes `out` as `source` repeated until it lasts `seconds`, starting at `startUs` (µs since the epoch). Returns
 * the duration written.
 */
export async function loopMjr(source: string, out: string, seconds: number, startUs: number): Promise<{ frames: number; durationMs: number }> {
  const { header, frames } = parseMjr(await readFile(source));
  if (frames.length < 2) throw new Error('source has too few frames');
  const clock = header.t === 'a' ? 48_000 : 90_000;
  const first = frames[0]!.rtp;
  const seq0 = first.readUInt16BE(2);
  const ts0 = first.readUInt32BE(4);
  const seqOff = (f: Frame) => (f.rtp.readUInt16BE(2) - seq0 + 0x10000) & 0xffff;
  const tsOff = (f: Frame) => (f.rtp.readUInt32BE(4) - ts0) >>> 0;
  // one repetition spans past the source's last sequence number, timestamp and arrival time
  const seqSpan = Math.max(...frames.map(seqOff)) + 1;
  const frameTs = Math.round(clock / (header.t === 'a' ? 50 : 20));
  const spanTs = Math.max(...frames.map(tsOff)) + frameTs;
  const spanMs = Math.max(Math.max(...frames.map((f) => f.at)) + 20, Math.round((spanTs / clock) * 1000));
  const h = Buffer.from(JSON.stringify({ ...header, s: startUs - 20_000, u: startUs }), 'utf8');
  const fh = await open(out, 'w', 0o600);
  let written = 0;
  let durationMs = 0;
  try {
    const head = Buffer.alloc(10);
    head.write('MJR00002', 0, 'latin1');
    head.writeUInt16BE(h.length, 8);
    await fh.write(Buffer.concat([head, h]));
    const parts: Buffer[] = [];
    let pending = 0;
    for (let rep = 0; rep * spanMs < seconds * 1000; rep++) {
      for (const f of frames) {
        const at = rep * spanMs + f.at;
        if (at > seconds * 1000) break;
        const rtp = Buffer.from(f.rtp);
        rtp.writeUInt16BE((seq0 + seqOff(f) + rep * seqSpan) & 0xffff, 2);
        rtp.writeUInt32BE((ts0 + tsOff(f) + rep * spanTs) >>> 0, 4);
        const fr = Buffer.alloc(10);
        fr.write('MEET', 0, 'latin1');
        fr.writeUInt32BE(at, 4);
        fr.writeUInt16BE(rtp.length, 8);
        parts.push(fr, rtp);
        pending += fr.length + rtp.length;
        written += 1;
        durationMs = at;
        if (pending > 1 << 20) {
          await fh.write(Buffer.concat(parts));
          parts.length = 0;
          pending = 0;
        }
      }
    }
    if (parts.length) await fh.write(Buffer.concat(parts));
  } finally {
    await fh.close();
  }
  return { frames: written, durationMs };
}
