import { closeSync, createReadStream, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hash, type X509Certificate } from 'node:crypto';
import { readdir, readFile, mkdir, open, copyFile } from 'node:fs/promises';
import { pathExists } from '../fs/durable.js';
import { join } from 'node:path';
import pg from 'pg';
import { AuditError } from './errors.js';
import {
  Frontier,
  consistencyRanges,
  equalHashes,
  foldRange,
  nodeKey,
  proofFromNodes,
  rangeNodes,
  verifyConsistency,
  HASH_SIZE,
} from './merkle.js';
import { parseCheckpointText, parseNote, parseVerifierKey, verifyCheckpoint, type NoteVerifier } from './checkpoint.js';
import { CHECKPOINT_FILE, LEAVES_FILE, VERIFIER_KEY_FILE } from './checkpointer.js';
import { checkCheckpointTimestamps, TIMESTAMP_TOKEN_SUFFIX, type TimestampReport } from './timestamp.js';
import { SEALED_EVENT_ACTION, SHREDDED_EVENT_ACTION, checkSealedRecording } from '../sealed-media/archive-check.js';
import { BATCH_LEVEL, BATCH_ROWS, LeafHasher, type BatchSink, type HashedBatch } from './leaf-hasher.js';

/**
 * The offline verifier: rebuilds the tree from the leaf bytes (database rows or a bundle), checks every stored
 * leaf hash and tree head, every checkpoint's signature and root, and consistency between successive
 * checkpoints with RFC 9162's algorithm. It trusts nothing the database computed.
 */

export interface Problem {
  /** the first leaf index the problem concerns (null when none can be named) */
  index: number | null;
  /** true when `index` is exactly the first bad leaf; false when it only starts a range [index, end) */
  exact: boolean;
  end?: number;
  reason: string;
}

export interface VerifyReport {
  ok: boolean;
  treeSize: number;
  rootHash: string;
  checkpoints: number;
  latestCheckpointSize: number | null;
  verifierKey: string;
  verifierKeySource: 'argument' | 'checkpoint-dir' | 'bundle';
  seconds: number;
  eventsPerSecond: number;
  /** things that hold but weaken the result (no checkpoints; key taken from the directory being checked) */
  warnings?: string[];
  firstBadIndex?: number | null;
  reason?: string;
  problems?: number;
  details?: Problem[];
  /** with an archive: sealed recordings and files checked against their `recording.sealed` events */
  recordings?: { checked: number; files: number; bad: number; shredded: number };
  /** with an archive: recordings destroyed by retention (crypto-shredded), each with its shredding event's leaf index */
  shreddedRecordings?: Array<{ recordingId: string; auditSeq: number }>;
  /** with pinned TSA certificates: the RFC 3161 tokens beside the checkpoints */
  timestamps?: Omit<TimestampReport, 'problems'>;
}

export interface LoadedCheckpoint {
  source: string;
  size: number;
  rootHash: Buffer;
  origin: string;
  /** issue time from the file name (directory checkpoints) */
  issuedAt: string | null;
}

interface LeavesFile {
  from: number;
  to: number;
  path: string;
}

export interface CheckpointSet {
  checkpoints: LoadedCheckpoint[];
  leavesFiles: LeavesFile[];
  problems: Problem[];
}

/** Reads and verifies every checkpoint file of a directory (signature, origin, name, issue order). */
export async function loadCheckpointDir(dir: string, verifier: NoteVerifier, origin?: string): Promise<CheckpointSet> {
  const names = (await readdir(dir)).sort();
  const problems: Problem[] = [];
  const checkpoints: LoadedCheckpoint[] = [];
  const leavesFiles: LeavesFile[] = [];
  for (const name of names) {
    const l = LEAVES_FILE.exec(name);
    if (l) leavesFiles.push({ from: Number(l[1]), to: Number(l[2]), path: join(dir, name) });
    if (!name.endsWith('.checkpoint')) continue;
    const m = CHECKPOINT_FILE.exec(name);
    const note = await readFile(join(dir, name), 'utf8');
    const cp = checkNote(note, name, verifier, problems);
    if (!cp) continue;
    if (!m) {
      problems.push({ index: cp.size, exact: true, reason: `${name}: not a checkpoint file name` });
      continue;
    }
    if (Number(m[1]) !== cp.size) {
      problems.push({
        index: Math.min(cp.size, Number(m[1])),
        exact: true,
        reason: `${name}: file name says tree size ${Number(m[1])} but the signed checkpoint says ${cp.size}`,
      });
      continue;
    }
    checkpoints.push({ source: name, size: cp.size, rootHash: cp.rootHash, origin: cp.origin, issuedAt: m[2]! });
  }
  checkOrigin(checkpoints, origin, problems);
  // Issue order (file time) must never go back in size: an old checkpoint re-presented as new is a rollback.
  const byTime = [...checkpoints].sort((a, b) => (a.issuedAt! < b.issuedAt! ? -1 : a.issuedAt! > b.issuedAt! ? 1 : a.size - b.size));
  let largest: LoadedCheckpoint | null = null;
  for (const cp of byTime) {
    if (largest && cp.size < largest.size) {
      problems.push({
        index: cp.size,
        exact: true,
        reason: `${cp.source}: issued after ${largest.source} but has the smaller tree size ${cp.size} < ${largest.size} (old checkpoint presented as new)`,
      });
    }
    if (!largest || cp.size >= largest.size) largest = cp;
  }
  leavesFiles.sort((a, b) => a.from - b.from);
  return { checkpoints, leavesFiles, problems };
}

function checkNote(note: string, source: string, verifier: NoteVerifier, problems: Problem[]): { size: number; rootHash: Buffer; origin: string } | null {
  try {
    const cp = verifyCheckpoint(note, verifier);
    return { size: cp.size, rootHash: cp.rootHash, origin: cp.origin };
  } catch (err) {
    let index: number | null = null;
    try {
      index = parseCheckpointText(parseNote(note).text).size;
    } catch {
      // unparseable: no index to name
    }
    problems.push({ index, exact: true, reason: `${source}: ${(err as Error).message}` });
    return null;
  }
}

function checkOrigin(checkpoints: LoadedCheckpoint[], origin: string | undefined, problems: Problem[]): void {
  const expected = origin ?? checkpoints[0]?.origin;
  if (expected === undefined) return;
  for (const cp of checkpoints) {
    if (cp.origin !== expected) {
      problems.push({ index: cp.size, exact: true, reason: `${cp.source}: origin ${JSON.stringify(cp.origin)} is not ${JSON.stringify(expected)}` });
    }
  }
}

/**
 * A leaf source calls `push(index, leafHash, storedHash)` for every stored leaf in index order: `leafHash` is
 * SHA-256(0x00 ‖ bytes) of the leaf bytes as stored (null when the event row is gone), `storedHash` the hash
 * the database kept for it (null when the source has none), `body` a view of the leaf bytes valid only during
 * the call. `push` returns false when the source should stop.
 */
export type LeafPush = (index: number, leafHash: Buffer | null, storedHash: Buffer | null, body?: Buffer | null) => boolean;
export interface LeafSink {
  push: LeafPush;
  /** batches hashed by a LeafHasher (full, aligned batches are appended as one subtree) */
  pushBatch: BatchSink;
}
export type LeafSource = (sink: LeafSink) => Promise<void>;

interface Snapshot {
  root: Buffer;
  exportedRoot: Buffer | null;
}

/**
 * Rebuilds the tree leaf by leaf, synchronously. Keeps the roots at the sizes asked for, the complete subtrees
 * the consistency proofs need, and compares leaf hashes with the `.leaves` files exported at checkpoint time.
 */
class Rebuilder {
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

export interface VerifyInput {
  /** pushes the leaves in index order */
  leaves: LeafSource;
  checkpoints: CheckpointSet;
  /** extra trusted-looking checkpoints (from the database) verified the same way */
  extraCheckpoints?: LoadedCheckpoint[];
  /** stored tree heads to check against the rebuilt tree (database mode) */
  heads?: Array<{ size: number; rootHash: Buffer }>;
  verifier: NoteVerifier;
  verifierKeySource: VerifyReport['verifierKeySource'];
  /** the database's own view, to catch an old checkpoint served as the latest */
  servedLatestSize?: number | null;
  extraProblems?: Problem[];
  /** a better reason for a missing leaf (the database knows whether the leaf row or its event is gone) */
  explainGap?: (index: number) => Promise<string | null>;
  /** more checks once every leaf was read (`complete`: the source was not stopped early) */
  afterLeaves?: (complete: boolean) => Promise<Problem[]>;
}

function firstProblem(problems: Problem[]): Problem | undefined {
  const exact = problems.filter((p) => p.exact && p.index !== null);
  const ranges = problems.filter((p) => !p.exact && p.index !== null);
  // a range problem only counts when no exact problem falls inside it (the exact one is then the cause)
  const effective = [
    ...exact,
    ...ranges.filter((r) => !exact.some((e) => e.index! >= r.index! && e.index! < (r.end ?? Infinity))),
  ];
  effective.sort((a, b) => a.index! - b.index!);
  return effective[0] ?? problems[0];
}

/** Adds problems found after the log itself was verified (archive, bundle manifest, timestamps) to the report. */
function appendProblems(report: VerifyReport, problems: Problem[]): void {
  if (problems.length === 0) return;
  report.ok = false;
  report.problems = (report.problems ?? 0) + problems.length;
  report.details = [...(report.details ?? []), ...problems].slice(0, 20);
  if (report.firstBadIndex === undefined) {
    report.firstBadIndex = problems[0]!.index;
    report.reason = problems[0]!.reason;
  }
}

/**
 * RFC 3161 tokens beside the checkpoints, against the pinned TSA certificates. A token that does not verify is a
 * problem; a checkpoint without one is a problem only with `required` (a TSA may have been down, or enabled later).
 */
export async function checkTimestamps(report: VerifyReport, dir: string, tsa: { certs: X509Certificate[]; required?: boolean }): Promise<void> {
  const { problems, ...summary } = await checkCheckpointTimestamps(dir, tsa.certs);
  report.timestamps = summary;
  const found: Problem[] = problems.map((p) => ({ index: null, exact: false, reason: `${p.file}: ${p.reason}` }));
  if (tsa.required && summary.missing > 0) found.push({ index: null, exact: false, reason: `${summary.missing} checkpoints have no timestamp token` });
  appendProblems(report, found);
}

/** Runs the whole verification and returns the report (never throws for verification failures). */
export async function verifyLog(input: VerifyInput): Promise<VerifyReport> {
  const started = performance.now();
  const problems: Problem[] = [...input.checkpoints.problems, ...(input.extraProblems ?? [])];
  const cps = [...input.checkpoints.checkpoints, ...(input.extraCheckpoints ?? [])];
  const heads = input.heads ?? [];
  const distinct = [...new Map(cps.map((c) => [c.size, c])).values()].sort((a, b) => a.size - b.size);
  const needed = new Set<number>();
  for (let i = 1; i < distinct.length; i++) {
    const a = distinct[i - 1]!.size;
    const b = distinct[i]!.size;
    if (a > 0) for (const [x, y] of consistencyRanges(a, b)) for (const id of rangeNodes(x, y)) needed.add(nodeKey(id.level, id.index));
  }
  const rb = new Rebuilder([...cps.map((c) => c.size), ...heads.map((h) => h.size)], needed, input.checkpoints.leavesFiles);
  await input.leaves(rb);
  rb.finish();
  if (rb.gapAt !== null && input.explainGap) {
    const better = await input.explainGap(rb.gapAt);
    const p = rb.problems.find((x) => x.index === rb.gapAt && x.reason.startsWith(`leaf ${rb.gapAt} is missing`));
    if (better && p) p.reason = better;
  }
  const count = rb.size;
  problems.push(...rb.problems);
  if (input.afterLeaves) problems.push(...(await input.afterLeaves(!rb.stopped)));
  const treeSize = rb.size;
  const rootHash = rb.frontier.root();

  // checkpoints: size and root against the rebuilt tree
  const goodSizes: number[] = [];
  const sortedCps = [...cps].sort((a, b) => a.size - b.size);
  let lastGood = 0;
  for (const cp of sortedCps) {
    if (cp.size > treeSize) {
      problems.push({
        index: treeSize,
        exact: true,
        reason: `${cp.source}: signed tree size ${cp.size} is larger than the log's ${treeSize} leaves (events removed or an older database restored)`,
      });
      continue;
    }
    const snap = rb.roots.get(cp.size)!;
    if (equalHashes(snap.root, cp.rootHash)) {
      goodSizes.push(cp.size);
      lastGood = Math.max(lastGood, cp.size);
      if (snap.exportedRoot && rb.divergence !== null && rb.divergence < cp.size) {
        problems.push({ index: rb.divergence, exact: true, reason: `leaf ${rb.divergence}: the exported .leaves file differs from the log although the signed root agrees with the log (leaves file altered)` });
      }
      continue;
    }
    if (snap.exportedRoot && equalHashes(snap.exportedRoot, cp.rootHash) && rb.divergence !== null) {
      problems.push({
        index: rb.divergence,
        exact: true,
        reason: `leaf ${rb.divergence} differs from the leaf hash exported with the signed checkpoints; ${cp.source} (size ${cp.size}) does not match the log`,
      });
    } else {
      problems.push({
        index: lastGood,
        exact: false,
        end: cp.size,
        reason: `${cp.source}: root of the first ${cp.size} leaves differs from the signed root; the first bad leaf is in [${lastGood}, ${cp.size})`,
      });
    }
  }
  // stored tree heads
  let lastHead = 0;
  for (const h of [...heads].sort((a, b) => a.size - b.size)) {
    if (h.size > treeSize) {
      problems.push({ index: treeSize, exact: true, reason: `stored tree head of size ${h.size} is larger than the ${treeSize} stored leaves` });
      continue;
    }
    if (!equalHashes(rb.roots.get(h.size)!.root, h.rootHash)) {
      problems.push({ index: lastHead, exact: false, end: h.size, reason: `stored tree head of size ${h.size} has a root that the leaves do not give` });
    } else lastHead = h.size;
  }
  // consistency between successive good checkpoints, with RFC 9162's verification algorithm
  const good = [...new Set(goodSizes)].sort((a, b) => a - b);
  for (let i = 1; i < good.length; i++) {
    const a = good[i - 1]!;
    const b = good[i]!;
    const ra = sortedCps.find((c) => c.size === a)!.rootHash;
    const rbh = sortedCps.find((c) => c.size === b)!.rootHash;
    let ok = false;
    if (a === 0) ok = true;
    else {
      try {
        const proof = proofFromNodes(consistencyRanges(a, b), (level, index) => {
          const h = rb.memo.get(nodeKey(level, index));
          if (!h) throw new Error('node missing');
          return h;
        });
        ok = verifyConsistency(a, b, ra, rbh, proof);
      } catch {
        ok = false;
      }
    }
    if (!ok) problems.push({ index: a, exact: false, end: b, reason: `checkpoints of size ${a} and ${b} are not consistent` });
  }
  const latest = sortedCps.length ? sortedCps[sortedCps.length - 1]!.size : null;
  if (input.servedLatestSize !== undefined && latest !== null && (input.servedLatestSize ?? -1) < latest) {
    problems.push({
      index: input.servedLatestSize ?? 0,
      exact: true,
      reason: `the database serves a checkpoint of size ${input.servedLatestSize} as its latest, but a checkpoint of size ${latest} was issued (old checkpoint presented as new)`,
    });
  }
  const seconds = (performance.now() - started) / 1000;
  const report: VerifyReport = {
    ok: problems.length === 0,
    treeSize,
    rootHash: rootHash.toString('base64'),
    checkpoints: cps.length,
    latestCheckpointSize: latest,
    verifierKey: input.verifier.verifierKey,
    verifierKeySource: input.verifierKeySource,
    seconds: Math.round(seconds * 1000) / 1000,
    eventsPerSecond: Math.round(count / Math.max(seconds, 1e-6)),
  };
  // Fails closed: without a signed checkpoint nothing ties the log to anything outside the database.
  if (cps.length === 0) {
    problems.push({ index: null, exact: false, reason: 'no checkpoints: a rewrite of the whole database cannot be told from the original' });
    report.ok = false;
  }
  if (problems.length > 0) {
    const first = firstProblem(problems)!;
    report.firstBadIndex = first.index;
    report.reason = first.reason;
    report.problems = problems.length;
    report.details = problems.slice(0, 20);
  }
  return report;
}

// ------------------------------------------------------------------ database source

export interface DbVerifyOptions {
  db: string;
  checkpointsDir: string;
  /** the pinned verifier key (required: the checkpoint directory's own copy is never trusted) */
  verifierKey?: string;
  origin?: string;
  /** also check every sealed recording's ciphertext files in this archive against its `recording.sealed` event */
  archiveDir?: string;
  /** also check the checkpoints' RFC 3161 tokens against these TSA certificates */
  tsa?: TsaPin;
}

export interface TsaPin {
  certs: X509Certificate[];
  /** a checkpoint without a token fails verification */
  required?: boolean;
}

/**
 * The verifier key must be pinned by the caller: a key read from the folder being checked proves nothing (whoever
 * rewrote the log and its checkpoints can write that file too), so the folder's `verifier-key.txt` is never used.
 */
async function resolveVerifier(explicit: string | undefined, dir: string): Promise<{ verifier: NoteVerifier; source: VerifyReport['verifierKeySource'] }> {
  if (!explicit) {
    throw new AuditError(
      'KYC_ERR_AUDIT_KEY',
      `no verifier key pinned: pass --verifier-key (or --signing-key on the appliance host); the ${VERIFIER_KEY_FILE} in ${dir} is part of what is being checked`,
    );
  }
  return { verifier: parseVerifierKey(explicit), source: 'argument' };
}

/** leaves held while waiting for an earlier one (event order vs leaf order); beyond this, the earlier one is missing */
const MAX_EARLY = 1_000_000;

const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Streams `SELECT leaf_index, leaf_hash, body ...` as binary COPY and pushes each leaf, hashing the body in place
 * (zero copy: the byte before the body, the last byte of its length field, is overwritten with the 0x00 leaf
 * prefix). PostgreSQL produces rows on one core while this hashes on the other.
 */
function copyLeaves(
  client: pg.Client,
  select: string,
  options: { withBody?: boolean; countEventsUpTo?: number; counted?: (n: number) => void; worker?: boolean } = {},
): LeafSource {
  const withBody = options.withBody ?? false;
  const countBelow = options.countEventsUpTo ?? -1;
  let counted = 0;
  return (leafSink) =>
    new Promise<void>((resolve, reject) => {
      // pausing the socket stops reading; PostgreSQL then waits on a full socket buffer
      const socket = (client as unknown as { connection?: { stream?: { pause?: () => void; resume?: () => void } } }).connection?.stream;
      const hasher = options.worker
        ? new LeafHasher(leafSink.pushBatch, true, (pause) => (pause ? socket?.pause?.() : socket?.resume?.()))
        : null;
      const push = leafSink.push;
      let carry: Buffer | null = null;
      let headerDone = false;
      let stop = false;
      let failure: unknown = null;
      const parse = (buf: Buffer): number => {
        let p = 0;
        if (!headerDone) {
          if (buf.length < 19) return 0;
          if (!buf.subarray(0, 11).equals(COPY_SIGNATURE)) throw new Error('not a binary COPY stream');
          p = 19 + buf.readUInt32BE(15);
          headerDone = true;
        }
        while (p + 2 <= buf.length) {
          const fields = buf.readInt16BE(p);
          if (fields === -1) return buf.length; // trailer
          if (fields !== 4) throw new Error(`binary COPY: ${fields} fields`);
          // leaf_index int8, event_id int8, leaf_hash bytea, body text (nullable)
          if (p + 2 + 12 + 12 + 4 > buf.length) return p;
          if (buf.readInt32BE(p + 2) !== 8 || buf.readInt32BE(p + 14) !== 8) throw new Error('binary COPY: bad int8');
          const index = buf.readUInt32BE(p + 6) * 4294967296 + buf.readUInt32BE(p + 10);
          const eventId = buf.readUInt32BE(p + 18) * 4294967296 + buf.readUInt32BE(p + 22);
          let q = p + 26;
          const hashLen = buf.readInt32BE(q);
          q += 4;
          if (q + Math.max(hashLen, 0) + 4 > buf.length) return p;
          const storedAt = hashLen === HASH_SIZE ? q : -1;
          q += Math.max(hashLen, 0);
          const bodyLen = buf.readInt32BE(q);
          q += 4;
          if (bodyLen > 0 && q + bodyLen > buf.length) return p;
          if (bodyLen >= 0 && eventId <= countBelow) counted += 1;
          if (hasher) {
            // leaf hashing happens on the worker; rows are copied into its batch
            if (!stop) hasher.add(index, buf, bodyLen >= 0 ? q : -1, q + Math.max(bodyLen, 0), storedAt >= 0 ? buf : null, storedAt);
            q += Math.max(bodyLen, 0);
            p = q;
            continue;
          }
          let leafHash: Buffer | null = null;
          let stored: Buffer | null = null;
          let body: Buffer | null = null;
          if (bodyLen >= 0) {
            buf[q - 1] = 0x00; // leaf prefix, in place of the length's last byte (already read)
            leafHash = hash('sha256', buf.subarray(q - 1, q + bodyLen), 'buffer');
            if (withBody) body = buf.subarray(q, q + bodyLen);
            q += bodyLen;
            // the stored hash is only materialised when it differs (or when there is no body)
            if (storedAt >= 0) stored = leafHash.compare(buf, storedAt, storedAt + HASH_SIZE) === 0 ? leafHash : Buffer.from(buf.subarray(storedAt, storedAt + HASH_SIZE));
          } else if (storedAt >= 0) {
            stored = Buffer.from(buf.subarray(storedAt, storedAt + HASH_SIZE));
          }
          if (!stop && !push(index, leafHash, stored, body)) stop = true;
          p = q;
        }
        return p;
      };
      const copy = {
        submit(connection: { query: (text: string) => void }): void {
          connection.query(`COPY (${select}) TO STDOUT (FORMAT binary)`);
        },
        handleCopyData(msg: { chunk: Buffer }): void {
          if (failure) return;
          try {
            let buf = msg.chunk;
            if (carry) {
              buf = Buffer.concat([carry, buf]);
              carry = null;
            }
            const used = parse(buf);
            if (used < buf.length) carry = Buffer.from(buf.subarray(used));
          } catch (err) {
            failure = err;
          }
        },
        handleCommandComplete(): void {},
        handleReadyForQuery(): void {
          options.counted?.(counted);
          if (failure) {
            void hasher?.abort();
            reject(failure);
          } else if (carry && carry.length > 0) {
            void hasher?.abort();
            reject(new Error('binary COPY ended inside a row'));
          } else if (hasher) hasher.finish().then(resolve, reject);
          else resolve();
        },
        handleError(err: Error): void {
          failure = err;
          void hasher?.abort();
          reject(err);
        },
        handleEmptyQuery(): void {},
        handleRowDescription(): void {},
        handleDataRow(): void {},
        handlePortalSuspended(): void {},
      };
      void client.query(copy as never);
    });
}

const LEAVES_SELECT =
  'SELECT l.leaf_index, l.event_id, l.leaf_hash, e.body FROM audit_leaf l LEFT JOIN audit_event e ON e.id = l.event_id ORDER BY l.leaf_index';

/**
 * The verifier's scan, in event order: a merge join of two index scans costs PostgreSQL about half the CPU of a
 * nested loop in leaf order (one index probe per leaf); the rebuilder puts the few leaves that were sequenced out
 * of event order back in leaf order. A leaf whose event row is gone drops out of the join and shows as missing.
 */
const LEAVES_BY_EVENT_SELECT =
  'SELECT l.leaf_index, l.event_id, l.leaf_hash, e.body FROM audit_event e JOIN audit_leaf l ON l.event_id = e.id ORDER BY e.id';

async function verifyScanSettings(client: pg.Client): Promise<void> {
  await client.query(
    'SET LOCAL jit = off; SET LOCAL enable_nestloop = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_sort = off; SET LOCAL max_parallel_workers_per_gather = 0',
  );
}

/** Session settings for the export's scan: leaf order by index, event by primary key, no JIT start-up. */
async function scanSettings(client: pg.Client): Promise<void> {
  await client.query(
    'SET LOCAL jit = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL max_parallel_workers_per_gather = 0',
  );
}

/** `kyc-audit verify --db URL --checkpoints DIR`: the whole database against the checkpoint directory. */
export async function verifyDatabase(options: DbVerifyOptions): Promise<VerifyReport> {
  const { verifier, source } = await resolveVerifier(options.verifierKey, options.checkpointsDir);
  const set = await loadCheckpointDir(options.checkpointsDir, verifier, options.origin);
  const client = new pg.Client({ connectionString: options.db });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await verifyScanSettings(client);
    const heads = (await client.query<{ tree_size: string; root_hash: Buffer; watermark: string }>(
      'SELECT tree_size, root_hash, watermark FROM audit_tree_head ORDER BY tree_size',
    )).rows;
    const dbCheckpoints = (await client.query<{ id: string; tree_size: string; note: string }>(
      'SELECT id, tree_size, note FROM audit_checkpoint ORDER BY id',
    )).rows;
    const extraProblems: Problem[] = [];
    const extra: LoadedCheckpoint[] = [];
    for (const row of dbCheckpoints) {
      const cp = checkNote(row.note, `audit_checkpoint #${row.id}`, verifier, extraProblems);
      if (cp) extra.push({ source: `audit_checkpoint #${row.id}`, size: cp.size, rootHash: cp.rootHash, origin: cp.origin, issuedAt: null });
    }
    const served = extra.length ? Math.max(...extra.map((c) => c.size)) : null;
    const watermark = heads.length ? Number(heads[heads.length - 1]!.watermark) : 0;
    // Events below the low-water mark must all have a leaf: count them on a second connection that shares
    // this transaction's snapshot, while the leaves stream here (each leaf's event id is counted on the way).
    const snapshot = (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
    const side = new pg.Client({ connectionString: options.db });
    await side.connect();
    let eventsBelow: Promise<number>;
    try {
      await side.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await side.query(`SET TRANSACTION SNAPSHOT '${snapshot.replace(/'/g, '')}'`);
      eventsBelow = side
        .query<{ n: string }>('SELECT count(*) AS n FROM audit_event WHERE id <= $1', [watermark])
        .then((r) => Number(r.rows[0]!.n));
      eventsBelow.catch(() => undefined);
    } catch (err) {
      await side.end();
      throw err;
    }
    let leavesBelow = 0;
    try {
      const report = await verifyLog({
        leaves: copyLeaves(client, LEAVES_BY_EVENT_SELECT, { countEventsUpTo: watermark, counted: (n) => (leavesBelow = n), worker: true }),
        checkpoints: set,
        extraCheckpoints: extra,
        heads: heads.map((h) => ({ size: Number(h.tree_size), rootHash: h.root_hash })),
        verifier,
        verifierKeySource: source,
        servedLatestSize: set.checkpoints.length ? served : undefined,
        extraProblems,
        explainGap: async (index) => {
          const r = await side.query<{ event_id: string }>('SELECT event_id FROM audit_leaf WHERE leaf_index = $1', [index]);
          return r.rows[0] ? `the event of leaf ${index} is missing (event id ${r.rows[0].event_id})` : null;
        },
        afterLeaves: async (complete) => {
          const n = await eventsBelow;
          return complete && n > leavesBelow
            ? [{ index: null, exact: false, reason: `${n - leavesBelow} events below the sequencer's low-water mark (event id ${watermark}) have no leaf` }]
            : [];
        },
      });
      if (options.archiveDir !== undefined) await checkSealedRecordings(client, options.archiveDir, report);
      if (options.tsa) await checkTimestamps(report, options.checkpointsDir, options.tsa);
      await client.query('COMMIT');
      return report;
    } finally {
      await side.end();
    }
  } finally {
    await client.end();
  }
}

/**
 * Sealed recordings: every `recording.sealed` event in the log names its ciphertext files with size and SHA-256;
 * each file in the archive must match (no keys involved). Problems join the report with the event's leaf index.
 */
async function checkSealedRecordings(client: pg.Client, archiveDir: string, report: VerifyReport): Promise<void> {
  const rows = (await client.query<{ leaf_index: string; body: string }>(
    `SELECT l.leaf_index, e.body FROM audit_leaf l JOIN audit_event e ON e.id = l.event_id WHERE e.action = $1 ORDER BY l.leaf_index`,
    [SEALED_EVENT_ACTION],
  )).rows;
  const shreddedAt = new Map<string, number>();
  const shredRows = (await client.query<{ leaf_index: string; body: string }>(
    `SELECT l.leaf_index, e.body FROM audit_leaf l JOIN audit_event e ON e.id = l.event_id WHERE e.action = $1 ORDER BY l.leaf_index`,
    [SHREDDED_EVENT_ACTION],
  )).rows;
  for (const row of shredRows) {
    const event = JSON.parse(row.body) as { object?: { type?: string; id?: string } | null };
    if (event.object?.type === 'recording' && event.object.id) shreddedAt.set(event.object.id, Number(row.leaf_index));
  }
  const problems: Problem[] = [];
  const shredded: Array<{ recordingId: string; auditSeq: number }> = [];
  let checked = 0;
  let files = 0;
  let bad = 0;
  for (const row of rows) {
    const event = JSON.parse(row.body) as { object?: { id?: string } | null; details?: Record<string, unknown> };
    const id = event.object?.id ?? '';
    const shredSeq = shreddedAt.get(id);
    if (shredSeq !== undefined) {
      // destroyed on purpose: what must hold is that nothing of it is left in the archive
      shredded.push({ recordingId: id, auditSeq: shredSeq });
      if (await pathExists(join(archiveDir, id))) {
        problems.push({ index: shredSeq, exact: true, reason: `recording ${id}: shredded (leaf ${shredSeq}) but its archive folder is still there` });
      }
      continue;
    }
    const r = await checkSealedRecording(archiveDir, id, event.details);
    checked += 1;
    files += r.files;
    if (r.problems.length) bad += 1;
    for (const p of r.problems) {
      problems.push({ index: Number(row.leaf_index), exact: true, reason: `recording ${p.recordingId}${p.file ? ` ${p.file}` : ''}: ${p.reason}` });
    }
  }
  report.recordings = { checked, files, bad, shredded: shredded.length };
  if (shredded.length) report.shreddedRecordings = shredded;
  appendProblems(report, problems);
}

// ------------------------------------------------------------------ bundles

export const BUNDLE_FORMAT = 'kyc-audit-bundle/1';

/**
 * `kyc-audit export`: writes a bundle that can be verified with no database:
 *   events.jsonl       one line per leaf, in leaf order: the leaf bytes (canonical JSON) exactly
 *   checkpoints/       copies of the checkpoint directory (*.checkpoint, *.leaves, verifier-key.txt)
 *   verifier-key.txt   the note verifier key
 *   manifest.json      format, tree size and root at export time (informative, unsigned)
 */
export async function exportBundle(options: { db: string; checkpointsDir: string; out: string }): Promise<{ treeSize: number; rootHash: string; checkpoints: number }> {
  await mkdir(options.out, { recursive: true });
  if ((await readdir(options.out)).length > 0) throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', `${options.out} is not empty`);
  await mkdir(join(options.out, 'checkpoints'));
  let copied = 0;
  for (const name of await readdir(options.checkpointsDir)) {
    if (CHECKPOINT_FILE.test(name) || LEAVES_FILE.test(name) || name === VERIFIER_KEY_FILE || name.endsWith('.checkpoint') || name.endsWith(`.checkpoint${TIMESTAMP_TOKEN_SUFFIX}`)) {
      await copyFile(join(options.checkpointsDir, name), join(options.out, 'checkpoints', name));
      if (name.endsWith('.checkpoint')) copied += 1;
    }
  }
  try {
    await copyFile(join(options.checkpointsDir, VERIFIER_KEY_FILE), join(options.out, VERIFIER_KEY_FILE));
  } catch {
    // no key in the directory: verify-bundle then needs --verifier-key
  }
  const client = new pg.Client({ connectionString: options.db });
  await client.connect();
  const fd = openSync(join(options.out, 'events.jsonl'), 'wx', 0o644);
  const frontier = new Frontier();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await scanSettings(client);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = (): void => {
      writeSync(fd, Buffer.concat(pending));
      pending = [];
      pendingBytes = 0;
    };
    await copyLeaves(client, LEAVES_SELECT, { withBody: true })({ pushBatch: () => undefined, push: (index, leafHash, _stored, body) => {
      if (index !== frontier.size) throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', `cannot export: leaf ${frontier.size} is missing`);
      if (!leafHash || !body) throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', `cannot export: the event of leaf ${index} is missing`);
      frontier.append(leafHash);
      pending.push(Buffer.from(body), NEWLINE);
      pendingBytes += body.length + 1;
      if (pendingBytes > 1 << 20) flush();
      return true;
    } });
    flush();
    await client.query('COMMIT');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
    await client.end();
  }
  const manifest = {
    format: BUNDLE_FORMAT,
    treeSize: frontier.size,
    rootHash: frontier.root().toString('base64'),
    exportedAt: new Date().toISOString(),
  };
  const mh = await open(join(options.out, 'manifest.json'), 'wx', 0o644);
  try {
    await mh.writeFile(`${JSON.stringify(manifest, null, 2)}\n`);
    await mh.sync();
  } finally {
    await mh.close();
  }
  return { treeSize: manifest.treeSize, rootHash: manifest.rootHash, checkpoints: copied };
}

const NEWLINE = Buffer.from('\n');

const PAD = Buffer.alloc(1);

/** Streams events.jsonl as leaves: line i is leaf i's bytes (hashed in place, the 0x00 prefix over the '\n'). */
function bundleLeaves(path: string): LeafSource {
  return async (sink) => {
    const hasher = new LeafHasher(sink.pushBatch);
    try {
      let carry: Buffer = Buffer.alloc(0);
      let index = 0;
      for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
        const buf = Buffer.concat([PAD, carry, chunk]);
        let start = 1;
        for (;;) {
          const nl = buf.indexOf(0x0a, start);
          if (nl < 0) break;
          hasher.add(index++, buf, start, nl, null);
          start = nl + 1;
        }
        carry = buf.subarray(start);
      }
      if (carry.length > 0) hasher.add(index, Buffer.concat([PAD, carry]), 1, carry.length + 1, null);
      await hasher.finish();
    } catch (err) {
      await hasher.abort();
      throw err;
    }
  };
}

/** `kyc-audit verify-bundle DIR`: verifies an exported bundle with no database. */
export async function verifyBundle(options: { dir: string; verifierKey?: string; origin?: string; tsa?: TsaPin }): Promise<VerifyReport> {
  const cpDir = join(options.dir, 'checkpoints');
  const { verifier, source } = await resolveVerifier(options.verifierKey, options.dir);
  const set = await loadCheckpointDir(cpDir, verifier, options.origin);
  const extraProblems: Problem[] = [];
  let manifest: { format?: string; treeSize?: number; rootHash?: string } = {};
  try {
    manifest = JSON.parse(await readFile(join(options.dir, 'manifest.json'), 'utf8')) as typeof manifest;
  } catch {
    extraProblems.push({ index: null, exact: false, reason: 'manifest.json is missing or not JSON' });
  }
  if (manifest.format !== undefined && manifest.format !== BUNDLE_FORMAT) {
    extraProblems.push({ index: null, exact: false, reason: `unknown bundle format ${manifest.format}` });
  }
  const report = await verifyLog({
    leaves: bundleLeaves(join(options.dir, 'events.jsonl')),
    checkpoints: set,
    verifier,
    verifierKeySource: source,
    extraProblems,
  });
  if (manifest.treeSize !== undefined && (manifest.treeSize !== report.treeSize || manifest.rootHash !== report.rootHash)) {
    const p: Problem = {
      index: Math.min(manifest.treeSize, report.treeSize),
      exact: false,
      reason: `manifest says size ${manifest.treeSize} root ${manifest.rootHash}, the events give size ${report.treeSize} root ${report.rootHash}`,
    };
    appendProblems(report, [p]);
  }
  if (options.tsa) await checkTimestamps(report, cpDir, options.tsa);
  return report;
}
