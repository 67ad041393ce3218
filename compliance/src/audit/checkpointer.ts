import { readdir, readFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { AuditLog } from './audit-log.js';
import { signCheckpoint, type NoteSigner } from './checkpoint.js';
import { AuditError } from './errors.js';
import { Frontier, hashLeaf } from './merkle.js';
import { syncDir, writeFileDurably } from '../fs/durable.js';
import { TIMESTAMP_TOKEN_SUFFIX } from './timestamp.js';

/**
 * Writes signed checkpoints of the audit log every N events or T ms, and a final one at close, as append-only
 * files meant for WORM storage or a SIEM:
 *
 *   <dir>/<size, 12 digits>-<UTC time, YYYYMMDDTHHMMSSmmmZ>.checkpoint   the signed note (C2SP tlog-checkpoint)
 *   <dir>/<from, 12 digits>-<to, 12 digits>.leaves                        raw leaf hashes [from, to), 32 bytes each
 *   <dir>/verifier-key.txt                                              the note verifier key (written once)
 *   <dir>/<checkpoint file>.tst                                         RFC 3161 token over it (with a TSA)
 *
 * Files are created with O_EXCL and fsynced; nothing is ever rewritten. The `.leaves` files let the verifier
 * name the exact first altered leaf even when an attacker recomputed every hash stored in the database.
 * Each checkpoint is also inserted into audit_checkpoint so the API can serve the latest.
 */

export interface CheckpointerOptions {
  log: AuditLog;
  signer: NoteSigner;
  origin: string;
  dir: string;
  /** write when at least this many new events were sequenced (default 1000) */
  everyEvents?: number;
  /** write when this much time passed and anything new was sequenced (default 60 s) */
  everyMs?: number;
  /** how often to look at the tree size (default 250 ms) */
  pollMs?: number;
  onError?: (err: unknown) => void;
  /**
   * the institution's time-stamping authority: each checkpoint gets a token beside it. A TSA that is down never
   * stops checkpoints; the ones without a token are stamped later (a few per tick), oldest first.
   */
  timestamper?: CheckpointTimestamper;
}

export interface CheckpointTimestamper {
  stamp(data: Buffer): Promise<Buffer>;
}

/** checkpoint files stamped per tick at most (a TSA enabled on an old folder catches up gradually) */
const STAMPS_PER_TICK = 20;
/** a TSA that failed is asked again after this long */
const STAMP_RETRY_MS = 30_000;

export interface WrittenCheckpoint {
  size: number;
  file: string;
  note: string;
}

export const CHECKPOINT_FILE = /^(\d{12,})-(\d{8}T\d{9}Z)\.checkpoint$/;
export const LEAVES_FILE = /^(\d{12,})-(\d{12,})\.leaves$/;
export const VERIFIER_KEY_FILE = 'verifier-key.txt';

export function pad12(n: number): string {
  return String(n).padStart(12, '0');
}

/** checkpoint files are public (meant for WORM storage or a SIEM) and never rewritten */
const PUBLISHED = { mode: 0o644, how: 'exclusive' } as const;

export function checkpointTimestamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('.', '');
}

export class Checkpointer {
  private readonly o: Required<Omit<CheckpointerOptions, 'onError' | 'timestamper'>> & Pick<CheckpointerOptions, 'timestamper'> & { onError: (err: unknown) => void };
  /** checkpoint files of the folder that have no timestamp token yet (with a TSA), oldest first */
  private unstamped: string[] = [];
  /** after a TSA failure, no new attempt before this time (ms) */
  private stampRetryAt = 0;
  private lastSize = 0;
  private lastTime = 0;
  private leavesUpTo = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  /**
   * The tree this process recomputed itself: every leaf hashed from its event's bytes, in leaf order. A checkpoint
   * signs this root, never a tree head merely read from the database (a row anyone with write access could set).
   */
  private readonly checked = new Frontier();
  private static readonly BATCH = 10_000;

  constructor(options: CheckpointerOptions) {
    this.o = {
      everyEvents: 1000,
      everyMs: 60_000,
      pollMs: 250,
      onError: () => undefined,
      ...options,
    };
    if (!(this.o.everyEvents >= 1) || !(this.o.everyMs >= 1)) {
      throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', 'everyEvents and everyMs must be positive');
    }
  }

  /** Reads what the directory already holds and starts the timer. */
  async start(): Promise<void> {
    await mkdir(this.o.dir, { recursive: true, mode: 0o750 });
    const names = await readdir(this.o.dir);
    for (const name of names) {
      const c = CHECKPOINT_FILE.exec(name);
      if (c) this.lastSize = Math.max(this.lastSize, Number(c[1]));
      const l = LEAVES_FILE.exec(name);
      if (l) this.leavesUpTo = Math.max(this.leavesUpTo, Number(l[2]));
    }
    if (this.o.timestamper) {
      const present = new Set(names);
      this.unstamped = names.filter((n) => CHECKPOINT_FILE.test(n) && !present.has(`${n}${TIMESTAMP_TOKEN_SUFFIX}`)).sort();
    }
    if (!names.includes(VERIFIER_KEY_FILE)) {
      await writeFileDurably(join(this.o.dir, VERIFIER_KEY_FILE), `${this.o.signer.verifierKey}\n`, PUBLISHED);
    }
    this.lastTime = Date.now();
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .catch((err) => this.o.onError(err))
        .finally(() => {
          this.running = null;
        });
    }, this.o.pollMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const head = await this.o.log.treeHead();
    const due = head.size - this.lastSize >= this.o.everyEvents || (head.size > this.lastSize && Date.now() - this.lastTime >= this.o.everyMs);
    if (due) await this.checkpointNow();
    await this.stampPending();
  }

  /** Asks the TSA for tokens over checkpoints that lack one; stops at the first failure (retried next tick). */
  private async stampPending(): Promise<void> {
    const tsa = this.o.timestamper;
    if (!tsa || this.unstamped.length === 0 || Date.now() < this.stampRetryAt) return;
    try {
      await this.stampSome(tsa);
    } catch (err) {
      this.stampRetryAt = Date.now() + STAMP_RETRY_MS;
      throw err;
    }
  }

  private async stampSome(tsa: CheckpointTimestamper): Promise<void> {
    for (const name of this.unstamped.slice(0, STAMPS_PER_TICK)) {
      const path = join(this.o.dir, name);
      const token = await tsa.stamp(await readFile(path));
      // written whole or not at all (a crash mid-write must not leave a torn token that blocks a new one)
      await writeFileDurably(`${path}${TIMESTAMP_TOKEN_SUFFIX}`, token, { mode: PUBLISHED.mode, how: 'replace' });
      await syncDir(this.o.dir);
      this.unstamped.shift();
    }
  }

  /** Writes a checkpoint of the current tree head if it grew since the last one; returns it, or null. */
  async checkpointNow(): Promise<WrittenCheckpoint | null> {
    const { log, signer, origin, dir } = this.o;
    const head = await log.treeHead();
    if (head.size <= this.lastSize) return null;
    const rootHash = await this.recomputedRoot(head.size);
    if (!rootHash.equals(head.rootHash)) {
      throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', `the stored tree head of size ${head.size} does not match the root of its leaves: not signed`);
    }
    const note = signCheckpoint({ origin, size: head.size, rootHash }, signer);
    if (this.leavesUpTo < head.size) {
      const r = await log.pool.query<{ leaf_hash: Buffer }>('SELECT leaf_hash FROM audit_leaf WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index', [this.leavesUpTo, head.size]);
      if (r.rows.length === head.size - this.leavesUpTo) {
        await writeFileDurably(join(dir, `${pad12(this.leavesUpTo)}-${pad12(head.size)}.leaves`), Buffer.concat(r.rows.map((x) => x.leaf_hash)), PUBLISHED);
        this.leavesUpTo = head.size;
      }
    }
    const file = join(dir, `${pad12(head.size)}-${checkpointTimestamp(new Date())}.checkpoint`);
    await writeFileDurably(file, note, PUBLISHED);
    await syncDir(dir);
    await log.pool.query('SELECT audit_checkpoint_record($1, $2)', [head.size, note]);
    this.lastSize = head.size;
    this.lastTime = Date.now();
    if (this.o.timestamper) {
      this.unstamped.push(basename(file));
      await this.stampPending().catch((err) => this.o.onError(err));
    }
    return { size: head.size, file, note };
  }

  /** The root of the first `size` leaves, each hashed from its event's bytes (extending what was checked before). */
  private async recomputedRoot(size: number): Promise<Buffer> {
    while (this.checked.size < size) {
      const from = this.checked.size;
      const to = Math.min(size, from + Checkpointer.BATCH);
      const r = await this.o.log.pool.query<{ leaf_index: string; leaf_hash: Buffer; body: string }>(
        `SELECT l.leaf_index, l.leaf_hash, e.body FROM audit_leaf l JOIN audit_event e ON e.id = l.event_id
          WHERE l.leaf_index >= $1 AND l.leaf_index < $2 ORDER BY l.leaf_index`,
        [from, to],
      );
      // all or nothing: a batch that fails leaves the checked tree where it was
      const hashes: Buffer[] = [];
      for (const [i, row] of r.rows.entries()) {
        if (Number(row.leaf_index) !== from + i) throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', `leaf ${from + i} is missing: not signed`);
        const h = hashLeaf(Buffer.from(row.body, 'utf8'));
        if (!h.equals(row.leaf_hash)) throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', `leaf ${from + i} does not hash its event: not signed`);
        hashes.push(h);
      }
      if (hashes.length !== to - from) throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', `leaves ${from + hashes.length}..${to - 1} are missing: not signed`);
      for (const h of hashes) this.checked.append(h);
    }
    return this.checked.root();
  }

  /** Stops the timer and writes a final checkpoint of everything sequenced so far. */
  async close(): Promise<WrittenCheckpoint | null> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.running) await this.running;
    return this.checkpointNow();
  }
}
