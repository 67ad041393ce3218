// The appliance's Prometheus metrics: one registry per process, built by the composition root. Figures that are
// cheap to read are computed on scrape (collect callbacks: database, disk, certificates, pool); events are counted
// where they happen (the signaling hub calls the CallMetrics methods). The worker's figures reach the scrape
// through PostgreSQL (seal queue, seal times, failures), so one endpoint on the appliance covers both processes.
import { X509Certificate } from 'node:crypto';
import { readFileSync, statfsSync } from 'node:fs';
import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { opsRepository } from '../repositories/ops.repository.js';
import { JanusEventStats, type HandleRole } from './janus-events.js';
import type { QualitySummary } from '../media/protocol.js';
import type { OpsView } from '../api-types.js';

export const JOIN_STAGES = ['page_loaded', 'media_allowed', 'socket_connected', 'ice_connected', 'media_flowing', 'recording_started'] as const;
export type JoinStage = (typeof JOIN_STAGES)[number];
export type MetricsParty = 'teller' | 'customer';

/** What the live-call code reports; a no-op implementation serves when metrics are off. */
export interface CallMetrics {
  joinStage(stage: JoinStage, ok: boolean): void;
  /** a party's first media up, `seconds` after its socket joined */
  joinCompleted(seconds: number): void;
  slowlink(party: MetricsParty): void;
  /** a browser's getStats summary (what it receives) */
  browserQuality(party: MetricsParty, q: Omit<QualitySummary, 'stages'>): void;
}

export interface OpsMetricsSources {
  pool: pg.Pool;
  /** publishers up now (each one is being recorded by Janus); null when live calls are not configured */
  recordingsInProgress(): number | null;
  /** which party a Janus handle belongs to (the signaling hub knows); null when unknown */
  handleRole(handleId: number): HandleRole | null;
  volumes: { recordings: string; archive: string };
  /** PEM certificate files by label (server, ca, oidc-ca, tsa...); missing files are skipped */
  certificates: Record<string, string | null>;
}

/** One scrape's view, also what the admin dashboard shows (there with days left JSON-safe). */
export type OpsValues = Omit<OpsView['current'], 'disk' | 'joins' | 'media'> & {
  /** days left +Infinity: nothing sealed in the last day */
  disk: Record<'recordings' | 'archive', { freeBytes: number; daysLeft: number }>;
};

export class OpsMetrics implements CallMetrics {
  readonly registry = new Registry();
  private readonly joins: Counter<'stage' | 'result'>;
  private readonly joinSeconds: Histogram;
  private readonly slowlinks: Counter<'party'>;
  private readonly sealSeconds: Histogram;
  private readonly sealFailures: Counter;
  private readonly avSkew: Histogram;
  private sealFailuresSeen = 0;
  private sealedWatermark: Date;
  private latest: Promise<OpsValues> | null = null;
  /** per-call media statistics from Janus's event handler */
  readonly janus: JanusEventStats;

  constructor(
    private readonly src: OpsMetricsSources,
    now: Date = new Date(),
  ) {
    const registers = [this.registry];
    this.sealedWatermark = now;
    collectDefaultMetrics({ register: this.registry });
    this.janus = new JanusEventStats(this.registry, (id) => src.handleRole(id));
    // Every gauge below reads the same snapshot, taken once per scrape.
    const values = () => (this.latest ??= this.read().finally(() => setImmediate(() => (this.latest = null))));
    const gauge = (name: string, help: string, pick: (v: OpsValues) => number | null) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const x = pick(await values());
          if (x === null) this.reset();
          else this.set(x);
        },
      });
    gauge('kyc_sessions_active', 'Call sessions live now (all appliance processes).', (v) => v.sessionsActive);
    gauge('kyc_recordings_in_progress', 'Publishers being recorded by Janus now (this process).', (v) => v.recordingsInProgress);
    gauge('kyc_seal_queue_depth', 'Recordings waiting for or in sealing (including failed ones with a retry due).', (v) => v.sealQueueDepth);
    gauge('kyc_audit_log_size', 'Events in the audit log (sequenced tree size).', (v) => v.auditLogSize);
    gauge('kyc_audit_checkpoint_pending_events', 'Audit events after the latest signed checkpoint (a late checkpoint matters only when this is above 0).', (v) => v.checkpointUnsealedEvents);
    gauge('kyc_audit_checkpoint_age_seconds', 'Age of the latest signed audit checkpoint (absent before the first).', (v) => v.checkpointAgeSeconds);
    const labelled = (name: string, help: string, label: string, pick: (v: OpsValues) => Record<string, number>) =>
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers,
        async collect() {
          this.reset();
          for (const [k, x] of Object.entries(pick(await values()))) this.set({ [label]: k }, x);
        },
      });
    labelled('kyc_disk_free_bytes', 'Free bytes on the volume (available to the appliance user).', 'volume', (v) => ({
      recordings: v.disk.recordings.freeBytes,
      archive: v.disk.archive.freeBytes,
    }));
    labelled('kyc_disk_days_left', "Days until the volume is full at the last 24 hours' sealing rate (+Inf when nothing was sealed).", 'volume', (v) => ({
      recordings: v.disk.recordings.daysLeft,
      archive: v.disk.archive.daysLeft,
    }));
    labelled('kyc_certificate_expiry_seconds', 'Seconds until the certificate expires (negative: expired).', 'cert', (v) => v.certificates);
    gauge('kyc_db_pool_total', 'Database connections open in this process.', (v) => v.pool.total);
    gauge('kyc_db_pool_idle', 'Idle database connections in this process.', (v) => v.pool.idle);
    gauge('kyc_db_pool_waiting', 'Queries waiting for a database connection in this process.', (v) => v.pool.waiting);
    this.joins = new Counter({ name: 'kyc_join_total', help: 'Join funnel: parties reaching (ok) or failing (failed) each stage.', labelNames: ['stage', 'result'], registers });
    for (const stage of JOIN_STAGES) for (const result of ['ok', 'failed']) this.joins.inc({ stage, result }, 0);
    this.joinSeconds = new Histogram({
      name: 'kyc_join_seconds',
      help: "From a party's signaling join to its media up at Janus.",
      buckets: [0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60],
      registers,
    });
    this.slowlinks = new Counter({ name: 'kyc_slowlink_total', help: 'Janus slowlink events (NACK storms, loss) by party.', labelNames: ['party'], registers });
    this.sealSeconds = new Histogram({
      name: 'kyc_seal_seconds',
      help: 'From seal request (session end) to sealed, per recording (any worker), observed when the appliance sees it sealed.',
      buckets: [5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    this.avSkew = new Histogram({
      name: 'kyc_av_skew_seconds',
      help: 'Audio-video misalignment of each sealed media file after post-processing (absolute; ffprobe of the merged file against the offset the merge applied).',
      buckets: [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28],
      registers,
    });
    this.sealFailures = new Counter({ name: 'kyc_seal_failures_total', help: 'Failed seal attempts (recording.seal_failed audit events).', registers });
  }

  /** join funnel counts of this process, by `stage/result` (the dashboard's success rate) */
  readonly joinCounts = new Map<string, number>();

  joinStage(stage: JoinStage, ok: boolean): void {
    const result = ok ? 'ok' : 'failed';
    this.joins.inc({ stage, result });
    this.joinCounts.set(`${stage}/${result}`, (this.joinCounts.get(`${stage}/${result}`) ?? 0) + 1);
  }

  joinCompleted(seconds: number): void {
    this.joinSeconds.observe(seconds);
  }

  slowlink(party: MetricsParty): void {
    this.slowlinks.inc({ party });
  }

  browserQuality(party: MetricsParty, q: Omit<QualitySummary, 'stages'>): void {
    this.janus.observe(party, 'down', 'browser', 'video', { rttMs: q.rttMs, jitterMs: q.jitterMs, lossRatio: q.lossRatio, bitrateBps: q.bitrateBps });
    if (q.height !== undefined && q.height > 0) this.janus.resolution(party, q.height, q.fps);
    if (q.candidate) this.janus.candidate(party, q.candidate, 'browser');
  }

  /** The text a Prometheus scrape gets. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    await this.catchUpSeals();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Current values (also for the admin dashboard). */
  async values(): Promise<OpsValues> {
    return this.read();
  }

  private async catchUpSeals(): Promise<void> {
    for (const s of await opsRepository.sealedSince(this.src.pool, this.sealedWatermark)) {
      this.sealSeconds.observe(Math.max(0, s.seconds));
      for (const ms of s.avSkewsMs) this.avSkew.observe(Math.abs(ms) / 1000);
      this.sealedWatermark = s.sealedAt;
    }
  }

  private async read(): Promise<OpsValues> {
    const snap = await opsRepository.snapshot(this.src.pool);
    if (snap.sealFailures > this.sealFailuresSeen) {
      this.sealFailures.inc(snap.sealFailures - this.sealFailuresSeen);
      this.sealFailuresSeen = snap.sealFailures;
    }
    const perDay = snap.archivedBytesLastDay;
    const disk = (path: string) => {
      const free = freeBytes(path);
      return { freeBytes: free, daysLeft: perDay > 0 ? free / perDay : Number.POSITIVE_INFINITY };
    };
    const certificates: Record<string, number> = {};
    for (const [label, file] of Object.entries(this.src.certificates)) {
      const expiry = file ? certificateExpiry(file) : null;
      if (expiry) certificates[label] = (expiry.getTime() - Date.now()) / 1000;
    }
    return {
      sessionsActive: snap.sessionsActive,
      recordingsInProgress: this.src.recordingsInProgress() ?? 0,
      sealQueueDepth: snap.sealQueueDepth,
      sealFailures: snap.sealFailures,
      auditLogSize: snap.auditLogSize,
      checkpointUnsealedEvents: Math.max(0, snap.auditLogSize - snap.lastCheckpointSize),
      checkpointAgeSeconds: snap.lastCheckpointAt ? Math.max(0, (Date.now() - snap.lastCheckpointAt.getTime()) / 1000) : null,
      disk: { recordings: disk(this.src.volumes.recordings), archive: disk(this.src.volumes.archive) },
      certificates,
      pool: { total: this.src.pool.totalCount, idle: this.src.pool.idleCount, waiting: this.src.pool.waitingCount },
    };
  }
}

function freeBytes(path: string): number {
  try {
    const s = statfsSync(path);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

/** notAfter of the first certificate in a PEM file; null when unreadable. */
function certificateExpiry(file: string): Date | null {
  try {
    const pem = readFileSync(file, 'utf8');
    const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
    return first ? new Date(new X509Certificate(first[0]).validTo) : null;
  } catch {
    return null;
  }
}
