import t from 'tap';
import pg from 'pg';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../../src/testing/pg.js';
import { complianceMigrations } from '../../src/db/migrations-dir.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { Frontier, hashLeaf, verifyConsistency, verifyInclusion } from '../../src/audit/merkle.js';
import { generateSigningKey, parseSigningKey, verifyCheckpoint } from '../../src/audit/checkpoint.js';
import type { AuditEventInput } from '../../src/audit/event.js';

const ev = (i: number, over: Partial<AuditEventInput> = {}): AuditEventInput => ({
  actor: { username: `u-${i % 7}`, roles: ['teller'], auth: 'session' },
  action: i % 3 === 0 ? 'case.create' : i % 3 === 1 ? 'case.update' : 'recording.view',
  object: { type: 'case', id: `c-${i % 11}` },
  result: 'success',
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)),
  requestId: `r-${i}`,
  ...over,
});

/** A fresh database, pool and log; `defer` cleanups run (last first) before the database is dropped. */
type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

async function withDb(t: TapTest): Promise<{ db: TestDatabase; pool: pg.Pool; log: AuditLog; defer: (f: () => unknown) => void }> {
  const db = await createTestDatabase([complianceMigrations]);
  const pool = new pg.Pool({ connectionString: db.appUrl, max: 20 });
  pool.on('error', () => undefined); // connections cut when the database is dropped
  const log = new AuditLog({ pool, signer: parseSigningKey(generateSigningKey('kyc-appliance.local/audit').signingKey) });
  const cleanups: Array<() => unknown> = [];
  t.teardown(async () => {
    for (const f of cleanups.reverse()) await f();
    await log.close().catch(() => undefined);
    await pool.end();
    await db.drop();
  });
  return { db, pool, log, defer: (f) => cleanups.push(f) };
}

async function rebuild(pool: pg.Pool): Promise<{ frontier: Frontier; eventIds: number[] }> {
  const rows = (
    await pool.query<{ leaf_index: string; event_id: string; body: string; leaf_hash: Buffer }>(
      'SELECT l.leaf_index, l.event_id, e.body, l.leaf_hash FROM audit_leaf l JOIN audit_event e ON e.id = l.event_id ORDER BY leaf_index',
    )
  ).rows;
  const frontier = new Frontier();
  rows.forEach((r, i) => {
    if (Number(r.leaf_index) !== i) throw new Error(`gap at ${i}`);
    const h = hashLeaf(Buffer.from(r.body, 'utf8'));
    if (!h.equals(r.leaf_hash)) throw new Error(`bad hash at ${i}`);
    frontier.append(h);
  });
  return { frontier, eventIds: rows.map((r) => Number(r.event_id)) };
}

t.test('privileges and triggers: the log is insert-only for the app and for the superuser', async (t) => {
  const { db, log, defer } = await withDb(t);
  await log.append(ev(1));
  await log.sequence();
  const column: Record<string, string> = {
    audit_event: 'body',
    audit_leaf: 'leaf_index',
    audit_node: 'level',
    audit_tree_head: 'tree_size',
    audit_checkpoint: 'tree_size',
  };
  const tables = Object.keys(column);
  const app = new pg.Client({ connectionString: db.appUrl });
  await app.connect();
  defer(() => app.end());
  for (const table of tables) {
    for (const sql of [`UPDATE ${table} SET ${column[table]} = ${column[table]}`, `DELETE FROM ${table}`, `TRUNCATE ${table} CASCADE`]) {
      await t.rejects(app.query(sql), /permission denied/, `kyc_app: ${sql}`);
    }
  }
  await t.rejects(app.query("SELECT setval('audit_event_id_seq', 1)"), /permission denied/, 'kyc_app cannot rewind the id sequence');
  const su = new pg.Client({ connectionString: db.superUrl });
  await su.connect();
  defer(() => su.end());
  await su.query('SET session_replication_role = replica');
  for (const table of tables) {
    await t.rejects(su.query(`UPDATE ${table} SET ${column[table]} = ${column[table]}`), /append-only/, `superuser in replica mode: UPDATE ${table}`);
    await t.rejects(su.query(`DELETE FROM ${table}`), /append-only/, `superuser in replica mode: DELETE ${table}`);
  }
  await t.rejects(su.query('TRUNCATE audit_event, audit_leaf, audit_node, audit_tree_head, audit_checkpoint'), /append-only/, 'superuser: TRUNCATE');
  // an explicit id from the caller is ignored: ids always come from the sequence
  const r = await app.query<{ id: string }>('INSERT INTO audit_event (id, body) VALUES (1, $1) RETURNING id', [JSON.stringify({ v: 1 })]);
  t.not(r.rows[0]!.id, '1', 'caller-chosen id replaced');
});

for (const round of [1, 2, 3])
  t.test(`concurrent appends from many connections and group commit: each sequenced exactly once, no gaps (round ${round})`, async (t) => {
    const { pool, log } = await withDb(t);
    log.startSequencer({ intervalMs: 20 });
    const perWriter = 40;
    const writers = 12;
    const inTx = Array.from({ length: writers }, async (_, w) => {
      const client = await pool.connect();
      try {
        const ids: number[] = [];
        for (let i = 0; i < perWriter; i++) {
          await client.query('BEGIN');
          ids.push((await log.appendInTx(client, ev(w * 1000 + i))).eventId);
          await client.query('COMMIT');
        }
        return ids;
      } finally {
        client.release();
      }
    });
    const grouped = Array.from({ length: 300 }, (_, i) => log.append(ev(50_000 + i)).then((r) => r.eventId));
    const ids = [...(await Promise.all(inTx)).flat(), ...(await Promise.all(grouped))];
    t.equal(new Set(ids).size, writers * perWriter + 300, 'every append got its own id');
    await log.waitForSequenced(Math.max(...ids));
    await log.stopSequencer();
    const { frontier, eventIds } = await rebuild(pool);
    t.equal(frontier.size, ids.length, 'tree size = events appended');
    t.same(
      [...eventIds].sort((a, b) => a - b),
      [...ids].sort((a, b) => a - b),
      'each event sequenced exactly once',
    );
    const head = await log.treeHead();
    t.equal(head.size, ids.length);
    t.same(head.rootHash, frontier.root(), 'stored root = root recomputed from the rows');
    const groups = (await pool.query<{ n: string }>('SELECT count(*) AS n FROM audit_tree_head')).rows[0]!;
    t.ok(Number(groups.n) < ids.length, `sequenced in ${Number(groups.n) - 1} batches`);
  });

t.test('ordering trap: a lower id committed after a higher one was sequenced is still sequenced', async (t) => {
  const { pool, log, defer } = await withDb(t);
  const slow = await pool.connect();
  const fast = await pool.connect();
  defer(() => {
    slow.release();
    fast.release();
  });
  await slow.query('BEGIN');
  const low = (await log.appendInTx(slow, ev(1))).eventId;
  await fast.query('BEGIN');
  const high = (await log.appendInTx(fast, ev(2))).eventId;
  await fast.query('COMMIT');
  t.ok(low < high);
  await log.sequence();
  await log.sequence(); // a second run: the watermark must not pass the open transaction's id
  t.equal(await log.waitForSequenced(high), 0, 'the committed higher id is leaf 0');
  t.equal((await log.treeHead()).size, 1);
  await slow.query('COMMIT');
  t.equal(await log.waitForSequenced(low), 1, 'the lower id, committed later, is leaf 1');
  // and later events keep flowing
  const more = await log.append(ev(3));
  t.equal(await log.waitForSequenced(more.eventId), 2);
  const watermark = (await pool.query<{ w: string }>('SELECT max(watermark) AS w FROM audit_tree_head')).rows[0]!;
  t.ok(Number(watermark.w) <= more.eventId, 'watermark never passes an unsequenced event');
});

t.test('a rolled-back business transaction leaves no event; a failed event write fails the transaction', async (t) => {
  const { pool, log, defer } = await withDb(t);
  const c = await pool.connect();
  defer(() => c.release());
  await c.query('BEGIN');
  const { eventId } = await log.appendInTx(c, ev(1));
  await c.query('ROLLBACK');
  await log.sequence();
  t.equal((await pool.query('SELECT 1 FROM audit_event WHERE id = $1', [eventId])).rowCount, 0);
  t.equal((await log.treeHead()).size, 0);
  await c.query('BEGIN');
  await t.rejects(log.appendInTx(c, { ...ev(2), action: 'NOT VALID' }), { code: 'KYC_ERR_AUDIT_EVENT_INVALID' });
  await c.query('ROLLBACK');
  // a database-level failure inside the transaction aborts it
  await c.query('BEGIN');
  await c.query("SET LOCAL statement_timeout = '1ms'");
  await c.query('SELECT pg_sleep(0.01)').catch(() => undefined);
  await t.rejects(log.appendInTx(c, ev(3)), /aborted/);
  await c.query('ROLLBACK');
});

t.test('proofs from the stored nodes verify against the tree roots (RFC 9162)', async (t) => {
  const { pool, log } = await withDb(t);
  const n = 333;
  for (let i = 0; i < n; i += 37) {
    await Promise.all(Array.from({ length: Math.min(37, n - i) }, (_, j) => log.append(ev(i + j))));
    await log.sequence();
  }
  const { frontier } = await rebuild(pool);
  t.equal(frontier.size, n);
  const leaves = (await pool.query<{ leaf_hash: Buffer }>('SELECT leaf_hash FROM audit_leaf ORDER BY leaf_index')).rows.map((r) => r.leaf_hash);
  const rootAt = (size: number): Buffer => {
    const f = new Frontier();
    for (let i = 0; i < size; i++) f.append(leaves[i]!);
    return f.root();
  };
  for (const [index, size] of [
    [0, 1],
    [0, n],
    [n - 1, n],
    [100, 200],
    [255, 256],
    [256, 257],
    [17, 37],
  ] as const) {
    const p = await log.inclusionProof(index, size);
    const root = rootAt(size);
    t.equal(p.rootHash, root.toString('base64'), `root at ${size}`);
    t.ok(
      verifyInclusion(
        index,
        size,
        leaves[index]!,
        p.hashes.map((h) => Buffer.from(h, 'base64')),
        root,
      ),
      `inclusion ${index}@${size}`,
    );
  }
  for (const [from, to] of [
    [1, n],
    [37, 74],
    [256, 333],
    [100, 101],
    [0, 5],
    [7, 7],
  ] as const) {
    const p = await log.consistencyProof(from, to);
    t.ok(
      verifyConsistency(
        from,
        to,
        rootAt(from),
        rootAt(to),
        p.hashes.map((h) => Buffer.from(h, 'base64')),
      ),
      `consistency ${from}->${to}`,
    );
  }
  const bad: Array<[string, () => Promise<unknown>]> = [
    ['index = size', () => log.inclusionProof(5, 5)],
    ['index > size', () => log.inclusionProof(9, 5)],
    ['size > tree', () => log.inclusionProof(0, n + 1)],
    ['negative', () => log.inclusionProof(-1, 5)],
    ['not an integer', () => log.inclusionProof(1.5, 5)],
    ['from > to', () => log.consistencyProof(9, 5)],
    ['to > tree', () => log.consistencyProof(1, n + 1)],
  ];
  for (const [name, f] of bad) await t.rejects(f(), { code: 'KYC_ERR_PROOF_RANGE' }, name);
});

t.test('listing: filters, keyset pagination, leaf index and bytes', async (t) => {
  const { log } = await withDb(t);
  await Promise.all(Array.from({ length: 60 }, (_, i) => log.append(ev(i))));
  await log.sequence();
  const all: number[] = [];
  let cursor: string | null = null;
  do {
    const page = await log.listEvents({ action: 'case.create' }, cursor, 7);
    for (const e of page.events) {
      t.equal(e.event.action, 'case.create');
      t.equal(hashLeaf(Buffer.from(e.leaf, 'utf8')).toString('base64'), e.leafHash);
      all.push(e.leafIndex);
    }
    cursor = page.nextCursor;
  } while (cursor);
  t.equal(all.length, 20, '20 case.create events over several pages');
  t.same(
    all,
    [...all].sort((a, b) => b - a),
    'newest first',
  );
  const asc = await log.listEvents({ actor: 'u-3', order: 'asc' }, null, 100);
  t.ok(asc.events.every((e) => e.event.actor.username === 'u-3'));
  t.same(
    asc.events.map((e) => e.leafIndex),
    [...asc.events.map((e) => e.leafIndex)].sort((a, b) => a - b),
  );
  const obj = await log.listEvents({ objectType: 'case', objectId: 'c-5' });
  t.ok(obj.events.length > 0 && obj.events.every((e) => e.event.object?.id === 'c-5'));
  const several = await log.listEvents({ objectIds: ['c-5', 'c-6'], order: 'asc' }, null, 1000);
  t.same(new Set(several.events.map((e) => e.event.object?.id)), new Set(['c-5', 'c-6']), 'several objects in one query');
  t.equal(several.events.length, obj.events.length + (await log.listEvents({ objectId: 'c-6' })).events.length);
  await t.rejects(log.listEvents({ objectIds: [] }), { code: 'KYC_ERR_AUDIT_QUERY_INVALID' });
  await t.rejects(log.listEvents({ objectIds: [''] }), { code: 'KYC_ERR_AUDIT_QUERY_INVALID' });
  const prefix = await log.listEvents({ action: 'case.*' }, null, 1000);
  t.equal(prefix.events.length, 40);
  const timed = await log.listEvents({ since: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 10)), until: '2026-01-01T00:00:00.020Z' });
  t.equal(timed.events.length, 10, 'time window [10 ms, 20 ms)');
  await t.rejects(log.listEvents({}, 'garbage'), { code: 'KYC_ERR_AUDIT_QUERY_INVALID' });
  await t.rejects(log.listEvents({ since: 'yesterday' }), { code: 'KYC_ERR_AUDIT_QUERY_INVALID' });
  await t.rejects(log.listEvents({}, null, 5000), { code: 'KYC_ERR_AUDIT_QUERY_INVALID' });
});

t.test('checkpointer: every N events, O_EXCL files, final checkpoint at close, served by latestCheckpoint', async (t) => {
  const { log } = await withDb(t);
  const dir = await mkdtemp(join(tmpdir(), 'kyc-cp-'));
  log.startSequencer({ intervalMs: 10 });
  await log.startCheckpointer({ dir, everyEvents: 10, everyMs: 3_600_000, pollMs: 10 });
  // a first batch past the threshold, sequenced and checkpointed before the rest (the sequencer may otherwise take
  // all 26 events in one batch on a busy machine, and the only checkpoint is the final one)
  let first = null;
  for (let i = 0; i < 12; i++) first = await log.append(ev(i));
  await log.waitForSequenced(first!.eventId);
  for (let i = 0; i < 200 && !(await readdir(dir)).some((f) => f.endsWith('.checkpoint')); i++) await new Promise((r) => setTimeout(r, 25));
  for (let i = 12; i < 25; i++) await log.append(ev(i));
  const last = await log.append(ev(99));
  await log.waitForSequenced(last.eventId);
  await new Promise((r) => setTimeout(r, 100));
  await log.close();
  const files = (await readdir(dir)).sort();
  const cps = files.filter((f) => f.endsWith('.checkpoint'));
  t.ok(cps.length >= 2, `${cps.length} checkpoints written`);
  t.match(cps[cps.length - 1], /^000000000026-\d{8}T\d{9}Z\.checkpoint$/, 'final checkpoint has every event');
  t.ok(files.includes('verifier-key.txt'));
  const vkey = (await readFile(join(dir, 'verifier-key.txt'), 'utf8')).trim();
  t.equal(vkey, log.verifierKey());
  const leaves = files.filter((f) => f.endsWith('.leaves'));
  let covered = 0;
  for (const f of leaves) {
    const [from, to] = f.replace('.leaves', '').split('-').map(Number) as [number, number];
    t.equal(from, covered, 'leaves files are contiguous');
    t.equal((await stat(join(dir, f))).size, (to - from) * 32);
    covered = to;
  }
  t.equal(covered, 26);
  for (const f of cps) verifyCheckpoint(await readFile(join(dir, f), 'utf8'), vkey, 'kyc-appliance.local/audit');
  const latest = await log.latestCheckpoint();
  t.equal(latest, await readFile(join(dir, cps[cps.length - 1]!), 'utf8'), 'latestCheckpoint = newest file');
});
