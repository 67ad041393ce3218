import type pg from 'pg';
import { AuditError } from './errors.js';
import { consistencyRanges, foldRange, inclusionRanges, nodeKey, rangeNodes, type NodeId } from './merkle.js';

/**
 * Reading the tree the sequencer stored: the current head, and RFC 9162 inclusion and consistency proofs built
 * from the stored complete-subtree hashes (O(log n) rows per proof, fetched in one query).
 */

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

function rangeError(message: string): never {
  throw new AuditError('KYC_ERR_PROOF_RANGE', message);
}

function checkInt(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) rangeError(`${name} must be a non-negative integer`);
}

export async function readTreeHead(pool: pg.Pool): Promise<TreeHead> {
  const r = await pool.query<{ tree_size: string; root_hash: Buffer }>('SELECT tree_size, root_hash FROM audit_tree_head ORDER BY tree_size DESC LIMIT 1');
  const row = r.rows[0]!;
  return { size: Number(row.tree_size), rootHash: row.root_hash };
}

/** Fetches complete-subtree hashes by (level, index) in one query. */
async function fetchNodes(pool: pg.Pool, ids: NodeId[]): Promise<Map<number, Buffer>> {
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
  const r = await pool.query<{ level: number; end_index: string; hash: Buffer }>(
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

async function rangeHashes(pool: pg.Pool, ranges: Array<[number, number]>): Promise<Buffer[]> {
  const plans = ranges.map(([a, b]) => rangeNodes(a, b));
  const nodes = await fetchNodes(pool, plans.flat());
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

/** RFC 9162 inclusion proof of leaf `index` in the tree of size `size` (≤ current size). */
export async function inclusionProof(pool: pg.Pool, index: number, size: number): Promise<InclusionProof> {
  checkInt('index', index);
  checkInt('size', size);
  if (index >= size) rangeError(`index ${index} is not below tree size ${size}`);
  const head = await readTreeHead(pool);
  if (size > head.size) rangeError(`tree size ${size} is larger than the log (${head.size})`);
  const ranges = inclusionRanges(index, size);
  const hashes = await rangeHashes(pool, [[index, index + 1], [0, size], ...ranges]);
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
export async function consistencyProof(pool: pg.Pool, from: number, to: number): Promise<ConsistencyProof> {
  checkInt('from', from);
  checkInt('to', to);
  if (from > to) rangeError(`from ${from} is larger than to ${to}`);
  const head = await readTreeHead(pool);
  if (to > head.size) rangeError(`tree size ${to} is larger than the log (${head.size})`);
  const ranges = from > 0 && from < to ? consistencyRanges(from, to) : [];
  const hashes = await rangeHashes(pool, [[0, from], [0, to], ...ranges]);
  const [fromRoot, toRoot, ...path] = hashes as [Buffer, Buffer, ...Buffer[]];
  return {
    from,
    to,
    fromRootHash: fromRoot.toString('base64'),
    toRootHash: toRoot.toString('base64'),
    hashes: path.map((h) => h.toString('base64')),
  };
}
