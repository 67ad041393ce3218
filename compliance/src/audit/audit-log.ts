import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { AuditError } from './errors.js';
import { encodeEvent, type AuditEventInput } from './event.js';
import { parseVerifierKey, type NoteSigner } from './checkpoint.js';
import { Checkpointer, type CheckpointerOptions } from './checkpointer.js';
import { Sequencer, type SequencerOptions } from './sequencer.js';
import { consistencyProof, inclusionProof, readTreeHead, type ConsistencyProof, type InclusionProof, type TreeHead } from './tree-proofs.js';
import { listEvents, type EventFilter, type EventPage } from './event-listing.js';

export type { SequencerOptions } from './sequencer.js';
export type { TreeHead, InclusionProof, ConsistencyProof } from './tree-proofs.js';
export type { EventFilter, ListedEvent, EventPage } from './event-listing.js';

/**
 * The PostgreSQL-backed audit log.
 *
 * Writing is split in two so that no transaction waits on a single head row:
 *  1. `appendInTx` / `append` insert the event row (canonical JSON) — a plain insert in the caller's transaction
 *     (or, for `append`, in a group-commit batch shared by concurrent callers).
 *  2. The sequencer (`sequencer.ts`: one run at a time per database) takes committed events that have no leaf
 *     yet, gives them consecutive leaf indexes, and has the tree's leaf, node and head rows written in one
 *     transaction.
 * Proofs are read by `tree-proofs.ts`, event searches by `event-listing.ts`, checkpoints written by `checkpointer.ts`.
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

export const DEFAULT_ORIGIN = 'kyc-appliance.local/audit';

interface Pending {
  json: string;
  resolve: (v: { eventId: number }) => void;
  reject: (e: unknown) => void;
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
  private readonly sequencer: Sequencer;

  private queue: Pending[] = [];
  private flushers = 0;
  private closed = false;
  private checkpointer: Checkpointer | null = null;

  constructor(options: AuditLogOptions) {
    this.pool = options.pool;
    this.now = options.now ?? (() => new Date());
    this.signer = options.signer;
    this.verifierKeyFile = options.verifierKeyFile;
    this.origin = options.origin ?? DEFAULT_ORIGIN;
    this.maxBatch = options.groupCommitMaxBatch ?? 1000;
    this.concurrency = options.groupCommitConcurrency ?? 2;
    this.sequencer = new Sequencer(this.pool, options.sequencerBatch ?? 10_000);
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
          const res = await this.pool.query<{ id: string }>('INSERT INTO audit_event (body) SELECT b FROM unnest($1::text[]) WITH ORDINALITY AS t(b, n) ORDER BY n RETURNING id', [
            batch.map((p) => p.json),
          ]);
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
    this.sequencer.start(options);
  }

  /** Stops the background sequencer after a last run that takes everything committed so far. */
  stopSequencer(): Promise<void> {
    return this.sequencer.stop();
  }

  /** Asks the background sequencer to run soon (after a commit that wrote events, for instance). */
  nudge(): void {
    this.sequencer.nudge();
  }

  /**
   * One sequencer pass: sequences every committed event it can see, in batches. Returns the tree size after.
   * Callable directly (tests, shutdown, tools); concurrent callers are serialised by an advisory lock.
   */
  sequence(): Promise<{ size: number; sequenced: number }> {
    return this.sequencer.sequence();
  }

  /** Resolves with the event's leaf index once it is sequenced (nudging the sequencer, or running it if none). */
  waitForSequenced(eventId: number, timeoutMs = 10_000): Promise<number> {
    return this.sequencer.waitFor(eventId, timeoutMs);
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

  /** The newest stored tree head (size and root). */
  treeHead(): Promise<TreeHead> {
    return readTreeHead(this.pool);
  }

  /** RFC 9162 inclusion proof of leaf `index` in the tree of size `size` (≤ current size). */
  inclusionProof(index: number, size: number): Promise<InclusionProof> {
    return inclusionProof(this.pool, index, size);
  }

  /** RFC 9162 consistency proof between tree sizes `from` ≤ `to` (≤ current size). */
  consistencyProof(from: number, to: number): Promise<ConsistencyProof> {
    return consistencyProof(this.pool, from, to);
  }

  /**
   * Sequenced events matching the filter, newest first by default, with keyset pagination on the leaf index.
   * Bad filters throw KYC_ERR_AUDIT_QUERY_INVALID.
   */
  listEvents(filter: EventFilter = {}, cursor?: string | null, limit = 50): Promise<EventPage> {
    return listEvents(this.pool, filter, cursor, limit);
  }
}
