import { consistencyRanges, equalHashes, nodeKey, proofFromNodes, rangeNodes, verifyConsistency } from '../merkle.js';
import type { LoadedCheckpoint } from './checkpoint-folder.js';
import type { Snapshot } from './rebuilder.js';
import type { Problem } from './report.js';

/**
 * The verification itself, with no I/O: what the signed checkpoints and the stored tree heads claim, against the
 * tree rebuilt from the leaf bytes. Every function returns the problems it found, in the order they are reported.
 */

/** The tree as rebuilt from the leaves (a finished `Rebuilder`). */
export interface RebuiltTree {
  readonly size: number;
  /** the root at every claimed size up to `size` */
  readonly roots: ReadonlyMap<number, Snapshot>;
  /** the complete subtrees named by `consistencyNodes`, by `nodeKey` */
  readonly memo: ReadonlyMap<number, Buffer>;
  /** the first leaf whose hash differs from the one exported in the `.leaves` files, if any */
  readonly divergence: number | null;
}

export interface Claims {
  checkpoints: LoadedCheckpoint[];
  heads: Array<{ size: number; rootHash: Buffer }>;
  /** the size of the checkpoint the database serves as its latest (database mode only) */
  servedLatestSize?: number | null;
}

/** The complete subtrees (by `nodeKey`) the consistency proofs between successive checkpoint sizes need. */
export function consistencyNodes(sizes: number[]): Set<number> {
  const distinct = [...new Set(sizes)].sort((a, b) => a - b);
  const needed = new Set<number>();
  for (let i = 1; i < distinct.length; i++) {
    const a = distinct[i - 1]!;
    const b = distinct[i]!;
    if (a > 0) for (const [x, y] of consistencyRanges(a, b)) for (const id of rangeNodes(x, y)) needed.add(nodeKey(id.level, id.index));
  }
  return needed;
}

/** The largest signed size, or null without checkpoints. */
export function latestSize(checkpoints: LoadedCheckpoint[]): number | null {
  return checkpoints.reduce<number | null>((m, c) => (m === null || c.size > m ? c.size : m), null);
}

/** Every claim against the rebuilt tree. */
export function checkClaims(tree: RebuiltTree, claims: Claims): Problem[] {
  const sorted = [...claims.checkpoints].sort((a, b) => a.size - b.size);
  const { problems, goodSizes } = checkCheckpointRoots(tree, sorted);
  problems.push(...checkHeads(tree, claims.heads));
  problems.push(...checkConsistency(tree, sorted, goodSizes));
  const latest = latestSize(sorted);
  if (claims.servedLatestSize !== undefined && latest !== null && (claims.servedLatestSize ?? -1) < latest) {
    problems.push({
      index: claims.servedLatestSize ?? 0,
      exact: true,
      reason: `the database serves a checkpoint of size ${claims.servedLatestSize} as its latest, but a checkpoint of size ${latest} was issued (old checkpoint presented as new)`,
    });
  }
  // Fails closed: without a signed checkpoint nothing ties the log to anything outside the database.
  if (sorted.length === 0) {
    problems.push({ index: null, exact: false, reason: 'no checkpoints: a rewrite of the whole database cannot be told from the original' });
  }
  return problems;
}

/** Each checkpoint's size and root (sorted by size); names the exact leaf when the `.leaves` files tell it. */
function checkCheckpointRoots(tree: RebuiltTree, sorted: LoadedCheckpoint[]): { problems: Problem[]; goodSizes: number[] } {
  const problems: Problem[] = [];
  const goodSizes: number[] = [];
  let lastGood = 0;
  for (const cp of sorted) {
    if (cp.size > tree.size) {
      problems.push({
        index: tree.size,
        exact: true,
        reason: `${cp.source}: signed tree size ${cp.size} is larger than the log's ${tree.size} leaves (events removed or an older database restored)`,
      });
      continue;
    }
    const snap = tree.roots.get(cp.size)!;
    if (equalHashes(snap.root, cp.rootHash)) {
      goodSizes.push(cp.size);
      lastGood = Math.max(lastGood, cp.size);
      if (snap.exportedRoot && tree.divergence !== null && tree.divergence < cp.size) {
        problems.push({
          index: tree.divergence,
          exact: true,
          reason: `leaf ${tree.divergence}: the exported .leaves file differs from the log although the signed root agrees with the log (leaves file altered)`,
        });
      }
      continue;
    }
    if (snap.exportedRoot && equalHashes(snap.exportedRoot, cp.rootHash) && tree.divergence !== null) {
      problems.push({
        index: tree.divergence,
        exact: true,
        reason: `leaf ${tree.divergence} differs from the leaf hash exported with the signed checkpoints; ${cp.source} (size ${cp.size}) does not match the log`,
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
  return { problems, goodSizes };
}

/** The tree heads the database stored, against the rebuilt roots. */
function checkHeads(tree: RebuiltTree, heads: Claims['heads']): Problem[] {
  const problems: Problem[] = [];
  let lastHead = 0;
  for (const h of [...heads].sort((a, b) => a.size - b.size)) {
    if (h.size > tree.size) {
      problems.push({ index: tree.size, exact: true, reason: `stored tree head of size ${h.size} is larger than the ${tree.size} stored leaves` });
      continue;
    }
    if (!equalHashes(tree.roots.get(h.size)!.root, h.rootHash)) {
      problems.push({ index: lastHead, exact: false, end: h.size, reason: `stored tree head of size ${h.size} has a root that the leaves do not give` });
    } else lastHead = h.size;
  }
  return problems;
}

/** Consistency between successive good checkpoints, with RFC 9162's verification algorithm. */
function checkConsistency(tree: RebuiltTree, sorted: LoadedCheckpoint[], goodSizes: number[]): Problem[] {
  const problems: Problem[] = [];
  const good = [...new Set(goodSizes)].sort((a, b) => a - b);
  for (let i = 1; i < good.length; i++) {
    const a = good[i - 1]!;
    const b = good[i]!;
    const ra = sorted.find((c) => c.size === a)!.rootHash;
    const rb = sorted.find((c) => c.size === b)!.rootHash;
    let ok: boolean;
    if (a === 0) ok = true;
    else {
      try {
        const proof = proofFromNodes(consistencyRanges(a, b), (level, index) => {
          const h = tree.memo.get(nodeKey(level, index));
          if (!h) throw new Error('node missing');
          return h;
        });
        ok = verifyConsistency(a, b, ra, rb, proof);
      } catch {
        ok = false;
      }
    }
    if (!ok) problems.push({ index: a, exact: false, end: b, reason: `checkpoints of size ${a} and ${b} are not consistent` });
  }
  return problems;
}
