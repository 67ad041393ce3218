// Janus's sample event handler POSTs its events here (grouped: a JSON array). We read two kinds:
//  - type 16 (webrtc): the selected candidate pair → the party's candidate type (host/srflx/prflx/relay);
//  - type 32 (media): per-handle statistics every stats_period → RTT, jitter, loss, bitrate, link quality.
// A handle is a publisher (the party's uplink into Janus) or a subscriber (the viewer's downlink); the signaling
// hub says which party it belongs to. Nothing is labelled by session or handle: series stay bounded.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { OpsMediaSample } from '../api-types.js';

export type HandleRole = { party: 'teller' | 'customer'; direction: 'up' | 'down'; sessionId?: string };

/** Largest body accepted from Janus (grouped events of one flush). */
export const JANUS_EVENTS_MAX_BYTES = 1024 * 1024;
const MAX_EVENTS_PER_POST = 5000;
const CANDIDATE_TYPES = new Set(['host', 'srflx', 'prflx', 'relay']);

export class JanusEventError extends Error {}

interface Last {
  lost: number;
  received: number;
  at: number;
}

/** One call's media as the dashboard shows it: the latest figures per party, media and direction. */
export type MediaSample = OpsMediaSample;

export class JanusEventStats {
  private readonly rtt: Histogram<'party' | 'media' | 'source'>;
  private readonly jitter: Histogram<'party' | 'media' | 'direction' | 'source'>;
  private readonly loss: Histogram<'party' | 'media' | 'direction' | 'source'>;
  private readonly bitrate: Histogram<'party' | 'media' | 'direction' | 'source'>;
  private readonly quality: Histogram<'party' | 'media' | 'direction' | 'source'>;
  private readonly candidates: Counter<'party' | 'type' | 'source'>;
  /** selected pairs of handles not yet mapped to a party (counted once the mapping is known) */
  private readonly unmappedPairs = new Map<number, { kind: string; at: number }>();
  private readonly events: Counter<'type'>;
  private readonly height: Histogram<'party' | 'source'>;
  private readonly fps: Histogram<'party' | 'source'>;
  /** previous cumulative counters per handle and media, to turn them into a loss ratio; pruned when stale */
  private readonly last = new Map<string, Last>();
  /** latest sample per party/direction/media, for the admin dashboard */
  readonly latest = new Map<string, MediaSample>();
  /** every media statistics report of a handle the hub knows, with its call (per-call quality, the degrade decision) */
  onSample: ((role: HandleRole, sample: MediaSample) => void) | null = null;

  constructor(
    registry: Registry,
    private readonly roleOf: (handleId: number) => HandleRole | null,
  ) {
    const registers = [registry];
    const labels = ['party', 'media', 'direction', 'source'] as const;
    this.rtt = new Histogram({
      name: 'kyc_call_rtt_seconds',
      help: "Round-trip time per media statistics report of a call's peer connection.",
      labelNames: ['party', 'media', 'source'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2],
      registers,
    });
    this.jitter = new Histogram({
      name: 'kyc_call_jitter_seconds',
      help: 'Jitter per media statistics report (direction up: received by Janus from the party; down: as the party reports it).',
      labelNames: labels,
      buckets: [0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5],
      registers,
    });
    this.loss = new Histogram({
      name: 'kyc_call_loss_ratio',
      help: 'Packet loss ratio between two media statistics reports.',
      labelNames: labels,
      buckets: [0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
      registers,
    });
    this.bitrate = new Histogram({
      name: 'kyc_call_bitrate_bps',
      help: 'Bitrate over the last second at each media statistics report.',
      labelNames: labels,
      buckets: [16e3, 32e3, 64e3, 128e3, 256e3, 512e3, 1e6, 2e6, 4e6],
      registers,
    });
    this.quality = new Histogram({
      name: 'kyc_call_link_quality',
      help: 'Janus link quality (0–100) at each media statistics report.',
      labelNames: labels,
      buckets: [10, 25, 50, 75, 90, 95, 99, 100],
      registers,
    });
    this.candidates = new Counter({
      name: 'kyc_call_candidate_total',
      help: "Selected ICE candidate pairs by the party's candidate type (host, srflx, prflx, relay).",
      labelNames: ['party', 'type', 'source'],
      registers,
    });
    this.height = new Histogram({
      name: 'kyc_call_video_height_pixels',
      help: 'Height of the video a party receives, per browser report.',
      labelNames: ['party', 'source'],
      buckets: [120, 180, 240, 360, 480, 720, 1080],
      registers,
    });
    this.fps = new Histogram({
      name: 'kyc_call_video_fps',
      help: 'Frame rate of the video a party receives, per browser report.',
      labelNames: ['party', 'source'],
      buckets: [1, 5, 10, 15, 20, 25, 30],
      registers,
    });
    this.events = new Counter({ name: 'kyc_janus_events_total', help: "Events received from Janus's event handler by type (16 webrtc, 32 media, other).", labelNames: ['type'], registers });
  }

  /** Parses one POST body (a JSON event or a grouped array); throws JanusEventError on anything malformed. */
  ingest(body: string, now = Date.now()): number {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new JanusEventError('not JSON');
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    if (list.length > MAX_EVENTS_PER_POST) throw new JanusEventError('too many events');
    if (!list.every((e) => isObject(e) && typeof e['type'] === 'number')) throw new JanusEventError('every event must be an object with a numeric type');
    for (const e of list as Record<string, unknown>[]) this.one(e, now);
    this.prune(now);
    return list.length;
  }

  private one(e: Record<string, unknown>, now: number): void {
    const type = e['type'] as number;
    this.events.inc({ type: type === 16 ? '16' : type === 32 ? '32' : 'other' });
    const handle = typeof e['handle_id'] === 'number' ? e['handle_id'] : null;
    const ev = isObject(e['event']) ? e['event'] : null;
    if (handle === null || !ev) return;
    // "<local> [host,udp] <-> <remote> [srflx,udp]": the remote candidate is the party's
    const pair = type === 16 && typeof ev['selected-pair'] === 'string' ? (/<->\s*\S+\s*\[(\w+),/.exec(ev['selected-pair'])?.[1] ?? null) : null;
    const role = this.roleOf(handle);
    if (!role) {
      // ICE may settle before the hub has mapped the handle to its party: kept until a later event of the handle
      if (pair) this.unmappedPairs.set(handle, { kind: pair, at: now });
      return;
    }
    const early = this.unmappedPairs.get(handle);
    if (early) {
      this.unmappedPairs.delete(handle);
      if (role.direction === 'up') this.candidate(role.party, early.kind, 'janus');
    }
    if (type === 16) {
      if (pair && role.direction === 'up') this.candidate(role.party, pair, 'janus');
      return;
    }
    if (type !== 32) return;
    const media = ev['media'];
    if ((media !== 'audio' && media !== 'video') || typeof ev['packets-received'] !== 'number') return;
    const l = { party: role.party, media, direction: role.direction, source: 'janus' } as const;
    const num = (k: string) => (typeof ev[k] === 'number' && Number.isFinite(ev[k]) && (ev[k] as number) >= 0 ? (ev[k] as number) : null);
    const sample: MediaSample = { party: role.party, direction: role.direction, media, rttMs: null, jitterMs: null, lossRatio: null, bitrateBps: null, linkQuality: null, at: now };
    const rtt = num('rtt');
    if (rtt !== null && rtt > 0) {
      this.rtt.observe({ party: l.party, media, source: 'janus' }, rtt / 1000);
      sample.rttMs = rtt;
    }
    // up: Janus receives from the party (its own measurements); down: what the viewer reports back over RTCP
    const jitter = num(role.direction === 'up' ? 'jitter-local' : 'jitter-remote');
    if (jitter !== null) {
      this.jitter.observe(l, jitter / 1000);
      sample.jitterMs = jitter;
    }
    const bytes = num(role.direction === 'up' ? 'bytes-received-lastsec' : 'bytes-sent-lastsec');
    if (bytes !== null) {
      this.bitrate.observe(l, bytes * 8);
      sample.bitrateBps = bytes * 8;
    }
    const quality = num(role.direction === 'up' ? 'in-link-quality' : 'out-link-quality');
    if (quality !== null && quality <= 100) {
      this.quality.observe(l, quality);
      sample.linkQuality = quality;
    }
    const lost = num(role.direction === 'up' ? 'lost' : 'lost-by-remote');
    const received = num(role.direction === 'up' ? 'packets-received' : 'packets-sent');
    if (lost !== null && received !== null) {
      const key = `${handle}/${media}`;
      const prev = this.last.get(key);
      this.last.set(key, { lost, received, at: now });
      if (prev && received >= prev.received && lost >= prev.lost) {
        const dl = lost - prev.lost;
        const dr = received - prev.received;
        if (dl + dr > 0) {
          sample.lossRatio = dl / (dl + dr);
          this.loss.observe(l, sample.lossRatio);
        }
      }
    }
    this.latest.set(`${role.party}/${role.direction}/${media}`, sample);
    this.onSample?.(role, sample);
  }

  /** One report's figures (from the browser: direction down = what the party receives). */
  observe(
    party: HandleRole['party'],
    direction: HandleRole['direction'],
    source: 'janus' | 'browser',
    media: 'audio' | 'video',
    f: { rttMs?: number; jitterMs?: number; lossRatio?: number; bitrateBps?: number },
  ): void {
    const l = { party, media, direction, source };
    if (f.rttMs !== undefined) this.rtt.observe({ party, media, source }, f.rttMs / 1000);
    if (f.jitterMs !== undefined) this.jitter.observe(l, f.jitterMs / 1000);
    if (f.lossRatio !== undefined) this.loss.observe(l, f.lossRatio);
    if (f.bitrateBps !== undefined) this.bitrate.observe(l, f.bitrateBps);
  }

  resolution(party: HandleRole['party'], height: number, fps: number | undefined): void {
    this.height.observe({ party, source: 'browser' }, height);
    if (fps !== undefined) this.fps.observe({ party, source: 'browser' }, fps);
  }

  candidate(party: HandleRole['party'], type: string, source: 'janus' | 'browser'): void {
    if (CANDIDATE_TYPES.has(type)) this.candidates.inc({ party, type, source });
  }

  /** Forgets handles not heard of for a minute (their calls ended). */
  private prune(now: number): void {
    for (const [k, v] of this.last) if (now - v.at > 60_000) this.last.delete(k);
    for (const [k, v] of this.latest) if (now - v.at > 60_000) this.latest.delete(k);
    for (const [k, v] of this.unmappedPairs) if (now - v.at > 60_000) this.unmappedPairs.delete(k);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
