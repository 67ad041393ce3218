// The admin dashboard's data: the live figures of OpsMetrics sampled into a short in-memory ring (one process's
// view; Prometheus keeps the long history), and the warnings an operator must act on.
import type { OpsMetrics, OpsValues } from './ops-metrics.js';
import type { OpsSample, OpsThresholds, OpsView, OpsWarning } from '../api-types.js';

const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);

export class OpsDashboard {
  private readonly ring: OpsSample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastJoins = { joined: 0, recorded: 0 };

  constructor(
    private readonly metrics: OpsMetrics,
    private readonly thresholds: OpsThresholds,
    private readonly size = 360,
  ) {}

  /** Samples every `everyMs` (default 10 s: the ring holds an hour). */
  start(everyMs = 10_000, onError: (err: unknown) => void = () => undefined): void {
    if (this.timer) return;
    const tick = () => void this.sample().catch(onError);
    tick();
    this.timer = setInterval(tick, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async sample(now = Date.now()): Promise<OpsValues> {
    const v = await this.metrics.values();
    const joined = (this.metrics.joinCounts.get('socket_connected/ok') ?? 0) + (this.metrics.joinCounts.get('socket_connected/failed') ?? 0);
    const recorded = this.metrics.joinCounts.get('recording_started/ok') ?? 0;
    const dj = joined - this.lastJoins.joined;
    const dr = recorded - this.lastJoins.recorded;
    this.lastJoins = { joined, recorded };
    const media = [...this.metrics.janus.latest.values()].filter((m) => m.direction === 'up');
    const avg = (xs: (number | null)[]) => {
      const ys = xs.filter((x): x is number => x !== null);
      return ys.length > 0 ? ys.reduce((a, b) => a + b, 0) / ys.length : null;
    };
    const sum = (xs: (number | null)[]) => {
      const ys = xs.filter((x): x is number => x !== null);
      return ys.length > 0 ? ys.reduce((a, b) => a + b, 0) : null;
    };
    this.ring.push({
      at: now,
      sessionsActive: v.sessionsActive,
      recordingsInProgress: v.recordingsInProgress,
      sealQueueDepth: v.sealQueueDepth,
      sealFailures: v.sealFailures,
      joinSuccessRate: dj > 0 ? Math.min(1, dr / dj) : null,
      lossRatio: avg(media.map((m) => m.lossRatio)),
      rttMs: avg(media.map((m) => m.rttMs)),
      bitrateBps: sum(media.map((m) => m.bitrateBps)),
      diskDaysLeft: finiteOrNull(Math.min(v.disk.recordings.daysLeft, v.disk.archive.daysLeft)),
    });
    if (this.ring.length > this.size) this.ring.splice(0, this.ring.length - this.size);
    return v;
  }

  /** Current values (JSON-safe: no infinity), the history and the warnings. */
  async view(): Promise<OpsView> {
    const v = await this.sample();
    const disk = (d: OpsValues['disk']['archive']) => ({ freeBytes: d.freeBytes, daysLeft: finiteOrNull(d.daysLeft) });
    return {
      current: {
        ...v,
        disk: { recordings: disk(v.disk.recordings), archive: disk(v.disk.archive) },
        joins: Object.fromEntries(this.metrics.joinCounts),
        media: [...this.metrics.janus.latest.values()],
      },
      history: [...this.ring],
      warnings: this.warnings(v),
      thresholds: this.thresholds,
    };
  }

  warnings(v: OpsValues): OpsWarning[] {
    const out: OpsWarning[] = [];
    for (const [volume, d] of Object.entries(v.disk)) {
      if (d.daysLeft < this.thresholds.diskDays) {
        out.push({
          code: 'disk_low',
          subject: volume,
          value: Math.round(d.daysLeft * 10) / 10,
          message: `The ${volume} volume is full in ${d.daysLeft.toFixed(1)} days at the current rate (${(d.freeBytes / 2 ** 30).toFixed(1)} GiB free).`,
        });
      }
    }
    for (const [cert, seconds] of Object.entries(v.certificates)) {
      const days = seconds / 86_400;
      if (days < this.thresholds.certificateDays) {
        out.push({
          code: 'certificate_expiring',
          subject: cert,
          value: Math.floor(days),
          message: days < 0 ? `The ${cert} certificate has expired.` : `The ${cert} certificate expires in ${Math.floor(days)} days.`,
        });
      }
    }
    // seals failing: new failures within the ring's window
    const first = this.ring[0];
    if (first && v.sealFailures > first.sealFailures) {
      out.push({
        code: 'seal_failing',
        subject: '',
        value: v.sealFailures - first.sealFailures,
        message: `${v.sealFailures - first.sealFailures} seal attempts failed in the last ${Math.round((Date.now() - first.at) / 60_000)} minutes.`,
      });
    }
    if (v.checkpointAgeSeconds !== null && v.checkpointUnsealedEvents > 0 && v.checkpointAgeSeconds > 2 * this.thresholds.checkpointEverySeconds) {
      out.push({
        code: 'checkpoint_late',
        subject: '',
        value: Math.round(v.checkpointAgeSeconds),
        message: `The latest audit checkpoint is ${Math.round(v.checkpointAgeSeconds)} s old (interval ${this.thresholds.checkpointEverySeconds} s) with ${v.checkpointUnsealedEvents} events after it.`,
      });
    }
    return out;
  }
}
