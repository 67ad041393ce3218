import { createReadStream } from 'node:fs';
import { hash } from 'node:crypto';
import type pg from 'pg';
import { HASH_SIZE } from '../merkle.js';
import { LeafHasher, type BatchSink } from '../leaf-hasher.js';

/**
 * Where the verifier's leaves come from: the database (a binary COPY of the leaf and event rows, in one snapshot)
 * or a bundle's `events.jsonl`. A source hashes each leaf's bytes and hands it to a sink (the rebuilder).
 */

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

const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Streams `SELECT leaf_index, leaf_hash, body ...` as binary COPY and pushes each leaf, hashing the body in place
 * (zero copy: the byte before the body, the last byte of its length field, is overwritten with the 0x00 leaf
 * prefix). PostgreSQL produces rows on one core while this hashes on the other.
 */
export function copyLeaves(client: pg.Client, select: string, options: { withBody?: boolean; countEventsUpTo?: number; counted?: (n: number) => void; worker?: boolean } = {}): LeafSource {
  const withBody = options.withBody ?? false;
  const countBelow = options.countEventsUpTo ?? -1;
  let counted = 0;
  return (leafSink) =>
    new Promise<void>((resolve, reject) => {
      // pausing the socket stops reading; PostgreSQL then waits on a full socket buffer
      const socket = (client as unknown as { connection?: { stream?: { pause?: () => void; resume?: () => void } } }).connection?.stream;
      const hasher = options.worker ? new LeafHasher(leafSink.pushBatch, true, (pause) => (pause ? socket?.pause?.() : socket?.resume?.())) : null;
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

/** Every leaf in leaf order, with its event's bytes (null when the event row is gone): what an export writes. */
export const LEAVES_SELECT = 'SELECT l.leaf_index, l.event_id, l.leaf_hash, e.body FROM audit_leaf l LEFT JOIN audit_event e ON e.id = l.event_id ORDER BY l.leaf_index';

/**
 * The verifier's scan, in event order: a merge join of two index scans costs PostgreSQL about half the CPU of a
 * nested loop in leaf order (one index probe per leaf); the rebuilder puts the few leaves that were sequenced out
 * of event order back in leaf order. A leaf whose event row is gone drops out of the join and shows as missing.
 */
export const LEAVES_BY_EVENT_SELECT = 'SELECT l.leaf_index, l.event_id, l.leaf_hash, e.body FROM audit_event e JOIN audit_leaf l ON l.event_id = e.id ORDER BY e.id';

/** Session settings for the verifier's scan: the merge join in event order, no JIT start-up. */
export async function verifyScanSettings(client: pg.Client): Promise<void> {
  await client.query('SET LOCAL jit = off; SET LOCAL enable_nestloop = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_sort = off; SET LOCAL max_parallel_workers_per_gather = 0');
}

/** Session settings for the export's scan: leaf order by index, event by primary key, no JIT start-up. */
export async function exportScanSettings(client: pg.Client): Promise<void> {
  await client.query('SET LOCAL jit = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL max_parallel_workers_per_gather = 0');
}

const PAD = Buffer.alloc(1);

/** Streams events.jsonl as leaves: line i is leaf i's bytes (hashed in place, the 0x00 prefix over the '\n'). */
export function bundleLeaves(path: string): LeafSource {
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
