import type pg from 'pg';

/**
 * The sequencer: gives committed events their leaf indexes. One run at a time per database (transaction advisory
 * lock, so several appliance processes are safe) takes committed events that have no leaf yet, in id order, and has
 * the schema owner's `audit_sequence_append` hash them and the new interior nodes into leaf, node and head rows.
 *
 * Event ids are drawn at insert time but become visible at commit time, so a lower id may commit after a higher
 * one was sequenced. The sequencer therefore looks for unsequenced events with an anti-join above a low-water
 * mark W, and only raises W to an id high-water H read *before* a snapshot S once every transaction that was
 * in progress in S has ended (a trigger gives each inserting transaction its xid before it draws an id, so every
 * transaction holding an id ≤ H is either visible to S or listed in S's in-progress set).
 */

export interface SequencerOptions {
  /** how often the sequencer looks for committed events when nobody nudges it (default 100 ms) */
  intervalMs?: number;
  /** called with errors of background runs (default: ignored; the next run retries) */
  onError?: (err: unknown) => void;
}

const SEQUENCER_LOCK = 7_114_202_612;

/** A low-water-mark candidate: `high` becomes safe once all of `pending` and every xid in [from, to) ended. */
interface Candidate {
  high: number;
  pending: Set<bigint>;
  from: bigint;
  to: bigint;
}

/** Whether every transaction a candidate waits for has ended, as the snapshot (xip, xmax) sees it. */
function drained(c: Candidate, snap: { xip: Set<bigint>; xmax: bigint }): boolean {
  if (c.to > snap.xmax) return false; // some xid below `to` is still >= xmax: maybe running
  for (const x of snap.xip) {
    if (c.pending.has(x)) return false;
    if (x >= c.from && x < c.to) return false;
  }
  return true;
}

export class Sequencer {
  private watermark = 0;
  private candidate: Candidate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private again = false;
  private onError: (err: unknown) => void = () => undefined;
  private listeners = new Set<(size: number) => void>();

  constructor(
    private readonly pool: pg.Pool,
    /** most events one sequencer transaction takes */
    private readonly batch: number,
  ) {}

  /** Starts the background sequencer (safe to run in several processes: runs are serialised in the database). */
  start(options: SequencerOptions = {}): void {
    if (this.timer) return;
    this.onError = options.onError ?? (() => undefined);
    const interval = options.intervalMs ?? 100;
    this.timer = setInterval(() => this.nudge(), interval);
    this.timer.unref();
    this.nudge();
  }

  /** Stops the background sequencer after a last run that takes everything committed so far. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.running) await this.running.catch(() => undefined);
    await this.sequence();
  }

  /** Asks the background sequencer to run soon (after a commit that wrote events, for instance). */
  nudge(): void {
    if (!this.timer) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const run = async (): Promise<void> => {
      do {
        this.again = false;
        try {
          await this.sequence();
        } catch (err) {
          this.onError(err);
        }
      } while (this.again && this.timer);
    };
    this.running = run().finally(() => {
      this.running = null;
    });
  }

  /**
   * One sequencer pass: sequences every committed event it can see, in batches. Returns the tree size after.
   * Callable directly (tests, shutdown, tools); concurrent callers are serialised by an advisory lock.
   */
  async sequence(): Promise<{ size: number; sequenced: number }> {
    let total = 0;
    for (;;) {
      const { size, sequenced, more } = await this.sequenceBatch();
      total += sequenced;
      if (sequenced > 0) for (const l of this.listeners) l(size);
      if (!more) return { size, sequenced: total };
    }
  }

  private async sequenceBatch(): Promise<{ size: number; sequenced: number; more: boolean }> {
    const client = await this.pool.connect();
    let failed = false;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [SEQUENCER_LOCK]);
      // Statement A (its own snapshot, taken after the lock): the current head and the id high-water mark.
      const head = (
        await client.query<{ tree_size: string; watermark: string; high: string }>(
          `SELECT tree_size, watermark,
                  (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM audit_event_id_seq) AS high
             FROM audit_tree_head ORDER BY tree_size DESC LIMIT 1`,
        )
      ).rows[0];
      if (!head) throw new Error('audit_tree_head is empty: migrations not applied?');
      const size = Number(head.tree_size);
      const high = Number(head.high);
      const storedWatermark = Number(head.watermark);
      if (storedWatermark > this.watermark) this.watermark = storedWatermark;
      // Our own xid, drawn after reading the high-water mark: every transaction holding an id <= high got its
      // xid before that id (trigger order), so its xid is below ours.
      const own = BigInt((await client.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')).rows[0]!.x);
      // Statement B (a later snapshot): committed unsequenced events above W, and who was in progress.
      const rows = (
        await client.query<{ xip: string; xmax: string; id: string | null; body: string | null }>(
          `SELECT s.xip, s.xmax, e.id, e.body
             FROM (SELECT array_to_string(ARRAY(SELECT pg_snapshot_xip(pg_current_snapshot())), ',') AS xip,
                          pg_snapshot_xmax(pg_current_snapshot())::text AS xmax) s
             LEFT JOIN LATERAL (
               SELECT e.id, e.body FROM audit_event e
                WHERE e.id > $1 AND NOT EXISTS (SELECT 1 FROM audit_leaf l WHERE l.event_id = e.id)
                ORDER BY e.id LIMIT $2) e ON true`,
          [this.watermark, this.batch],
        )
      ).rows;
      const snap = {
        xip: new Set(
          (rows[0]?.xip ?? '')
            .split(',')
            .filter((x) => x.length > 0)
            .map((x) => BigInt(x)),
        ),
        xmax: BigInt(rows[0]!.xmax),
      };
      const events = rows.filter((r) => r.id !== null) as Array<{ id: string; body: string }>;
      const truncated = events.length >= this.batch;

      // Low-water mark: the pending candidate's high id is safe once every transaction that may hold an id at
      // or below it has ended as this snapshot sees it.
      let safe = this.watermark;
      if (this.candidate && drained(this.candidate, snap)) {
        safe = Math.max(safe, this.candidate.high);
        this.candidate = null;
      }
      if (!this.candidate) {
        // In progress at this snapshot, below our xid: the listed ones, plus any xid in [xmax, own), which a
        // snapshot never lists (PostgreSQL treats every xid >= xmax as running without listing it).
        const pending = new Set([...snap.xip].filter((x) => x < own));
        this.candidate = { high, pending, from: snap.xmax, to: own };
      }
      if (truncated) safe = Math.min(safe, Number(events[events.length - 1]!.id));
      const newWatermark = Math.max(this.watermark, safe);

      if (events.length === 0) {
        await client.query('COMMIT');
        this.watermark = newWatermark;
        return { size, sequenced: 0, more: false };
      }
      // The tree is extended by the schema owner's function, which hashes each leaf from its event's bytes and
      // every node and root from those leaves: this role may insert events only (compliance migration 0011).
      const appended = (await client.query<{ tree_size: string }>('SELECT tree_size FROM audit_sequence_append($1::bigint[], $2)', [events.map((e) => e.id), newWatermark])).rows[0]!;
      await client.query('COMMIT');
      this.watermark = newWatermark;
      return { size: Number(appended.tree_size), sequenced: events.length, more: truncated };
    } catch (err) {
      failed = true;
      await client.query('ROLLBACK').catch(() => undefined);
      this.candidate = null;
      throw err;
    } finally {
      client.release(failed);
    }
  }

  /** Resolves with the event's leaf index once it is sequenced (nudging the sequencer, or running it if none). */
  async waitFor(eventId: number, timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.pool.query<{ leaf_index: string }>('SELECT leaf_index FROM audit_leaf WHERE event_id = $1', [eventId]);
      if (r.rows[0]) return Number(r.rows[0].leaf_index);
      if (Date.now() > deadline) throw new Error(`event ${eventId} not sequenced within ${timeoutMs} ms`);
      if (this.timer) {
        this.nudge();
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(t);
            this.listeners.delete(done);
            resolve();
          };
          const t = setTimeout(done, 50);
          this.listeners.add(done);
        });
      } else {
        await this.sequence();
      }
    }
  }
}
