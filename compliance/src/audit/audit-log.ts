import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { AuditError } from './errors.js';
import { encodeEvent, decodeEvent, type AuditEvent, type AuditEventInput } from './event.js';
import {
  consistencyRanges,
  foldRange,
  inclusionRanges,
  nodeKey,
  rangeNodes,
  type NodeId,
} from './merkle.js';
import { parseVerifierKey, type NoteSigner } from './checkpoint.js';
import { Checkpointer, type CheckpointerOptions } from './checkpointer.js';

/**
 * The PostgreSQL-backed audit log.
 *
 * Writing is split in two so that no transaction waits on a single head row:
 *  1. `appendInTx` / `append` insert the event row (canonical JSON) — a plain insert in the caller's transaction
 *     (or, for `append`, in a group-commit batch shared by concurrent callers).
 *  2. The sequencer (one run at a time per database, by transaction advisory lock) takes committed events that
 *     have no leaf yet, gives them consecutive leaf indexes, hashes them and the new interior nodes in Node, and
 *     inserts leaf, node and tree-head rows in one transaction.
 *
 * Event ids are drawn at insert time but become visible at commit time, so a lower id may commit after a higher
 * one was sequenced. The sequencer therefore looks for unsequenced events with an anti-join above a low-water
 * mark W, and only raises W to an id high-water H read *before* a snapshot S once every transaction that was
 * in progress in S has ended (a trigger gives each inserting transaction its xid before it draws an id, so every
 * transaction holding an id ≤ H is either visible to S or listed in S's in-progress set).
 */

export interface AuditLogOptions {
  pool: pg.Pool;
  /** clock for events without a time (tests) */
  now?: () => Date;
  /** signs checkpoints; needed for startCheckpointer() and verifierKey() */
  signer?: NoteSigner;
  /**
   * without a signer: the verifier key file the signing process publishes beside its checkpoints (read when first
   * asked for, then kept), so a process that must not hold the signing key can still serve the verifier key
   */
  verifierKeyFile?: string;
  /** checkpoint origin line; default `kyc-appliance.local/audit` */
  origin?: string;
  /** most events one group commit inserts (default 1000) */
  groupCommitMaxBatch?: number;
  /** group-commit transactions in flight at once (default 2) */
  groupCommitConcurrency?: number;
  /** most events one sequencer transaction takes (default 10000) */
  sequencerBatch?: number;
}

export interface SequencerOptions {
  /** how often the sequencer looks for committed events when nobody nudges it (default 100 ms) */
  intervalMs?: number;
  /** called with errors of background runs (default: ignored; the next run retries) */
  onError?: (err: unknown) => void;
}

export interface TreeHead {
  size: number;
  rootHash: Buffer;
}

export interface InclusionProof {
  leafIndex: number;
  treeSize: number;
  leafHash: string;
  rootHash: string;
  /** RFC 9162 audit path, leaf side first, base64 */
  hashes: string[];
}

export interface ConsistencyProof {
  from: number;
  to: number;
  fromRootHash: string;
  toRootHash: string;
  /** RFC 9162 consistency path, base64 */
  hashes: string[];
}

export interface EventFilter {
  /** actor.username, exact */
  actor?: string;
  /** exact action, or a prefix ending in `.*` (e.g. `case.*`) */
  action?: string;
  objectType?: string;
  objectId?: string;
  /** any of these object ids (1..1000 of them), in one query */
  objectIds?: readonly string[];
  result?: string;
  /** inclusive lower bound on event time */
  since?: Date | string;
  /** exclusive upper bound on event time */
  until?: Date | string;
  /** newest first (default) or oldest first */
  order?: 'desc' | 'asc';
}

export interface ListedEvent {
  leafIndex: number;
  eventId: number;
  /** the leaf bytes: canonical JSON, to be encoded as UTF-8 */
  leaf: string;
  /** base64 SHA-256(0x00 ‖ leaf) */
  leafHash: string;
  event: AuditEvent;
}

export interface EventPage {
  events: ListedEvent[];
  /** pass back to get the next page; null at the end */
  nextCursor: string | null;
}

export const DEFAULT_ORIGIN = 'kyc-appliance.local/audit';
const SEQUENCER_LOCK = 7_114_202_612;
const MAX_PAGE = 1000;

interface Pending {
  json: string;
  resolve: (v: { eventId: number }) => void;
  reject: (e: unknown) => void;
}

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

function rangeError(message: string): never {
  throw new AuditError('KYC_ERR_PROOF_RANGE', message);
}

function queryError(message: string): never {
  throw new AuditError('KYC_ERR_AUDIT_QUERY_INVALID', message);
}


export class AuditLog {
  readonly pool: pg.Pool;
  readonly origin: string;
  readonly signer: NoteSigner | undefined;
  private readonly verifierKeyFile: string | undefined;
  private publishedVerifierKey: string | null = null;
  private readonly now: () => Date;
  private readonly maxBatch: number;
  private readonly concurrency: number;
  private readonly sequencerBatch: number;

  private queue: Pending[] = [];
  private flushers = 0;
  private closed = false;

  private watermark = 0;
  private candidate: Candidate | null = null;
  private sequencerTimer: NodeJS.Timeout | null = null;
  private sequencerRunning: Promise<unknown> | null = null;
  private sequencerAgain = false;
  private sequencerOnError: (err: unknown) => void = () => undefined;
  private sequencedListeners = new Set<(size: number) => void>();
  private checkpointer: Checkpointer | null = null;

  constructor(options: AuditLogOptions) {
    this.pool = options.pool;
    this.now = options.now ?? (() => new Date());
    this.signer = options.signer;
    this.verifierKeyFile = options.verifierKeyFile;
    this.origin = options.origin ?? DEFAULT_ORIGIN;
    this.maxBatch = options.groupCommitMaxBatch ?? 1000;
    this.concurrency = options.groupCommitConcurrency ?? 2;
    this.sequencerBatch = options.sequencerBatch ?? 10_000;
  }

  // ---------------------------------------------------------------- writing

  /**
   * Inserts the event inside the caller's open transaction (`client` between BEGIN and COMMIT): the event
   * exists if and only if the transaction commits. Throws (and so fails the caller's action) if the event is
   * invalid or cannot be written. The event gets its leaf index once the sequencer sees it committed.
   */
  async appendInTx(client: pg.ClientBase, input: AuditEventInput): Promise<{ eventId: number }> {
    const { json } = encodeEvent(input, this.now);
    const res = await client.query<{ id: string }>('INSERT INTO audit_event (body) VALUES ($1) RETURNING id', [json]);
    return { eventId: Number(res.rows[0]!.id) };
  }

  /**
   * Appends an event that belongs to no business transaction (sign-in, views, denials). Concurrent calls share
   * one transaction (group commit); resolves after that transaction commits.
   */
  append(input: AuditEventInput): Promise<{ eventId: number }> {
    if (this.closed) return Promise.reject(new AuditError('KYC_ERR_AUDIT_CLOSED', 'audit log is closed'));
    let json: string;
    try {
      json = encodeEvent(input, this.now).json;
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ json, resolve, reject });
      if (this.flushers < this.concurrency) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushers += 1;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const res = await this.pool.query<{ id: string }>(
            'INSERT INTO audit_event (body) SELECT b FROM unnest($1::text[]) WITH ORDINALITY AS t(b, n) ORDER BY n RETURNING id',
            [batch.map((p) => p.json)],
          );
          if (res.rows.length !== batch.length) throw new Error('group commit returned a wrong row count');
          const ids = res.rows.map((r) => Number(r.id)).sort((a, b) => a - b);
          batch.forEach((p, i) => p.resolve({ eventId: ids[i]! }));
          this.nudge();
        } catch (err) {
          const wrapped = new AuditError('KYC_ERR_AUDIT_WRITE', `audit event not written: ${(err as Error).message}`, { cause: err });
          for (const p of batch) p.reject(wrapped);
        }
      }
    } finally {
      this.flushers -= 1;
    }
  }

  // ---------------------------------------------------------------- sequencing

  /** Starts the background sequencer (safe to run in several processes: runs are serialised in the database). */
  startSequencer(options: SequencerOptions = {}): void {
    if (this.sequencerTimer) return;
    this.sequencerOnError = options.onError ?? (() => undefined);
    const interval = options.intervalMs ?? 100;
    this.sequencerTimer = setInterval(() => this.nudge(), interval);
    this.sequencerTimer.unref();
    this.nudge();
  }

  /** Stops the background sequencer after a last run that takes everything committed so far. */
  async stopSequencer(): Promise<void> {
    if (this.sequencerTimer) clearInterval(this.sequencerTimer);
    this.sequencerTimer = null;
    while (this.sequencerRunning) await this.sequencerRunning.catch(() => undefined);
    await this.sequence();
  }

  /** Asks the background sequencer to run soon (after a commit that wrote events, for instance). */
  nudge(): void {
    if (!this.sequencerTimer) return;
    if (this.sequencerRunning) {
      this.sequencerAgain = true;
      return;
    }
    const run = async (): Promise<void> => {
      do {
        this.sequencerAgain = false;
        try {
          await this.sequence();
        } catch (err) {
          this.sequencerOnError(err);
        }
      } while (this.sequencerAgain && this.sequencerTimer);
    };
    this.sequencerRunning = run().finally(() => {
      this.sequencerRunning = null;
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
      if (sequenced > 0) for (const l of this.sequencedListeners) l(size);
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
          [this.watermark, this.sequencerBatch],
        )
      ).rows;
      const snap = {
        xip: new Set((rows[0]?.xip ?? '').split(',').filter((x) => x.length > 0).map((x) => BigInt(x))),
        xmax: BigInt(rows[0]!.xmax),
      };
      const events = rows.filter((r) => r.id !== null) as Array<{ id: string; body: string }>;
      const truncated = events.length >= this.sequencerBatch;

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
      const appended = (
        await client.query<{ tree_size: string }>('SELECT tree_size FROM audit_sequence_append($1::bigint[], $2)', [
          events.map((e) => e.id),
          newWatermark,
        ])
      ).rows[0]!;
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
  async waitForSequenced(eventId: number, timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.pool.query<{ leaf_index: string }>('SELECT leaf_index FROM audit_leaf WHERE event_id = $1', [eventId]);
      if (r.rows[0]) return Number(r.rows[0].leaf_index);
      if (Date.now() > deadline) throw new Error(`event ${eventId} not sequenced within ${timeoutMs} ms`);
      if (this.sequencerTimer) {
        this.nudge();
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(t);
            this.sequencedListeners.delete(done);
            resolve();
          };
          const t = setTimeout(done, 50);
          this.sequencedListeners.add(done);
        });
      } else {
        await this.sequence();
      }
    }
  }

  // ---------------------------------------------------------------- checkpoints

  /** Starts writing signed checkpoints every N events or T ms (needs `signer`). */
  async startCheckpointer(options: Omit<CheckpointerOptions, 'log' | 'signer' | 'origin'>): Promise<Checkpointer> {
    if (this.checkpointer) return this.checkpointer;
    if (!this.signer) throw new AuditError('KYC_ERR_AUDIT_KEY', 'no signing key configured for checkpoints');
    const cp = new Checkpointer({ ...options, log: this, signer: this.signer, origin: this.origin });
    await cp.start();
    this.checkpointer = cp;
    return cp;
  }

  /** Stops the checkpointer after writing a final checkpoint of everything sequenced. */
  async stopCheckpointer(): Promise<void> {
    const cp = this.checkpointer;
    this.checkpointer = null;
    if (cp) await cp.close();
  }

  /** Shutdown: flushes pending appends, sequences everything, writes the final checkpoint. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.flushers > 0) await new Promise((r) => setTimeout(r, 5));
    await this.stopSequencer();
    await this.stopCheckpointer();
  }

  /** The latest signed checkpoint note (text), or null before the first one. */
  async latestCheckpoint(): Promise<string | null> {
    const r = await this.pool.query<{ note: string }>('SELECT note FROM audit_checkpoint ORDER BY tree_size DESC, id DESC LIMIT 1');
    return r.rows[0]?.note ?? null;
  }

  /** The note verifier key `<name>+<hex id>+<base64>` to publish, or null when no signer is configured. */
  verifierKey(): string | null {
    if (this.signer) return this.signer.verifierKey;
    if (this.publishedVerifierKey === null && this.verifierKeyFile) {
      try {
        const text = readFileSync(this.verifierKeyFile, 'utf8').trim();
        if (text) {
          parseVerifierKey(text);
          this.publishedVerifierKey = text;
        }
      } catch {
        // not written yet (the signer has not started) or not readable: null until it is
      }
    }
    return this.publishedVerifierKey;
  }

  // ---------------------------------------------------------------- reading

  async treeHead(): Promise<TreeHead> {
    const r = await this.pool.query<{ tree_size: string; root_hash: Buffer }>(
      'SELECT tree_size, root_hash FROM audit_tree_head ORDER BY tree_size DESC LIMIT 1',
    );
    const row = r.rows[0]!;
    return { size: Number(row.tree_size), rootHash: row.root_hash };
  }

  /** Fetches complete-subtree hashes by (level, index) in one query. */
  private async fetchNodes(ids: NodeId[]): Promise<Map<number, Buffer>> {
    const leaves: number[] = [];
    const ends: number[] = [];
    const levels: number[] = [];
    for (const id of ids) {
      if (id.level === 0) leaves.push(id.index);
      else {
        ends.push((id.index + 1) * 2 ** id.level);
        levels.push(id.level);
      }
    }
    const r = await this.pool.query<{ level: number; end_index: string; hash: Buffer }>(
      `SELECT n.level::int AS level, n.end_index, n.hash FROM audit_node n
         JOIN unnest($1::bigint[], $2::smallint[]) AS q(e, l) ON n.end_index = q.e AND n.level = q.l
       UNION ALL
       SELECT 0, leaf_index + 1, leaf_hash FROM audit_leaf WHERE leaf_index = ANY($3::bigint[])`,
      [ends, levels, leaves],
    );
    const out = new Map<number, Buffer>();
    for (const row of r.rows) {
      const level = row.level;
      out.set(nodeKey(level, Number(row.end_index) / 2 ** level - 1), row.hash);
    }
    return out;
  }

  private async rangeHashes(ranges: Array<[number, number]>): Promise<Buffer[]> {
    const plans = ranges.map(([a, b]) => rangeNodes(a, b));
    const nodes = await this.fetchNodes(plans.flat());
    return plans.map((plan) =>
      foldRange(
        plan.map((id) => {
          const h = nodes.get(nodeKey(id.level, id.index));
          if (!h) throw new Error(`audit node level ${id.level} index ${id.index} is missing`);
          return h;
        }),
      ),
    );
  }

  private static checkInt(name: string, v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) rangeError(`${name} must be a non-negative integer`);
  }

  /** RFC 9162 inclusion proof of leaf `index` in the tree of size `size` (≤ current size). */
  async inclusionProof(index: number, size: number): Promise<InclusionProof> {
    AuditLog.checkInt('index', index);
    AuditLog.checkInt('size', size);
    if (index >= size) rangeError(`index ${index} is not below tree size ${size}`);
    const head = await this.treeHead();
    if (size > head.size) rangeError(`tree size ${size} is larger than the log (${head.size})`);
    const ranges = inclusionRanges(index, size);
    const hashes = await this.rangeHashes([[index, index + 1], [0, size], ...ranges]);
    const [leafHash, rootHash, ...path] = hashes as [Buffer, Buffer, ...Buffer[]];
    return {
      leafIndex: index,
      treeSize: size,
      leafHash: leafHash.toString('base64'),
      rootHash: rootHash.toString('base64'),
      hashes: path.map((h) => h.toString('base64')),
    };
  }

  /** RFC 9162 consistency proof between tree sizes `from` ≤ `to` (≤ current size). */
  async consistencyProof(from: number, to: number): Promise<ConsistencyProof> {
    AuditLog.checkInt('from', from);
    AuditLog.checkInt('to', to);
    if (from > to) rangeError(`from ${from} is larger than to ${to}`);
    const head = await this.treeHead();
    if (to > head.size) rangeError(`tree size ${to} is larger than the log (${head.size})`);
    const ranges = from > 0 && from < to ? consistencyRanges(from, to) : [];
    const hashes = await this.rangeHashes([[0, from], [0, to], ...ranges]);
    const [fromRoot, toRoot, ...path] = hashes as [Buffer, Buffer, ...Buffer[]];
    return {
      from,
      to,
      fromRootHash: fromRoot.toString('base64'),
      toRootHash: toRoot.toString('base64'),
      hashes: path.map((h) => h.toString('base64')),
    };
  }

  /**
   * Sequenced events matching the filter, newest first by default, with keyset pagination on the leaf index.
   * Bad filters throw KYC_ERR_AUDIT_QUERY_INVALID.
   */
  async listEvents(filter: EventFilter = {}, cursor?: string | null, limit = 50): Promise<EventPage> {
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) queryError(`limit must be 1..${MAX_PAGE}`);
    const order = filter.order ?? 'desc';
    if (order !== 'desc' && order !== 'asc') queryError('order must be asc or desc');
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown): string => {
      params.push(v);
      return `$${params.length}`;
    };
    const str = (name: string, v: unknown): string => {
      if (typeof v !== 'string' || v.length === 0 || v.length > 256) queryError(`${name} must be a non-empty string`);
      return v;
    };
    const time = (name: string, v: Date | string): string => {
      const d = v instanceof Date ? v : new Date(v);
      if (Number.isNaN(d.getTime())) queryError(`${name} must be a date`);
      return d.toISOString();
    };
    if (filter.actor !== undefined) where.push(`e.actor = ${p(str('actor', filter.actor))}`);
    if (filter.action !== undefined) {
      const a = str('action', filter.action);
      if (a.endsWith('.*')) {
        const prefix = a.slice(0, -1);
        if (!/^[a-z0-9_.]+$/.test(prefix)) queryError('action prefix must be dotted lowercase');
        where.push(`e.action LIKE ${p(`${prefix}%`)}`);
      } else where.push(`e.action = ${p(a)}`);
    }
    if (filter.objectType !== undefined) where.push(`e.object_type = ${p(str('objectType', filter.objectType))}`);
    if (filter.objectId !== undefined) where.push(`e.object_id = ${p(str('objectId', filter.objectId))}`);
    if (filter.objectIds !== undefined) {
      if (!Array.isArray(filter.objectIds) || filter.objectIds.length === 0 || filter.objectIds.length > 1000) queryError('objectIds must list 1..1000 ids');
      where.push(`e.object_id = ANY(${p(filter.objectIds.map((id) => str('objectIds', id)))}::text[])`);
    }
    if (filter.result !== undefined) where.push(`e.result = ${p(str('result', filter.result))}`);
    if (filter.since !== undefined) where.push(`e.ev_time >= ${p(time('since', filter.since))}`);
    if (filter.until !== undefined) where.push(`e.ev_time < ${p(time('until', filter.until))}`);
    if (cursor !== undefined && cursor !== null) {
      const m = /^v1:(asc|desc):(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (!m || m[1] !== order) queryError('bad cursor');
      where.push(`l.leaf_index ${order === 'desc' ? '<' : '>'} ${p(Number(m[2]))}`);
    }
    const sql = `SELECT l.leaf_index, l.event_id, l.leaf_hash, e.body
                   FROM audit_event e JOIN audit_leaf l ON l.event_id = e.id
                  ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                  ORDER BY l.leaf_index ${order === 'desc' ? 'DESC' : 'ASC'} LIMIT ${p(limit + 1)}`;
    const r = await this.pool.query<{ leaf_index: string; event_id: string; leaf_hash: Buffer; body: string }>(sql, params);
    const rows = r.rows.slice(0, limit);
    const events = rows.map((row) => ({
      leafIndex: Number(row.leaf_index),
      eventId: Number(row.event_id),
      leaf: row.body,
      leafHash: row.leaf_hash.toString('base64'),
      event: decodeEvent(row.body),
    }));
    const last = events[events.length - 1];
    const nextCursor =
      r.rows.length > limit && last ? Buffer.from(`v1:${order}:${last.leafIndex}`).toString('base64url') : null;
    return { events, nextCursor };
  }
}
