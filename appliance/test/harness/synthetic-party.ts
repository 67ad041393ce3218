// A synthetic call party that speaks real WebRTC without a browser: werift (a TypeScript WebRTC stack) behind the
// appliance's own signaling protocol over a real TLS WebSocket. It joins, publishes audio + video, subscribes to the
// other party, and sends pre-encoded VP8 + Opus RTP packets in a loop, so that sending costs no encoding.
//
// The media: prepareRtpLoop() encodes a short test pattern and tone once with ffmpeg (VP8 + Opus in WebM), then has
// ffmpeg packetize that file without re-encoding (-c copy -f rtp) and keeps the packets with their RTP timestamps.
// A party replays them in real time, continuing sequence numbers and timestamps across repetitions (the loop
// starts on a key frame, so every repetition does too).
//
// Media must flow over the network namespace's veth (Janus skips loopback), so parties run inside the namespace:
// startPartyHost() spawns a Node process there that runs any number of parties on command (synthetic-party-host.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import WebSocket from 'ws';
import { SIGNALING_SUBPROTOCOL, type ServerMessage } from '../../src/media/protocol.js';
import { NETNS_MEDIA_ADDRESS, type Netns } from './netns.js';

export type MediaKind = 'audio' | 'video';

export interface RtpLoopStream {
  clockRate: number;
  /** RTP packets as ffmpeg made them, each with its timestamp relative to the first */
  packets: { ts: number; rtp: Buffer }[];
}

export interface RtpLoop {
  /** length of one repetition, seconds */
  seconds: number;
  audio: RtpLoopStream;
  video: RtpLoopStream;
}

const run = (cmd: string, args: string[]): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err}`))));
  });

/**
 * Encodes `seconds` of test pattern (640×480, 15 fps, VP8 ~400 kbit/s, a key frame every 2 s) and tone (Opus
 * 32 kbit/s, 20 ms frames) into `dir`, packetizes it with ffmpeg and writes the packets to `dir/rtp-loop.json`.
 * Returns that file's path.
 */
export async function prepareRtpLoop(dir: string, seconds = 10): Promise<string> {
  const webm = join(dir, 'loop.webm');
  // prettier-ignore
  await run('ffmpeg', ['-hide_banner', '-nostdin', '-y',
    '-f', 'lavfi', '-i', `testsrc=size=640x480:rate=15:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    '-c:v', 'libvpx', '-b:v', '400k', '-deadline', 'realtime', '-cpu-used', '8', '-g', '30', '-keyint_min', '30', '-auto-alt-ref', '0',
    '-c:a', 'libopus', '-b:a', '32k', '-frame_duration', '20', '-application', 'voip', webm]);

  const sockets = { audio: createSocket('udp4'), video: createSocket('udp4') };
  const got: Record<MediaKind, Buffer[]> = { audio: [], video: [] };
  const ports = {} as Record<MediaKind, number>;
  for (const kind of ['audio', 'video'] as const) {
    const s = sockets[kind];
    s.on('message', (m) => got[kind].push(m));
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    s.setRecvBufferSize(8 * 1024 * 1024);
    ports[kind] = s.address().port;
  }
  try {
    // paced (-readrate) so that nothing is dropped on the way in
    // prettier-ignore
    await run('ffmpeg', ['-hide_banner', '-nostdin', '-readrate', '2', '-i', webm,
      '-map', '0:v', '-c', 'copy', '-payload_type', '96', '-ssrc', '1', '-f', 'rtp', `rtp://127.0.0.1:${ports.video}?pkt_size=1200`,
      '-map', '0:a', '-c', 'copy', '-payload_type', '111', '-ssrc', '2', '-f', 'rtp', `rtp://127.0.0.1:${ports.audio}?pkt_size=1200`]);
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    sockets.audio.close();
    sockets.video.close();
  }
  const stream = (kind: MediaKind, clockRate: number) => {
    const rtp = got[kind].filter((b) => b.length > 12 && !(b[1]! >= 192 && b[1]! <= 223) /* RTCP: packet types 192..223 */);
    if (rtp.length < 10) throw new Error(`ffmpeg sent ${rtp.length} ${kind} RTP packets`);
    for (let i = 1; i < rtp.length; i++) {
      if (((rtp[i]!.readUInt16BE(2) - rtp[i - 1]!.readUInt16BE(2)) & 0xffff) !== 1) throw new Error(`${kind} RTP packet ${i} lost while packetizing`);
    }
    const ts0 = rtp[0]!.readUInt32BE(4);
    return { clockRate, packets: rtp.map((b) => ({ ts: (b.readUInt32BE(4) - ts0) >>> 0, rtp: b })) };
  };
  const loop: RtpLoop = { seconds, audio: stream('audio', 48_000), video: stream('video', 90_000) };
  const file = join(dir, 'rtp-loop.json');
  const json = {
    seconds,
    audio: { clockRate: loop.audio.clockRate, packets: loop.audio.packets.map((p) => [p.ts, p.rtp.toString('base64')]) },
    video: { clockRate: loop.video.clockRate, packets: loop.video.packets.map((p) => [p.ts, p.rtp.toString('base64')]) },
  };
  await writeFile(file, JSON.stringify(json));
  return file;
}

export async function loadRtpLoop(file: string): Promise<RtpLoop> {
  type Stored = { clockRate: number; packets: [number, string][] };
  const j = JSON.parse(await readFile(file, 'utf8')) as { seconds: number; audio: Stored; video: Stored };
  const stream = (s: Stored): RtpLoopStream => ({ clockRate: s.clockRate, packets: s.packets.map(([ts, b]) => ({ ts, rtp: Buffer.from(b, 'base64') })) });
  return { seconds: j.seconds, audio: stream(j.audio), video: stream(j.video) };
}

/** Sends a loop's packets in real time on two tracks, continuing sequence numbers and timestamps. */
class LoopSender {
  readonly sent: Record<MediaKind, number> = { audio: 0, video: 0 };
  #timer: NodeJS.Timeout | null = null;
  readonly #next: Record<MediaKind, { rep: number; i: number; seq: number; ts0: number }>;

  constructor(
    private readonly loop: RtpLoop,
    private readonly tracks: Record<MediaKind, MediaStreamTrack>,
  ) {
    const r = () => Math.floor(Math.random() * 0xffff);
    this.#next = { audio: { rep: 0, i: 0, seq: r(), ts0: r() }, video: { rep: 0, i: 0, seq: r(), ts0: r() } };
  }

  start(): void {
    const t0 = performance.now();
    const tick = () => {
      const elapsed = (performance.now() - t0) / 1000;
      for (const kind of ['audio', 'video'] as const) {
        const s = this.loop[kind];
        const n = this.#next[kind];
        for (;;) {
          const p = s.packets[n.i]!;
          const due = n.rep * this.loop.seconds + p.ts / s.clockRate;
          if (due > elapsed) break;
          const out = Buffer.from(p.rtp);
          out.writeUInt16BE(n.seq, 2);
          out.writeUInt32BE((n.ts0 + n.rep * this.loop.seconds * s.clockRate + p.ts) >>> 0, 4);
          n.seq = (n.seq + 1) & 0xffff;
          this.tracks[kind].writeRtp(out);
          this.sent[kind]++;
          if (++n.i === s.packets.length) {
            n.i = 0;
            n.rep++;
          }
        }
      }
    };
    this.#timer = setInterval(tick, 10);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

export interface SyntheticPartyOptions {
  /** wss://…/api/signaling?… as the party's browser would open it */
  url: string;
  /** what authenticates the party: the teller's bearer token, or the customer's device cookie; and the Origin */
  headers: Record<string, string>;
  /** CA certificate (PEM) of the appliance's TLS */
  ca: string;
  loop: RtpLoop;
  /** subscribe to the other party's media (as a real 1:1 call does); default true */
  subscribe?: boolean;
  /** the address media uses (default: the namespace's veth address) */
  address?: string;
  /** gives up on any step after this long (default 30 s) */
  timeoutMs?: number;
}

export interface PartyStats {
  sent: Record<MediaKind, number>;
  received: number;
  /** the publisher's and subscriber's connection states */
  publisher: string;
  subscriber: string | null;
  closedCode: number | null;
}

function peerConnection(address: string): RTCPeerConnection {
  return new RTCPeerConnection({
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2, payloadType: 111 })],
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/VP8',
          clockRate: 90_000,
          payloadType: 96,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
        }),
      ],
    },
    iceInterfaceAddresses: { udp4: address },
    iceAdditionalHostAddresses: [address],
    iceUseIpv6: false,
  });
}

async function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return;
  await pc.iceGatheringStateChange.watch((s) => s === 'complete');
}

/** One party of a call: join, publish, subscribe, then send the loop until stop(). */
export class SyntheticParty {
  readonly #o: Required<Omit<SyntheticPartyOptions, 'subscribe'>> & { subscribe: boolean };
  #ws: WebSocket | null = null;
  #publisher: RTCPeerConnection | null = null;
  #subscriber: RTCPeerConnection | null = null;
  #subscription: string | null = null;
  #sender: LoopSender | null = null;
  #received = 0;
  #closedCode: number | null = null;
  #rid = 0;
  #waiters: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  #failure: ((err: Error) => void) | null = null;
  #unclaimed: ServerMessage[] = [];

  constructor(o: SyntheticPartyOptions) {
    this.#o = { subscribe: true, address: NETNS_MEDIA_ADDRESS, timeoutMs: 30_000, ...o };
  }

  /** Resolves once the party is publishing (connected and sending) and, if it subscribes, receiving. */
  async start(): Promise<void> {
    const ws = new WebSocket(this.#o.url, SIGNALING_SUBPROTOCOL, { headers: this.#o.headers, ca: this.#o.ca });
    this.#ws = ws;
    const failed = new Promise<never>((_, reject) => (this.#failure = reject));
    failed.catch(() => undefined);
    ws.on('message', (data) => this.#onMessage(JSON.parse(String(data)) as ServerMessage));
    ws.once('close', (code) => {
      this.#closedCode = code;
      this.#failure?.(new Error(`signaling closed (${code})`));
    });
    ws.on('error', (err) => this.#failure?.(err));
    const step = <T>(what: string, p: Promise<T>): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${this.#o.timeoutMs} ms`)), this.#o.timeoutMs)));
      return Promise.race([p, failed, timeout]).finally(() => clearTimeout(timer));
    };
    await step('open', new Promise<void>((resolve) => ws.once('open', () => resolve())));
    await step('join', this.#request({ type: 'join' }, 'joined'));

    const pc = peerConnection(this.#o.address);
    this.#publisher = pc;
    const tracks = { audio: new MediaStreamTrack({ kind: 'audio' }), video: new MediaStreamTrack({ kind: 'video' }) };
    pc.addTransceiver(tracks.audio, { direction: 'sendonly' });
    pc.addTransceiver(tracks.video, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await step('gathering', gathered(pc));
    const offer = { type: 'offer' as const, sdp: pc.localDescription?.sdp ?? '' };
    const published = await step('publish', this.#request({ type: 'publish', jsep: offer, audio: true, video: true }, 'published'));
    if (published.type !== 'published') throw new Error('unexpected reply to publish');
    await pc.setRemoteDescription(published.jsep);
    await step(
      'publisher connected',
      pc.connectionStateChange.watch((s) => s === 'connected'),
    );
    this.#sender = new LoopSender(this.#o.loop, tracks);
    this.#sender.start();

    if (this.#o.subscribe) {
      // the appliance offers the other party's media by itself once that flows (as it does to the web client)
      const offered = this.#next('remote-offer');
      const m = await step('remote offer', offered);
      if (m.type !== 'remote-offer') throw new Error('unexpected message');
      const sub = peerConnection(this.#o.address);
      this.#subscriber = sub;
      this.#subscription = m.subscription;
      sub.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => this.#received++));
      await sub.setRemoteDescription(m.jsep);
      await sub.setLocalDescription(await sub.createAnswer());
      await step('gathering', gathered(sub));
      this.#ws.send(JSON.stringify({ type: 'answer', rid: ++this.#rid, subscription: m.subscription, jsep: { type: 'answer', sdp: sub.localDescription?.sdp ?? '' } }));
      await step(
        'subscriber connected',
        sub.connectionStateChange.watch((s) => s === 'connected'),
      );
      await step(
        'media received',
        new Promise<void>((resolve) => {
          const poll = setInterval(() => {
            if (this.#received > 0) {
              clearInterval(poll);
              resolve();
            }
          }, 50);
        }),
      );
    }
    // from here a closed socket is reported by stats(), not thrown
    this.#failure = null;
  }

  stats(): PartyStats {
    return {
      sent: { ...(this.#sender?.sent ?? { audio: 0, video: 0 }) },
      received: this.#received,
      publisher: this.#publisher?.connectionState ?? 'new',
      subscriber: this.#subscriber?.connectionState ?? null,
      closedCode: this.#closedCode,
    };
  }

  /** Stops sending, leaves (unless the appliance already ended the call) and closes everything. */
  async stop(): Promise<void> {
    this.#sender?.stop();
    const ws = this.#ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      ws.send(JSON.stringify({ type: 'leave', rid: ++this.#rid }));
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      ws.close();
    }
    const open = [this.#publisher, this.#subscriber].filter((pc) => pc !== null);
    await Promise.all(open.map((pc) => pc.close().catch(() => undefined)));
  }

  #onMessage(m: ServerMessage): void {
    if (m.type === 'trickle' && m.candidate) {
      const pc = m.pc === 'publisher' ? this.#publisher : m.pc === this.#subscription ? this.#subscriber : null;
      void pc?.addIceCandidate({ candidate: m.candidate.candidate, sdpMid: m.candidate.sdpMid ?? undefined, sdpMLineIndex: m.candidate.sdpMLineIndex ?? undefined }).catch(() => undefined);
      return;
    }
    if (m.type === 'error') this.#failure?.(new Error(`${m.code}: ${m.message}`));
    const i = this.#waiters.findIndex((w) => w.match(m));
    if (i >= 0) this.#waiters.splice(i, 1)[0]?.resolve(m);
    else if (m.type === 'remote-offer') this.#unclaimed.push(m);
  }

  /** The next message of `type`; a remote offer may have come already (the appliance sends it unasked). */
  #next(type: ServerMessage['type']): Promise<ServerMessage> {
    const seen = this.#unclaimed.findIndex((m) => m.type === type);
    if (seen >= 0) return Promise.resolve(this.#unclaimed.splice(seen, 1)[0]!);
    return new Promise((resolve) => this.#waiters.push({ match: (m) => m.type === type, resolve }));
  }

  #request(frame: Record<string, unknown>, reply: ServerMessage['type']): Promise<ServerMessage> {
    const p = this.#next(reply);
    this.#ws?.send(JSON.stringify({ ...frame, rid: ++this.#rid }));
    return p;
  }
}

// ---- a process of parties inside the namespace ---------------------------------------------------------------

const HOST_ENTRY = fileURLToPath(new URL('./synthetic-party-host.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface PartySpec {
  url: string;
  headers: Record<string, string>;
  subscribe?: boolean;
}

/** Messages between this process and a party host (see synthetic-party-host.ts). */
export type HostRequest = { op: 'start'; id: string; spec: PartySpec } | { op: 'stop'; id: string } | { op: 'stats' };
export type HostReply = { seq: number; ok: true; result?: unknown } | { seq: number; ok: false; error: string };

export interface PartyHost {
  readonly pid: number;
  start(id: string, spec: PartySpec): Promise<void>;
  stop(id: string): Promise<void>;
  stats(): Promise<Record<string, PartyStats>>;
  close(): Promise<void>;
}

/** A Node process inside `ns` running parties on command; they send `loopFile`'s packets and trust `caFile`. */
export async function startPartyHost(ns: Netns, loopFile: string, caFile: string): Promise<PartyHost> {
  const child: ChildProcess = ns.spawn(process.execPath, ['--import', 'tsx', HOST_ENTRY, loopFile, caFile], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // a send or disconnect racing the child's exit: reported by the requests' rejection instead
  child.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`party host exited (${code})`)));
  });
  let seq = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('message', (m: HostReply) => {
    const p = pending.get(m.seq);
    if (!p) return;
    pending.delete(m.seq);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(m.error));
  });
  void exited.then(() => {
    for (const p of pending.values()) p.reject(new Error('party host exited'));
    pending.clear();
  });
  const ask = (req: HostRequest): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const s = ++seq;
      if (!child.connected) return reject(new Error('party host is gone'));
      pending.set(s, { resolve, reject });
      child.send({ ...req, seq: s });
    });
  return {
    pid: child.pid ?? -1,
    start: async (id, spec) => void (await ask({ op: 'start', id, spec })),
    stop: async (id) => void (await ask({ op: 'stop', id })),
    stats: async () => (await ask({ op: 'stats' })) as Record<string, PartyStats>,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        if (child.connected) child.disconnect();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
