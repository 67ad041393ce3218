import { readFileSync } from 'node:fs';
import { Frontier, foldRange, nodeKey, rangeNodes, HASH_SIZE } from '../merkle.js';
import { BATCH_LEVEL, BATCH_ROWS, type BatchSink, type HashedBatch } from '../leaf-hasher.js';
import type { LeavesFile } from './checkpoint-folder.js';
import type { LeafPush, LeafSink } from './leaf-sources.js';
import type { Problem } from './report.js';

/** the rebuilt root at one size, and the root the exported `.leaves` files give there once they diverged */
export interface Snapshot {
  root: Buffer;
  exportedRoot: Buffer | null;
}

/** leaves held while waiting for an earlier one (event order vs leaf order); beyond this, the earlier one is missing */
const MAX_EARLY = 1_000_000;

/**
 * Rebuilds the tree leaf by leaf, synchronously. Keeps the roots at the sizes asked for, the complete subtrees
 * the consistency proofs need, and compares leaf hashes with the `.leaves` files exported at checkpoint time.
 */
export class Rebuilder implements LeafSink {
  readonly frontier = new Frontier();
  readonly roots = new Map<number, Snapshot>();
  readonly memo = new Map<number, Buffer>();
  readonly problems: Problem[] = [];
  private readonly sizes: number[];
  private nextSize: number;
  private sizePos = 0;
  private exported: Frontier | null = null;
  divergence: number | null = null;
  private file: { from: number; to: number; data: Buffer } | null = null;
  private filePos = 0;
  stopped = false;
  private readonly onNode: ((level: number, index: number, hash: Buffer) => void) | undefined;
  /** ends and levels of the needed complete subtrees, by end */
  private readonly neededByEnd: Array<{ end: number; level: number }>;

  constructor(
    sizes: Iterable<number>,
    needed: Set<number>,
    private readonly leavesFiles: LeavesFile[],
  ) {
    this.neededByEnd = [...needed].map((k) => ({ end: Math.floor(k / 64), level: k % 64 })).sort((a, b) => a.end - b.end);
    this.sizes = [...new Set(sizes)].sort((a, b) => a - b);
    this.nextSize = this.sizes[0] ?? Infinity;
    this.onNode =
      needed.size > 0
        ? (level, i, hash) => {
            const key = nodeKey(level, i);
            if (needed.has(key)) this.memo.set(key, hash);
          }
        : undefined;
    this.snapshotIfDue();
  }

  get size(): number {
    return this.frontier.size;
  }

  private snapshotIfDue(): void {
    while (this.nextSize === this.frontier.size) {
      this.roots.set(this.nextSize, {
        root: this.frontier.root(),
        exportedRoot: this.exported ? this.exported.root() : null,
      });
      this.sizePos += 1;
      this.nextSize = this.sizes[this.sizePos] ?? Infinity;
    }
  }

  /** The leaf hash exported in the `.leaves` files for `index`, if a file covers it (files read as needed). */
  private exportedHash(index: number): Buffer | null {
    if (!this.file || index >= this.file.to || index < this.file.from) {
      while (this.filePos < this.leavesFiles.length && this.leavesFiles[this.filePos]!.to <= index) this.filePos += 1;
      const f = this.leavesFiles[this.filePos];
      if (!f || f.from > index) {
        this.file = null;
        return null;
      }
      this.file = { from: f.from, to: f.to, data: readFileSync(f.path) };
    }
    const off = (index - this.file.from) * HASH_SIZE;
    if (off + HASH_SIZE > this.file.data.length) return null;
    return this.file.data.subarray(off, off + HASH_SIZE);
  }

  /** The needed subtrees that finish in (start, end] at levels up to maxLevel. */
  private neededWithin(start: number, end: number, maxLevel: number): Array<{ end: number; level: number }> {
    const a = this.neededByEnd;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid]!.end <= start) lo = mid + 1;
      else hi = mid;
    }
    const out: Array<{ end: number; level: number }> = [];
    for (let i = lo; i < a.length && a[i]!.end <= end; i++) if (a[i]!.level <= maxLevel) out.push(a[i]!);
    return out;
  }

  private fileCache = new Map<string, Buffer>();

  private leavesData(f: LeavesFile): Buffer {
    let data = this.fileCache.get(f.path);
    if (!data) {
      if (this.fileCache.size >= 2) this.fileCache.delete(this.fileCache.keys().next().value!);
      data = readFileSync(f.path);
      this.fileCache.set(f.path, data);
    }
    return data;
  }

  /** The exported leaf hashes of [start, start + count) when the files cover all of it; 'none' when none of it. */
  private exportedRange(start: number, count: number): Buffer | 'none' | 'partial' {
    const end = start + count;
    const parts: Buffer[] = [];
    let pos = start;
    let overlap = false;
    for (const f of this.leavesFiles) {
      if (f.to <= pos || f.from >= end) continue;
      overlap = true;
      if (f.from > pos) return 'partial';
      const data = this.leavesData(f);
      const upTo = Math.min(end, f.to);
      const a = (pos - f.from) * HASH_SIZE;
      const b = (upTo - f.from) * HASH_SIZE;
      if (b > data.length) return 'partial';
      parts.push(data.subarray(a, b));
      pos = upTo;
      if (pos === end) break;
    }
    if (!overlap) return 'none';
    if (pos !== end) return 'partial';
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  private canAppendWhole(b: HashedBatch, start: number): boolean {
    if (!b.levels || b.count !== BATCH_ROWS || start % BATCH_ROWS !== 0 || this.early.size > 0) return false;
    for (let i = 0; i < b.count; i++) if (b.indexes[i] !== start + i) return false;
    if (b.storedCount === b.count) {
      if (b.hashes.compare(b.stored, 0, b.count * HASH_SIZE) !== 0) return false;
    } else if (b.storedCount !== 0) return false;
    if (this.leavesFiles.length > 0) {
      if (this.exported) return false;
      const e = this.exportedRange(start, b.count);
      if (e === 'partial' || (e !== 'none' && !e.equals(b.hashes))) return false;
    }
    return true;
  }

  /**
   * Appends a whole batch as one subtree. Roots at sizes inside it come from the frontier plus the batch's own
   * complete subtrees (O(log n) each), and needed subtrees inside it are read off its levels.
   */
  private appendWhole(b: HashedBatch, start: number): void {
    const levels = b.levels!;
    const node = (level: number, index: number): Buffer => {
      const j = index - start / 2 ** level;
      return levels[level]!.subarray(j * HASH_SIZE, (j + 1) * HASH_SIZE);
    };
    const end = start + b.count;
    while (this.nextSize > start && this.nextSize < end) {
      const s = this.nextSize;
      const hashes = [...this.frontier.nodes(), ...rangeNodes(start, s).map((id) => node(id.level, id.index))];
      this.roots.set(s, { root: foldRange(hashes), exportedRoot: null });
      this.sizePos += 1;
      this.nextSize = this.sizes[this.sizePos] ?? Infinity;
    }
    for (const n of this.neededWithin(start, end, BATCH_LEVEL)) {
      const index = n.end / 2 ** n.level - 1;
      this.memo.set(nodeKey(n.level, index), Buffer.from(node(n.level, index)));
    }
    this.frontier.appendSubtree(BATCH_LEVEL, levels[BATCH_LEVEL]!, this.onNode);
    this.snapshotIfDue();
  }

  readonly pushBatch: BatchSink = (b) => {
    if (this.stopped) return;
    const start = this.frontier.size;
    if (this.canAppendWhole(b, start)) {
      this.appendWhole(b, start);
      return;
    }
    for (let i = 0; i < b.count && !this.stopped; i++) {
      const raw = b.indexes[i]!;
      const stored = b.flags[i] === 1 ? b.stored.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE) : null;
      if (raw < 0) {
        this.push(-raw - 1, null, stored ? Buffer.from(stored) : null);
        continue;
      }
      const h = b.hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
      this.push(raw, h, stored === null ? null : h.equals(stored) ? h : Buffer.from(stored));
    }
  };

  /** leaves that arrived before their turn (sources may deliver in event order), by leaf index */
  private readonly early = new Map<number, [Buffer | null, Buffer | null]>();
  /** the first missing leaf, once known */
  gapAt: number | null = null;

  private gap(index: number, next: number): void {
    this.gapAt = index;
    this.problems.push({ index, exact: true, reason: `leaf ${index} is missing (the next stored leaf is ${next})` });
    this.stopped = true;
  }

  /** Takes leaves in any order; they are folded in leaf order (rows ahead of their turn wait, up to a bound). */
  readonly push: LeafPush = (rowIndex, leafHash, storedHash) => {
    if (this.stopped) return false;
    const expected = this.frontier.size;
    if (rowIndex !== expected) {
      if (rowIndex < expected || this.early.has(rowIndex)) {
        this.problems.push({ index: rowIndex, exact: true, reason: `leaf ${rowIndex} is stored twice` });
        this.stopped = true;
        return false;
      }
      if (this.early.size >= MAX_EARLY) {
        this.gap(expected, Math.min(...this.early.keys()));
        return false;
      }
      this.early.set(rowIndex, [leafHash, storedHash]);
      return true;
    }
    this.pushInOrder(rowIndex, leafHash, storedHash);
    while (this.early.size > 0 && !this.stopped) {
      const next = this.early.get(this.frontier.size);
      if (!next) break;
      this.early.delete(this.frontier.size);
      this.pushInOrder(this.frontier.size, next[0], next[1]);
    }
    return !this.stopped;
  };

  /** After the last leaf: leaves still waiting mean one before them never came. */
  finish(): void {
    if (!this.stopped && this.early.size > 0) this.gap(this.frontier.size, Math.min(...this.early.keys()));
  }

  private pushInOrder(index: number, leafHash: Buffer | null, storedHash: Buffer | null): void {
    let h: Buffer;
    if (leafHash === null) {
      this.problems.push({ index, exact: true, reason: `the event of leaf ${index} is missing` });
      if (!storedHash) {
        this.stopped = true;
        return;
      }
      h = storedHash;
    } else {
      h = leafHash;
      if (storedHash && !h.equals(storedHash)) {
        this.problems.push({ index, exact: true, reason: `leaf ${index}: the event's bytes do not match the stored leaf hash (event altered)` });
      }
    }
    if (this.leavesFiles.length > 0) {
      const e = this.exportedHash(index);
      if (this.exported) this.exported.append(e ?? h);
      else if (e && !e.equals(h)) {
        this.divergence = index;
        this.exported = this.frontier.clone();
        this.exported.append(e);
      }
    }
    this.frontier.append(h, this.onNode);
    if (this.nextSize === this.frontier.size) this.snapshotIfDue();
  }
}
