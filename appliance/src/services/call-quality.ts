// Per-call quality in the product: what Janus measures of each party's uplink (its event handler's media
// statistics) and what each party's browser reports of what it receives, kept per session and party for the
// auditor's chart, and fed to the degrade state machine (domain/call-degrade.ts) that steps the call down to audio
// or chat and back. Nothing here waits on the database from the signaling path: figures are folded into one
// sample per party, source and 5-second bucket in memory and written in batches by a timer, capped per session.
import type pg from 'pg';
import { degradeStep, initialDegradeState, type DegradeInput, type DegradeState, type DegradeStep, type DegradeThresholds } from '../domain/call-degrade.js';
import type { Party, QualitySummary } from '../media/protocol.js';
import type { Queryable } from '../db/database.js';
import { callQualityEventsRepository, callQualityRepository, type NewQualityIncident, type QualitySampleRow } from '../repositories/call-quality.repository.js';
import type { CaseQualityView, QualityIncidentView } from '../api-types.js';

/** The auditor's view is bounded: at most this many samples and incidents per case. */
export const QUALITY_MAX_SAMPLES = 20_000;
export const QUALITY_MAX_INCIDENTS = 5000;

/**
 * The quality of the sessions (one case's): samples in time order, and the incidents (slowlink, freeze from the
 * quality table; reconnects and call-mode steps from the session events) merged in time order. Three queries.
 */
export async function qualityOfSessions(db: Queryable, sessionIds: string[], limits = { samples: QUALITY_MAX_SAMPLES, incidents: QUALITY_MAX_INCIDENTS }): Promise<CaseQualityView> {
  const [samples, incidents, events] = await Promise.all([
    callQualityRepository.samplesOfSessions(db, sessionIds, limits.samples),
    callQualityRepository.incidentsOfSessions(db, sessionIds, limits.incidents),
    callQualityEventsRepository.eventsOfSessions(db, sessionIds, limits.incidents),
  ]);
  const merged: QualityIncidentView[] = [...incidents.rows, ...events.rows]
    .map((r) => ({ sessionId: r.session_id, t: r.at.getTime(), party: r.party as QualityIncidentView['party'], kind: r.kind, data: scalarData(r.data) }))
    .sort((a, b) => a.t - b.t);
  const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
  return {
    samples: samples.rows.map((r) => ({
      sessionId: r.session_id,
      t: r.at.getTime(),
      party: r.party,
      source: r.source,
      bitrateKbps: round(r.bitrate_kbps),
      lossPct: round(r.loss_pct),
      rttMs: round(r.rtt_ms),
      jitterMs: round(r.jitter_ms),
      availableKbps: round(r.available_kbps),
    })),
    incidents: merged.slice(0, limits.incidents),
    truncated: { samples: samples.truncated, incidents: incidents.truncated || events.truncated || merged.length > limits.incidents },
  };
}

/** The slowlink and freeze incidents of the sessions (the case timeline: one query, bounded). */
export async function qualityIncidentsOfSessions(db: Queryable, sessionIds: string[], limit: number): Promise<{ rows: QualityIncidentView[]; truncated: boolean }> {
  const r = await callQualityRepository.incidentsOfSessions(db, sessionIds, limit);
  return { rows: r.rows.map((x) => ({ sessionId: x.session_id, t: x.at.getTime(), party: x.party, kind: x.kind, data: scalarData(x.data) })), truncated: r.truncated };
}

/** Only scalar fields of an event's data (what the audit event carries too); nothing else reaches the auditor here. */
function scalarData(data: Record<string, unknown>): QualityIncidentView['data'] {
  const out: QualityIncidentView['data'] = {};
  for (const [k, v] of Object.entries(data)) if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[k] = v as string | number | boolean | null;
  return out;
}

export interface CallQualityOptions {
  pool: pg.Pool;
  thresholds: DegradeThresholds;
  /** the call steps (the hub tells both parties and records the step) */
  onStep(sessionId: string, step: DegradeStep): void;
  log?: { warn(o: object, msg: string): void };
  /** one sample per party and source per bucket; default 5 s */
  bucketMs?: number;
  /** samples kept per session at most (later ones are dropped); default 2 × 2 × 1440 (two hours of 5 s buckets per party and source) */
  maxSamplesPerSession?: number;
  /** slowlink incidents per party at most once per this interval; default 10 s */
  incidentEveryMs?: number;
  /** how often buffered rows are written and the degrade machine ticks; default 1 s */
  flushMs?: number;
  now?: () => number;
}

/** One stream's figures as fed in (Janus per media; the browser per summary). */
export interface QualityFigures {
  bitrateBps?: number | null;
  lossRatio?: number | null;
  rttMs?: number | null;
  jitterMs?: number | null;
  availableKbps?: number | null;
}

interface Bucket {
  start: number;
  /** bitrate: averaged per stream, then added over streams (audio + video) */
  bitrate: Map<string, { sum: number; n: number }>;
  loss: number[];
  rtt: number[];
  jitter: number[];
  available: number[];
}

interface Call {
  degrade: DegradeState;
  samples: number;
  buckets: Map<string, Bucket>;
  lastIncident: Map<string, number>;
  /** the latest input (a call nothing is heard of for IDLE_MS is forgotten, e.g. late reports after its end) */
  lastAt: number;
}

const IDLE_MS = 60_000;

/** Pending rows beyond this are dropped (the database is away); telemetry must not grow without bound. */
const MAX_PENDING = 20_000;

export class CallQuality {
  readonly #opts: CallQualityOptions;
  readonly #calls = new Map<string, Call>();
  #samples: QualitySampleRow[] = [];
  #incidents: NewQualityIncident[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;

  constructor(opts: CallQualityOptions) {
    this.#opts = opts;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.tick();
      void this.flush();
    }, this.#opts.flushMs ?? 1000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    for (const id of [...this.#calls.keys()]) this.ended(id);
    await this.flush();
  }

  /** The current mode of a call this process holds (video when unknown). */
  mode(sessionId: string): DegradeState['mode'] {
    return this.#calls.get(sessionId)?.degrade.mode ?? 'video';
  }

  /** Janus's statistics of one handle and medium: `up` is the party's uplink, `down` what its viewer receives. */
  janus(sessionId: string, party: Party, direction: 'up' | 'down', media: 'audio' | 'video', f: QualityFigures): void {
    const at = this.#now();
    if (direction === 'up') this.#fold(sessionId, party, 'janus', media, f, at);
    const lossPct = f.lossRatio == null ? undefined : f.lossRatio * 100;
    this.#feed(sessionId, { kind: 'sample', at, party, key: `janus-${direction}/${media}`, ...(lossPct !== undefined ? { lossPct } : {}) });
  }

  /** A browser's summary of what it receives (and its own bandwidth estimate for what it sends). */
  browser(sessionId: string, party: Party, q: Omit<QualitySummary, 'stages' | 'candidate'>): void {
    const at = this.#now();
    const f: QualityFigures = { bitrateBps: q.bitrateBps, lossRatio: q.lossRatio, rttMs: q.rttMs, jitterMs: q.jitterMs, availableKbps: q.availableKbps };
    this.#fold(sessionId, party, 'browser', 'all', f, at);
    // the video this party receives froze (the browser's own freeze detection): an incident of the party who saw it
    if (q.freezes !== undefined && q.freezes > 0) this.#incident(sessionId, party, 'freeze', { freezes: q.freezes }, at);
    this.#feed(sessionId, {
      kind: 'sample',
      at,
      party,
      key: 'browser',
      ...(q.lossRatio !== undefined ? { lossPct: q.lossRatio * 100 } : {}),
      ...(q.availableKbps !== undefined ? { availableKbps: q.availableKbps } : {}),
    });
  }

  /** Janus reported a slowlink on the party's publisher: an incident (throttled) and a degrade input. */
  slowlink(sessionId: string, party: Party, info: { uplink: boolean; lost: number }): void {
    const at = this.#now();
    this.#incident(sessionId, party, 'slowlink', { uplink: info.uplink, lost: info.lost }, at);
    this.#feed(sessionId, { kind: 'slowlink', at, party });
  }

  /** Whether Janus receives the party's media. */
  media(sessionId: string, party: Party, flowing: boolean): void {
    this.#feed(sessionId, { kind: 'media', at: this.#now(), party, flowing });
  }

  /** The session ended: its open buckets are written, its state forgotten. */
  ended(sessionId: string): void {
    const call = this.#calls.get(sessionId);
    if (!call) return;
    for (const [key, b] of call.buckets) this.#close(sessionId, call, key, b);
    this.#calls.delete(sessionId);
  }

  /** Time passes for every call: sustained conditions step without new figures; finished buckets are closed. */
  tick(): void {
    const at = this.#now();
    const bucketMs = this.#opts.bucketMs ?? 5000;
    for (const [id, call] of this.#calls) {
      if (at - call.lastAt > IDLE_MS) {
        this.ended(id);
        continue;
      }
      for (const [key, b] of call.buckets) {
        if (at - b.start >= bucketMs) {
          this.#close(id, call, key, b);
          call.buckets.delete(key);
        }
      }
      this.#feed(id, { kind: 'tick', at });
    }
  }

  /** Writes what is buffered (one statement per table). Never throws: a failure is logged and the rows dropped. */
  flush(): Promise<void> {
    this.#flushing ??= (async () => {
      const samples = this.#samples;
      const incidents = this.#incidents;
      this.#samples = [];
      this.#incidents = [];
      try {
        await callQualityRepository.insertSamples(this.#opts.pool, samples);
        await callQualityRepository.insertIncidents(this.#opts.pool, incidents);
      } catch (err) {
        this.#opts.log?.warn({ err: (err as Error).message, samples: samples.length, incidents: incidents.length }, 'call quality samples not stored');
      }
    })().finally(() => (this.#flushing = null));
    return this.#flushing;
  }

  #now(): number {
    return this.#opts.now?.() ?? Date.now();
  }

  #call(sessionId: string): Call {
    let call = this.#calls.get(sessionId);
    if (!call) {
      call = { degrade: initialDegradeState(), samples: 0, buckets: new Map(), lastIncident: new Map(), lastAt: this.#now() };
      this.#calls.set(sessionId, call);
    }
    return call;
  }

  #feed(sessionId: string, input: DegradeInput): void {
    const call = this.#call(sessionId);
    if (input.kind !== 'tick') call.lastAt = input.at;
    const { state, step } = degradeStep(call.degrade, input, this.#opts.thresholds);
    call.degrade = state;
    if (step) this.#opts.onStep(sessionId, step);
  }

  #fold(sessionId: string, party: Party, source: 'janus' | 'browser', stream: string, f: QualityFigures, at: number): void {
    const call = this.#call(sessionId);
    const key = `${party}/${source}`;
    let b = call.buckets.get(key);
    if (b && at - b.start >= (this.#opts.bucketMs ?? 5000)) {
      this.#close(sessionId, call, key, b);
      b = undefined;
    }
    if (!b) {
      b = { start: at, bitrate: new Map(), loss: [], rtt: [], jitter: [], available: [] };
      call.buckets.set(key, b);
    }
    if (f.bitrateBps != null) {
      const s = b.bitrate.get(stream) ?? { sum: 0, n: 0 };
      s.sum += f.bitrateBps;
      s.n += 1;
      b.bitrate.set(stream, s);
    }
    if (f.lossRatio != null) b.loss.push(f.lossRatio * 100);
    if (f.rttMs != null && f.rttMs > 0) b.rtt.push(f.rttMs);
    if (f.jitterMs != null) b.jitter.push(f.jitterMs);
    if (f.availableKbps != null) b.available.push(f.availableKbps);
  }

  #close(sessionId: string, call: Call, key: string, b: Bucket): void {
    const [party, source] = key.split('/') as [Party, 'janus' | 'browser'];
    if (call.samples >= (this.#opts.maxSamplesPerSession ?? 4 * 1440)) return;
    call.samples += 1;
    const bitrate = b.bitrate.size > 0 ? [...b.bitrate.values()].reduce((x, s) => x + s.sum / s.n, 0) / 1000 : null;
    this.#push(this.#samples, {
      session_id: sessionId,
      at: new Date(b.start),
      party,
      source,
      bitrate_kbps: bitrate,
      loss_pct: mean(b.loss),
      rtt_ms: mean(b.rtt),
      jitter_ms: mean(b.jitter),
      available_kbps: mean(b.available),
    });
  }

  #incident(sessionId: string, party: Party, kind: NewQualityIncident['kind'], data: Record<string, unknown>, at: number): void {
    const call = this.#call(sessionId);
    const last = call.lastIncident.get(`${party}/${kind}`);
    if (last !== undefined && at - last < (this.#opts.incidentEveryMs ?? 10_000)) return;
    call.lastIncident.set(`${party}/${kind}`, at);
    this.#push(this.#incidents, { session_id: sessionId, at: new Date(at), party, kind, data });
  }

  #push<T>(list: T[], row: T): void {
    if (list.length >= MAX_PENDING) list.shift();
    list.push(row);
  }
}

function mean(xs: number[]): number | null {
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}
