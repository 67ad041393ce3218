/**
 * Attacks on the real PostgreSQL (as superuser where the attack needs it), each checked through the real
 * `kyc-audit` CLI: the verifier must fail and name the first bad leaf index.
 */
import t from 'tap';
import pg from 'pg';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestDatabase } from '../../src/testing/pg.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { Checkpointer, checkpointTimestamp, pad12 } from '../../src/audit/checkpointer.js';
import { generateSigningKey, parseSigningKey, signCheckpoint, type NoteSigner } from '../../src/audit/checkpoint.js';
import { Frontier, hashLeaf } from '../../src/audit/merkle.js';
import { signedTestLog } from '../helpers/signed-log.js';
import { kycAudit, type CliResult } from '../helpers/kyc-audit-cli.js';

const ORIGIN = 'kyc-appliance.local/audit';
interface Fixture {
  db: TestDatabase;
  pool: pg.Pool;
  log: AuditLog;
  signer: NoteSigner;
  dir: string;
  su: pg.Client;
  verify: (extra?: string[]) => Promise<CliResult>;
}

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

const event = (i: number) => ({
  actor: { username: `u-${i % 5}`, roles: ['auditor'], auth: 'session' as const },
  action: 'recording.view',
  object: { type: 'recording', id: `rec-${i}` },
  result: 'success' as const,
  time: new Date(Date.UTC(2026, 5, 1, 12, 0, 0, i)),
  requestId: `req-${i}`,
});

/** Appends `upTo - size` events in steps of 10, sequencing and checkpointing after each step. */
async function grow(f: Fixture, cp: Checkpointer, from: number, upTo: number): Promise<void> {
  for (let i = from; i < upTo; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, upTo - i) }, (_, j) => f.log.append(event(i + j))));
    await f.log.sequence();
    await cp.checkpointNow();
    await new Promise((r) => setTimeout(r, 2)); // distinct checkpoint file times
  }
}

async function fixture(t: TapTest, size = 40): Promise<Fixture & { cp: Checkpointer }> {
  const { db, pool, log, signer, dir, cp } = await signedTestLog(t, ORIGIN);
  const su = new pg.Client({ connectionString: db.superUrl });
  su.on('error', () => undefined);
  await su.connect();
  t.teardown(() => su.end().catch(() => undefined));
  const f: Fixture & { cp: Checkpointer } = {
    db,
    pool,
    log,
    signer,
    dir,
    su,
    cp,
    verify: (extra = []) => kycAudit(['verify', '--db', db.superUrl, '--checkpoints', dir, '--verifier-key', signer.verifierKey, ...extra]),
  };
  await grow(f, cp, 0, size);
  const ok = await f.verify();
  t.equal(ok.code, 0, 'untouched log verifies');
  t.equal(ok.json.ok, true);
  t.equal(ok.json.treeSize, size);
  t.equal(ok.lines, 1, 'exactly one JSON line');
  return f;
}

const leafEvent = `(SELECT event_id FROM audit_leaf WHERE leaf_index = $1)`;
const unguard =
  'ALTER TABLE audit_event DISABLE TRIGGER ALL; ALTER TABLE audit_leaf DISABLE TRIGGER ALL; ALTER TABLE audit_node DISABLE TRIGGER ALL; ALTER TABLE audit_tree_head DISABLE TRIGGER ALL; ALTER TABLE audit_checkpoint DISABLE TRIGGER ALL';

function expectBad(t: TapTest, r: CliResult, index: number, reason: RegExp): void {
  t.equal(r.code, 1, 'verifier exits 1');
  t.equal(r.json.ok, false);
  t.equal(r.json.firstBadIndex, index, `first bad index ${index}: ${r.json.reason}`);
  t.match(r.json.reason, reason);
  t.equal(r.lines, 1, 'exactly one JSON line');
}

/**
 * What a careful attacker with superuser does after editing rows: recompute every stored leaf hash, interior
 * node and tree head from the (edited) bodies, so that the database is internally consistent again.
 */
async function recomputeEverything(su: pg.Client): Promise<void> {
  const rows = (await su.query<{ leaf_index: string; body: string }>('SELECT l.leaf_index, e.body FROM audit_leaf l JOIN audit_event e ON e.id = l.event_id ORDER BY l.leaf_index')).rows;
  const heads = new Set((await su.query<{ tree_size: string }>('SELECT tree_size FROM audit_tree_head')).rows.map((r) => Number(r.tree_size)));
  const f = new Frontier();
  await su.query('BEGIN');
  for (const row of rows) {
    const h = hashLeaf(Buffer.from(row.body, 'utf8'));
    await su.query('UPDATE audit_leaf SET leaf_hash = $2 WHERE leaf_index = $1', [Number(row.leaf_index), h]);
    f.append(h, (level, index, hash) => {
      if (level > 0) void su.query('UPDATE audit_node SET hash = $3 WHERE end_index = $1 AND level = $2', [(index + 1) * 2 ** level, level, hash]);
    });
    if (heads.has(f.size)) {
      await su.query('UPDATE audit_tree_head SET root_hash = $2, frontier = $3 WHERE tree_size = $1', [f.size, f.root(), Buffer.concat(f.nodes())]);
    }
  }
  await su.query('COMMIT');
}

t.test('edit one row', async (t) => {
  const f = await fixture(t);
  await f.su.query(unguard);
  await f.su.query(`UPDATE audit_event SET body = replace(body, '"result":"success"', '"result":"denied"') WHERE id = ${leafEvent}`, [17]);
  expectBad(t, await f.verify(), 17, /leaf 17/);
});

t.test('delete one row', async (t) => {
  const f = await fixture(t);
  await f.su.query(unguard);
  await f.su.query(`DELETE FROM audit_leaf WHERE leaf_index = $1`, [23]);
  expectBad(t, await f.verify(), 23, /leaf 23 is missing/);
});

t.test('delete one event row (its leaf kept)', async (t) => {
  const f = await fixture(t);
  await f.su.query(unguard);
  await f.su.query(`DELETE FROM audit_event WHERE id = ${leafEvent}`, [31]);
  expectBad(t, await f.verify(), 31, /event of leaf 31 is missing/);
});

t.test('reorder two rows', async (t) => {
  const f = await fixture(t);
  await f.su.query(unguard);
  // swap the two events' contents (the rows keep their ids and leaf slots)
  await f.su.query(
    `UPDATE audit_event e SET body = o.body
       FROM (SELECT l1.event_id AS id, e2.body FROM audit_leaf l1, audit_leaf l2 JOIN audit_event e2 ON e2.id = l2.event_id
              WHERE (l1.leaf_index, l2.leaf_index) IN ((5, 12), (12, 5))) o
      WHERE e.id = o.id`,
  );
  expectBad(t, await f.verify(), 5, /leaf 5/);
});

t.test('truncate', async (t) => {
  const f = await fixture(t);
  await t.rejects(f.su.query('TRUNCATE audit_event, audit_leaf, audit_node, audit_tree_head, audit_checkpoint'), /append-only/, 'refused while the triggers are on');
  await f.su.query(unguard);
  await f.su.query('TRUNCATE audit_event, audit_leaf, audit_node, audit_tree_head, audit_checkpoint');
  expectBad(t, await f.verify(), 0, /larger than the log's 0 leaves/);
});

t.test('disable triggers and rewrite the tail with a recomputed chain', async (t) => {
  const f = await fixture(t);
  await f.su.query('SET session_replication_role = replica');
  await t.rejects(f.su.query(`UPDATE audit_event SET body = body WHERE id = ${leafEvent}`, [25]), /append-only/, 'replica mode does not bypass the triggers');
  await f.su.query(unguard);
  await f.su.query(`UPDATE audit_event SET body = replace(body, '"result":"success"', '"result":"failure"') WHERE id = ${leafEvent}`, [25]);
  await recomputeEverything(f.su);
  // the database alone now looks consistent: a verifier that trusts it would pass
  const inDb = (await f.pool.query<{ n: string }>('SELECT count(*) AS n FROM audit_leaf')).rows[0]!;
  t.equal(Number(inDb.n), 40);
  expectBad(t, await f.verify(), 25, /leaf 25 differs from the leaf hash exported with the signed checkpoints/);
  // without the exported leaf hashes, the signed checkpoints still catch it and bound the index
  for (const name of await readdir(f.dir)) if (name.endsWith('.leaves')) await unlink(join(f.dir, name));
  const r = await f.verify();
  t.equal(r.code, 1);
  t.equal(r.json.firstBadIndex, 20, 'first index after the last good checkpoint (size 20)');
  t.match(r.json.reason, /first bad leaf is in \[20, 30\)/);
});

t.test('restore an older dump', async (t) => {
  const f = await fixture(t, 20);
  const dump = join(f.dir, '..', `${f.db.name}.dump`);
  execFileSync('pg_dump', ['-Fc', '-f', dump, f.db.superUrl]);
  t.teardown(() => rm(dump, { force: true }));
  await grow(f, f.cp, 20, 40);
  t.equal((await f.verify()).code, 0, 'grown log verifies');
  execFileSync('pg_restore', ['--clean', '--if-exists', '--single-transaction', '-d', f.db.superUrl, dump]);
  expectBad(t, await f.verify(), 20, /signed tree size (30|40) is larger than the log's 20 leaves/);
});

t.test('present an old checkpoint as new', async (t) => {
  const f = await fixture(t);
  const names = (await readdir(f.dir)).filter((n) => n.endsWith('.checkpoint')).sort();
  const old = names.find((n) => n.startsWith(pad12(20)))!;
  // re-issue the size-20 checkpoint under a current time, as if it were the newest
  await copyFile(join(f.dir, old), join(f.dir, `${pad12(20)}-${checkpointTimestamp(new Date(Date.now() + 60_000))}.checkpoint`));
  expectBad(t, await f.verify(), 20, /issued after .* smaller tree size 20 < 40 \(old checkpoint presented as new\)/);
  // and the database serving the old one as its latest (rows of newer checkpoints removed)
  const g = await fixture(t);
  await g.su.query(unguard);
  await g.su.query('DELETE FROM audit_checkpoint WHERE tree_size > 20');
  t.match(await g.log.latestCheckpoint(), /\n20\n/, 'the API now serves the size-20 checkpoint');
  expectBad(t, await g.verify(), 20, /serves a checkpoint of size 20 as its latest, but a checkpoint of size 40 was issued/);
});

t.test('sign with another key', async (t) => {
  const f = await fixture(t);
  await f.su.query(unguard);
  await f.su.query(`UPDATE audit_event SET body = replace(body, '"result":"success"', '"result":"failure"') WHERE id = ${leafEvent}`, [33]);
  await recomputeEverything(f.su);
  // the attacker signs a fresh checkpoint of the rewritten tree with a key of their own, under the same name
  const mallory = parseSigningKey(generateSigningKey(ORIGIN).signingKey);
  const head = await f.log.treeHead();
  const forged = signCheckpoint({ origin: ORIGIN, size: head.size, rootHash: head.rootHash }, mallory);
  await writeFile(join(f.dir, `${pad12(head.size)}-${checkpointTimestamp(new Date(Date.now() + 60_000))}.checkpoint`), forged);
  await f.su.query('INSERT INTO audit_checkpoint (tree_size, note) VALUES ($1, $2)', [head.size, forged]);
  const r = await f.verify();
  expectBad(t, r, 33, /leaf 33/);
  const details = JSON.stringify(r.json.details);
  t.match(details, /no signature by kyc-appliance\.local\/audit\+[0-9a-f]{8}/, 'the forged checkpoint is reported too');
  // a forged checkpoint alone (no other change) is named by its tree size
  const g = await fixture(t);
  await writeFile(
    join(g.dir, `${pad12(40)}-${checkpointTimestamp(new Date(Date.now() + 60_000))}.checkpoint`),
    signCheckpoint({ origin: ORIGIN, size: 40, rootHash: (await g.log.treeHead()).rootHash }, mallory),
  );
  expectBad(t, await g.verify(), 40, /no signature by/);
});

t.test('export and verify-bundle, then tamper with the bundle', async (t) => {
  const f = await fixture(t);
  const out = await mkdtemp(join(tmpdir(), 'kyc-audit-bundle-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const bundle = join(out, 'b');
  const e = await kycAudit(['export', '--db', f.db.appUrl, '--checkpoints', f.dir, bundle]);
  t.equal(e.code, 0, JSON.stringify(e.json));
  t.equal(e.json.treeSize, 40);
  const pinned = ['--verifier-key', f.signer.verifierKey];
  const unpinned = await kycAudit(['verify-bundle', bundle]);
  t.equal(unpinned.code, 2, "the bundle's own verifier key is not trusted");
  t.match(String(unpinned.json.error), /no verifier key pinned/);
  const ok = await kycAudit(['verify-bundle', bundle, ...pinned]);
  t.equal(ok.code, 0, JSON.stringify(ok.json));
  t.equal(ok.json.verifierKeySource, 'argument', 'with the pinned key');
  const other = parseSigningKey(generateSigningKey(ORIGIN).signingKey);
  expectBad(t, await kycAudit(['verify-bundle', bundle, '--verifier-key', other.verifierKey]), 10, /no signature by/);

  const events = join(bundle, 'events.jsonl');
  const original = await readFile(events, 'utf8');
  const lines = original.trimEnd().split('\n');
  await writeFile(events, [...lines.slice(0, 7), lines[7]!.replace('"result":"success"', '"result":"failure"'), ...lines.slice(8)].join('\n') + '\n');
  expectBad(t, await kycAudit(['verify-bundle', bundle, ...pinned]), 7, /leaf 7/);
  await writeFile(events, [...lines.slice(0, 3), lines[4]!, lines[3]!, ...lines.slice(5)].join('\n') + '\n');
  expectBad(t, await kycAudit(['verify-bundle', bundle, ...pinned]), 3, /leaf 3/);
  await writeFile(events, lines.slice(0, 35).join('\n') + '\n');
  expectBad(t, await kycAudit(['verify-bundle', bundle, ...pinned]), 35, /larger than the log's 35 leaves/);
  t.ok((await stat(join(bundle, 'manifest.json'))).isFile());
});

t.test('usage errors exit 2 with one JSON line', async (t) => {
  const r = await kycAudit(['verify']);
  t.equal(r.code, 2);
  t.equal(r.json.ok, false);
  t.match(String(r.json.error), /--db is required/);
  const bad = await kycAudit(['verify', '--db', 'postgresql://nobody@/nope?host=/var/run/postgresql&port=5433', '--checkpoints', '/nonexistent', '--verifier-key', 'x+00000000+AA==']);
  t.equal(bad.code, 2);
});
