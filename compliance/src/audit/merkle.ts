import { hash, timingSafeEqual } from 'node:crypto';

/**
 * RFC 6962 / RFC 9162 Merkle tree hashing, pure and synchronous.
 *
 * Subtrees are named by their half-open leaf range [start, end). A *complete* subtree is one whose size is a
 * power of two and whose start is a multiple of that size: it is identified by (level, index) with
 * start = index·2^level. Those are the only hashes ever stored; every other range hash (the ragged right edge
 * of a tree) is combined from at most log2(n) complete ones, which keeps proof generation O(log n) reads.
 */

export const HASH_SIZE = 32;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/** SHA-256 of the empty string: the root of the empty tree (RFC 6962 §2.1). */
export const EMPTY_ROOT: Buffer = hash('sha256', Buffer.alloc(0), 'buffer');

export function hashLeaf(leaf: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(leaf.length + 1);
  buf[0] = LEAF_PREFIX;
  buf.set(leaf, 1);
  return hash('sha256', buf, 'buffer');
}

const nodeScratch = Buffer.allocUnsafe(1 + 2 * HASH_SIZE);
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  nodeScratch[0] = NODE_PREFIX;
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_SIZE);
  return hash('sha256', nodeScratch, 'buffer');
}

export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Largest power of two strictly less than n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n)) && 2 ** Math.log2(n) === n;
}

export interface NodeId {
  level: number;
  index: number;
}

/** Key of a complete subtree that is unique and cheap to hash into a Map: its exclusive end and level. */
export function nodeKey(level: number, index: number): number {
  return (index + 1) * 2 ** level * 64 + level;
}

/**
 * The complete subtrees whose hashes make up MTH(D[start:end]), left to right. `start` must be aligned the way
 * RFC 9162's recursion aligns it (a multiple of the largest power of two ≤ end - start), which is always true
 * for the ranges that proofs and roots ask for.
 */
export function rangeNodes(start: number, end: number): NodeId[] {
  const out: NodeId[] = [];
  let a = start;
  while (a < end) {
    const n = end - a;
    let size = 1;
    while (size * 2 <= n) size *= 2;
    if (a % size !== 0) throw new Error(`range [${start}, ${end}) is not aligned`);
    const level = Math.log2(size);
    out.push({ level, index: a / size });
    a += size;
  }
  return out;
}

/** Folds the complete-subtree hashes of a range (as listed by rangeNodes) into MTH of the range. */
export function foldRange(hashes: Uint8Array[]): Buffer {
  if (hashes.length === 0) return EMPTY_ROOT;
  let acc: Buffer = Buffer.from(hashes[hashes.length - 1]!);
  for (let i = hashes.length - 2; i >= 0; i--) acc = hashChildren(hashes[i]!, acc);
  return acc;
}

/** The ranges whose MTH form the RFC 9162 inclusion proof PATH(m, D[0:n]), leaf side first. */
export function inclusionRanges(m: number, n: number): Array<[number, number]> {
  if (!(m >= 0 && m < n)) throw new RangeError(`leaf ${m} is not in a tree of size ${n}`);
  const out: Array<[number, number]> = [];
  let lo = 0;
  let hi = n;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (m < lo + k) {
      out.push([lo + k, hi]);
      hi = lo + k;
    } else {
      out.push([lo, lo + k]);
      lo = lo + k;
    }
  }
  return out.reverse();
}

/** The ranges whose MTH form the RFC 9162 consistency proof PROOF(m, D[0:n]) for 0 < m < n. */
export function consistencyRanges(m: number, n: number): Array<[number, number]> {
  if (!(m > 0 && m < n)) throw new RangeError(`no consistency proof from ${m} to ${n}`);
  const out: Array<[number, number]> = [];
  let lo = 0;
  let hi = n;
  let mm = m;
  let complete = true; // SUBPROOF's b flag
  while (mm !== hi - lo) {
    const k = splitPoint(hi - lo);
    if (mm <= k) {
      out.push([lo + k, hi]);
      hi = lo + k;
    } else {
      out.push([lo, lo + k]);
      lo = lo + k;
      mm -= k;
      complete = false;
    }
  }
  if (!complete) out.push([lo, hi]);
  return out.reverse();
}

/**
 * The compact state of an append-only tree: the roots of the complete subtrees of size's binary decomposition,
 * largest first. Appending is O(log n) amortised O(1); `onNode` sees every complete subtree as it is finished
 * (level 0 = the leaf itself), which is how stores and verifiers collect the hashes they keep.
 */
export class Frontier {
  private hashes: Buffer[];
  private levels: number[];
  size: number;

  constructor(size = 0, hashes: Buffer[] = []) {
    this.size = size;
    this.hashes = hashes.map((h) => Buffer.from(h));
    this.levels = [];
    for (let bit = 52; bit >= 0; bit--) if (Math.floor(size / 2 ** bit) % 2 === 1) this.levels.push(bit);
    if (this.levels.length !== this.hashes.length) {
      throw new Error(`frontier of size ${size} needs ${this.levels.length} hashes, got ${this.hashes.length}`);
    }
  }

  /** Appends a leaf hash; returns nothing, reports finished subtrees through onNode(level, index, hash). */
  append(leafHash: Buffer, onNode?: (level: number, index: number, hash: Buffer) => void): void {
    let h = leafHash;
    let level = 0;
    let index = this.size;
    onNode?.(0, index, h);
    while (this.levels.length > 0 && this.levels[this.levels.length - 1] === level) {
      const left = this.hashes.pop()!;
      this.levels.pop();
      h = hashChildren(left, h);
      level += 1;
      index = Math.floor(index / 2);
      onNode?.(level, index, h);
    }
    this.hashes.push(h);
    this.levels.push(level);
    this.size += 1;
  }

  /**
   * Appends a complete subtree of 2^level leaves at once (the caller guarantees size is a multiple of 2^level
   * and that the hash is right). Used by verifiers that hash aligned batches elsewhere.
   */
  appendSubtree(level: number, subtreeHash: Buffer, onNode?: (level: number, index: number, hash: Buffer) => void): void {
    const width = 2 ** level;
    if (this.size % width !== 0) throw new Error('unaligned subtree append');
    const end = this.size + width;
    let h = subtreeHash;
    let l = level;
    while (this.levels.length > 0 && this.levels[this.levels.length - 1] === l) {
      h = hashChildren(this.hashes.pop()!, h);
      this.levels.pop();
      l += 1;
      onNode?.(l, end / 2 ** l - 1, h);
    }
    this.hashes.push(h);
    this.levels.push(l);
    this.size += width;
  }

  root(): Buffer {
    return foldRange(this.hashes);
  }

  /** The frontier hashes, largest subtree first (what the tree-head row stores). */
  nodes(): Buffer[] {
    return this.hashes.map((h) => Buffer.from(h));
  }

  clone(): Frontier {
    return new Frontier(this.size, this.hashes);
  }
}

/** MTH of a list of leaf hashes by the RFC's recursive definition: the naive reference used by tests. */
export function naiveRoot(leafHashes: Buffer[], start = 0, end = leafHashes.length): Buffer {
  const n = end - start;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leafHashes[start]!;
  const k = splitPoint(n);
  return hashChildren(naiveRoot(leafHashes, start, start + k), naiveRoot(leafHashes, start + k, end));
}

/** Builds a proof from any source of complete-subtree hashes (a store, a verifier's memo, an in-memory tree). */
export function proofFromNodes(ranges: Array<[number, number]>, node: (level: number, index: number) => Buffer): Buffer[] {
  return ranges.map(([a, b]) => foldRange(rangeNodes(a, b).map((id) => node(id.level, id.index))));
}

/** RFC 9162 §2.1.3.2: verifies that leafHash is at leafIndex in the tree of treeSize with rootHash. */
export function verifyInclusion(leafIndex: number, treeSize: number, leafHash: Uint8Array, proof: Uint8Array[], rootHash: Uint8Array): boolean {
  if (!(Number.isSafeInteger(leafIndex) && Number.isSafeInteger(treeSize))) return false;
  if (leafIndex < 0 || leafIndex >= treeSize) return false;
  let fn = BigInt(leafIndex);
  let sn = BigInt(treeSize - 1);
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (p.length !== HASH_SIZE) return false;
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = hashChildren(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equalHashes(r, rootHash);
}

/** RFC 9162 §2.1.4.2: verifies that the tree (second, secondHash) extends the tree (first, firstHash). */
export function verifyConsistency(first: number, second: number, firstHash: Uint8Array, secondHash: Uint8Array, proof: Uint8Array[]): boolean {
  if (!(Number.isSafeInteger(first) && Number.isSafeInteger(second))) return false;
  if (first < 0 || first > second) return false;
  if (first === second) return proof.length === 0 && equalHashes(firstHash, secondHash);
  if (first === 0) return proof.length === 0; // the empty tree is a prefix of every tree
  if (proof.length === 0) return false;
  if (proof.some((p) => p.length !== HASH_SIZE)) return false;
  const path: Uint8Array[] = isPowerOfTwo(first) ? [firstHash, ...proof] : [...proof];
  let fn = BigInt(first - 1);
  let sn = BigInt(second - 1);
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return equalHashes(fr, firstHash) && equalHashes(sr, secondHash) && sn === 0n;
}
