import { Worker } from 'node:worker_threads';
import { hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { HASH_SIZE, hashChildren } from './merkle.js';

/**
 * Hashes leaves on worker threads, in batches of BATCH_ROWS (a power of two); each full batch is folded into
 * all its complete subtrees (see FOLD_TO for who folds), so that the verifier appends one subtree per batch.
 * PostgreSQL, the row parser and the hashing then run side by side on the machine's cores.
 * Batches come back in the order they were added, whichever worker hashed them.
 */

export const BATCH_LEVEL = 12;
export const BATCH_ROWS = 2 ** BATCH_LEVEL;
/** batches queued for the worker before the input is paused (bounds memory when the worker falls behind) */
const MAX_IN_FLIGHT = 16;

/** One batch as handed back: leaf hashes (32 bytes each), and the subtree root when the batch is full. */
export interface HashedBatch {
  count: number;
  /** leaf index of each row; -(index + 1) when the row's event is missing (no leaf bytes) */
  indexes: Float64Array;
  hashes: Buffer;
  /** the stored leaf hash of each row, where flags bit 0 is set */
  stored: Buffer;
  flags: Uint8Array;
  /** rows with a stored hash */
  storedCount: number;
  /**
   * When count = BATCH_ROWS and every row has leaf bytes: every complete subtree of the batch, levels[L] holding
   * the 2^(BATCH_LEVEL - L) hashes of level L (levels[0] = hashes, levels[BATCH_LEVEL] = the batch root).
   */
  levels: Buffer[] | null;
}

export type BatchSink = (batch: HashedBatch) => void;

// Plain CommonJS so that it runs the same under tsx and from dist.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { hash } = require('node:crypto');
const node = Buffer.alloc(65);
parentPort.on('message', (m) => {
  const data = Buffer.from(m.data, 0, m.bytes);
  const offsets = new Uint32Array(m.offsets);
  const out = Buffer.from(m.hashes);
  let complete = m.count === ${BATCH_ROWS};
  for (let i = 0; i < m.count; i++) {
    const a = offsets[i], b = offsets[i + 1];
    if (b > a) hash('sha256', data.subarray(a, b), 'buffer').copy(out, i * 32);
    else complete = false;
  }
  let tree = null;
  if (complete) {
    // fold the leaf hashes level by level (RFC 6962 interior nodes) down to foldTo nodes; every level is sent back
    let level = out.subarray(0, m.count * 32);
    let n = m.count;
    const parts = [];
    node[0] = 1;
    while (n > m.foldTo) {
      const next = Buffer.allocUnsafe((n / 2) * 32);
      for (let i = 0; i < n; i += 2) {
        level.copy(node, 1, i * 32, i * 32 + 64);
        hash('sha256', node, 'buffer').copy(next, (i / 2) * 32);
      }
      parts.push(next);
      level = next;
      n /= 2;
    }
    const all = Buffer.concat(parts);
    tree = all.buffer.slice(all.byteOffset, all.byteOffset + all.length);
  }
  m.tree = tree;
  parentPort.postMessage(m, tree ? [m.data, m.offsets, m.hashes, tree] : [m.data, m.offsets, m.hashes]);
});
`;

interface Batch {
  id: number;
  count: number;
  bytes: number;
  data: ArrayBuffer;
  offsets: ArrayBuffer;
  hashes: ArrayBuffer;
  indexes: Float64Array;
  stored: Buffer;
  flags: Uint8Array;
  storedCount: number;
}

function newBatch(bytes = 2 << 20): Batch {
  return {
    id: 0,
    count: 0,
    bytes: 0,
    data: new ArrayBuffer(bytes),
    offsets: new ArrayBuffer((BATCH_ROWS + 1) * 4),
    hashes: new ArrayBuffer(BATCH_ROWS * HASH_SIZE),
    indexes: new Float64Array(BATCH_ROWS),
    stored: Buffer.alloc(BATCH_ROWS * HASH_SIZE),
    flags: new Uint8Array(BATCH_ROWS),
    storedCount: 0,
  };
}

/**
 * The workers fold each full batch down to FOLD_TO subtree hashes and the main thread folds those to the batch
 * root. A hash call costs about 1 µs in Node whatever it hashes (the call, not SHA-256, dominates), and the main
 * thread already parses every row: measured on this 2-core machine with PostgreSQL on the same cores, the
 * verifier is fastest when the workers fold everything (FOLD_TO = 1).
 */
const FOLD_TO = 1;
/**
 * Worker threads: batches go round-robin and come back in order. At least two (on this 2-core machine, 1M events
 * verify in about 2.9 s with two against 3.3 s with one, PostgreSQL sharing the cores); one per core up to four.
 */
const WORKERS = Math.max(2, Math.min(4, availableParallelism()));

/** Folds the remaining top levels on this thread; returns them (the last one is the batch root). */
function foldTop(level: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let cur = level;
  while (cur.length > HASH_SIZE) {
    const next = Buffer.allocUnsafe(cur.length / 2);
    for (let i = 0; i < cur.length; i += 2 * HASH_SIZE) {
      hashChildren(cur.subarray(i, i + HASH_SIZE), cur.subarray(i + HASH_SIZE, i + 2 * HASH_SIZE)).copy(next, i / 2);
    }
    out.push(next);
    cur = next;
  }
  return out;
}

interface Returned {
  id: number;
  data: ArrayBuffer;
  offsets: ArrayBuffer;
  hashes: ArrayBuffer;
  tree: ArrayBuffer | null;
}

export class LeafHasher {
  private workers: Worker[];
  private current: Batch;
  private dataView: Buffer;
  private offsetView: Uint32Array;
  private readonly inFlight = new Map<number, Batch>();
  private readonly free: Batch[] = [];
  private nextId = 1;
  private failure: unknown = null;
  private drained: (() => void) | null = null;
  /** batches back from a worker ahead of an earlier one, by id */
  private readonly early = new Map<number, Returned>();
  private nextEmit = 1;

  /**
   * `useWorker: false` hashes on the calling thread (same results). `throttle(true)` is called when too many
   * batches wait for the worker (the caller should pause its input), `throttle(false)` when it may go on.
   */
  constructor(
    private readonly sink: BatchSink,
    useWorker = true,
    private readonly throttle: (pause: boolean) => void = () => undefined,
  ) {
    this.workers = useWorker ? Array.from({ length: WORKERS }, () => new Worker(WORKER_SOURCE, { eval: true })) : [];
    for (const w of this.workers) {
      w.on('message', (m: Returned) => this.returned(m));
      const fail = (err: unknown): void => {
        this.failure ??= err;
        // the input may be paused waiting for this worker: let it run to its end so that the caller sees the failure
        this.throttle(false);
        this.drained?.();
      };
      w.on('error', fail);
      w.on('exit', (code) => {
        if (this.workers.includes(w)) fail(new Error(`leaf hashing worker exited (code ${code})`));
      });
    }
    this.current = newBatch();
    this.dataView = Buffer.from(this.current.data);
    this.offsetView = new Uint32Array(this.current.offsets);
  }

  /**
   * Adds the next row. The leaf bytes are src[start, end), and src[start - 1] is scratch that becomes the 0x00
   * prefix; start = -1 when the event is missing. `stored` (optional) is the stored leaf hash at storedAt.
   */
  add(index: number, src: Buffer, start: number, end: number, stored: Buffer | null, storedAt = 0): void {
    let b = this.current;
    if (b.count === BATCH_ROWS) {
      this.send();
      b = this.current;
    }
    const i = b.count;
    const len = start < 0 ? 0 : end - start + 1;
    if (b.bytes + len > b.data.byteLength) {
      // grow this batch's buffer (batches stay BATCH_ROWS long so that they stay aligned subtrees)
      const bigger = new ArrayBuffer(Math.max(b.data.byteLength * 2, b.bytes + len));
      Buffer.from(bigger).set(this.dataView.subarray(0, b.bytes));
      b.data = bigger;
      this.dataView = Buffer.from(bigger);
    }
    this.offsetView[i] = b.bytes;
    if (start >= 0) {
      src[start - 1] = 0x00;
      src.copy(this.dataView, b.bytes, start - 1, end);
      b.bytes += len;
    }
    this.offsetView[i + 1] = b.bytes;
    b.indexes[i] = start < 0 ? -index - 1 : index;
    if (stored) {
      stored.copy(b.stored, i * HASH_SIZE, storedAt, storedAt + HASH_SIZE);
      b.flags[i] = 1;
      b.storedCount += 1;
    } else b.flags[i] = 0;
    b.count += 1;
  }

  private send(): void {
    const b = this.current;
    if (b.count === 0) return;
    b.id = this.nextId++;
    if (this.workers.length > 0) {
      this.inFlight.set(b.id, b);
      if (this.inFlight.size === MAX_IN_FLIGHT) this.throttle(true);
      this.workers[b.id % this.workers.length]!.postMessage({ id: b.id, count: b.count, bytes: b.bytes, data: b.data, offsets: b.offsets, hashes: b.hashes, foldTo: FOLD_TO }, [
        b.data,
        b.offsets,
        b.hashes,
      ]);
    } else {
      const data = Buffer.from(b.data, 0, b.bytes);
      const out = Buffer.from(b.hashes);
      const off = new Uint32Array(b.offsets);
      for (let i = 0; i < b.count; i++) {
        if (off[i + 1]! > off[i]!) hash('sha256', data.subarray(off[i]!, off[i + 1]!), 'buffer').copy(out, i * HASH_SIZE);
      }
      this.emit(b, null);
      this.free.push(b);
    }
    const next = this.free.pop() ?? newBatch();
    next.count = 0;
    next.bytes = 0;
    next.storedCount = 0;
    this.current = next;
    this.dataView = Buffer.from(next.data);
    this.offsetView = new Uint32Array(next.offsets);
  }

  private returned(m: Returned): void {
    this.early.set(m.id, m);
    for (let next = this.early.get(this.nextEmit); next; next = this.early.get(this.nextEmit)) {
      this.early.delete(this.nextEmit);
      this.nextEmit += 1;
      this.done(next);
    }
  }

  private done(m: Returned): void {
    const b = this.inFlight.get(m.id)!;
    this.inFlight.delete(m.id);
    b.data = m.data;
    b.offsets = m.offsets;
    b.hashes = m.hashes;
    try {
      if (!this.failure) this.emit(b, m.tree ? Buffer.from(m.tree) : null);
    } catch (err) {
      this.failure = err;
    }
    if (this.free.length < 4) this.free.push(b);
    if (this.inFlight.size === MAX_IN_FLIGHT / 2) this.throttle(false);
    if (this.inFlight.size === 0) this.drained?.();
  }

  private emit(b: Batch, tree: Buffer | null): void {
    // copied: the frontier and the proof memo keep references to these hashes
    const hashes = Buffer.from(b.hashes.slice(0, b.count * HASH_SIZE));
    let levels: Buffer[] | null = null;
    if (tree) {
      levels = [hashes];
      let off = 0;
      for (let n = b.count / 2; n >= FOLD_TO; n /= 2) {
        levels.push(tree.subarray(off, off + n * HASH_SIZE));
        off += n * HASH_SIZE;
      }
      levels.push(...foldTop(levels[levels.length - 1]!));
    }
    this.sink({
      count: b.count,
      indexes: b.indexes,
      hashes,
      stored: b.stored,
      flags: b.flags,
      storedCount: b.storedCount,
      levels,
    });
  }

  /** Sends the last batch and resolves when every batch was handed to the sink. */
  async finish(): Promise<void> {
    this.send();
    if (this.inFlight.size > 0 && !this.failure) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.abort();
    if (this.failure) throw this.failure;
  }

  /** Stops the worker without waiting (error paths). */
  async abort(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
