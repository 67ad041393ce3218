import t from 'tap';
import pg from 'pg';
import { signedTestLog } from '../helpers/signed-log.js';
import { Frontier, hashLeaf } from '../../src/audit/merkle.js';
import { signCheckpoint } from '../../src/audit/checkpoint.js';

const ORIGIN = 'kyc-appliance.test/audit';
const event = (i: number) => ({
  actor: { username: 'system', roles: [], auth: 'system' as const },
  action: 'case.create',
  object: { type: 'case', id: `c${i}` },
  result: 'success' as const,
});

t.test('the runtime role inserts audit events only: leaves, nodes, tree heads and checkpoints are refused', async (t) => {
  const { db, log } = await signedTestLog(t, ORIGIN);
  for (let i = 0; i < 3; i++) await log.append(event(i));
  await log.sequence();
  const app = new pg.Client({ connectionString: db.appUrl });
  await app.connect();
  t.teardown(() => app.end());
  const id = (await app.query<{ id: string }>('SELECT max(id) AS id FROM audit_event')).rows[0]!.id;
  const forged = Buffer.alloc(32, 9);
  await t.rejects(app.query('INSERT INTO audit_tree_head (tree_size, root_hash, frontier, watermark) VALUES (99, $1, $2, 0)', [forged, forged]), /permission denied/, 'tree head');
  await t.rejects(app.query('INSERT INTO audit_node (end_index, level, hash) VALUES (1024, 10, $1)', [forged]), /permission denied/, 'node');
  await t.rejects(app.query('INSERT INTO audit_leaf (leaf_index, event_id, leaf_hash) VALUES (3, $1, $2)', [id, forged]), /permission denied/, 'leaf');
  await t.rejects(app.query("INSERT INTO audit_checkpoint (tree_size, note) VALUES (3, 'x')", []), /permission denied/, 'checkpoint');
  t.ok(await log.append(event(9)), 'events are still inserted');
});

t.test('the owner function hashes the tree itself; callers only choose which events come next', async (t) => {
  const { db, log, signer } = await signedTestLog(t, ORIGIN);
  const app = new pg.Client({ connectionString: db.appUrl });
  await app.connect();
  t.teardown(() => app.end());
  // sizes crossing many powers of two, in uneven batches
  const expected = new Frontier();
  let appended = 0;
  for (const batch of [1, 2, 5, 8, 17, 31, 64, 1]) {
    for (let i = 0; i < batch; i++) {
      const { eventId } = await log.append(event(appended++));
      const body = (await app.query<{ body: string }>('SELECT body FROM audit_event WHERE id = $1', [eventId])).rows[0]!.body;
      expected.append(hashLeaf(Buffer.from(body, 'utf8')));
    }
    await log.sequence();
    const head = await log.treeHead();
    t.equal(head.size, expected.size, `size after a batch of ${batch}`);
    t.ok(head.rootHash.equals(expected.root()), `root after a batch of ${batch} is RFC 6962's`);
  }
  // every stored node is the hash of its two children (checked through an inclusion proof of every leaf)
  const head = await log.treeHead();
  for (let m = 0; m < head.size; m += 13) t.ok(await log.inclusionProof(m, head.size), `inclusion proof of leaf ${m}`);

  // bad calls change nothing
  const { eventId } = await log.append(event(1000));
  const { eventId: second } = await log.append(event(1001));
  await t.rejects(app.query('SELECT * FROM audit_sequence_append($1::bigint[], 0)', [[second, eventId]]), /watermark|ascending/, 'descending ids');
  await t.rejects(app.query('SELECT * FROM audit_sequence_append($1::bigint[], 0)', [[eventId + 100]]), /watermark|does not exist/, 'unknown event');
  await t.rejects(app.query('SELECT * FROM audit_sequence_append($1::bigint[], $2)', [[eventId], 1_000_000]), /watermark/, 'watermark above every id');
  await t.rejects(app.query('SELECT * FROM audit_sequence_append($1::bigint[], $2)', [[1], eventId]), /duplicate key|unique/, 'an event sequenced twice');
  t.equal((await log.treeHead()).size, head.size, 'the tree did not change');

  // a checkpoint note is recorded only for a tree head the function wrote
  const wrong = signCheckpoint({ origin: ORIGIN, size: head.size, rootHash: Buffer.alloc(32, 1) }, signer);
  await t.rejects(app.query('SELECT audit_checkpoint_record($1, $2)', [head.size, wrong]), /does not carry the tree head/, 'wrong root');
  await t.rejects(app.query('SELECT audit_checkpoint_record($1, $2)', [head.size + 7, wrong]), /no tree head/, 'unknown size');
  const right = signCheckpoint({ origin: ORIGIN, size: head.size, rootHash: head.rootHash }, signer);
  await app.query('SELECT audit_checkpoint_record($1, $2)', [head.size, right]);
  t.equal((await app.query('SELECT 1 FROM audit_checkpoint WHERE tree_size = $1', [head.size])).rowCount, 1, 'the right note is recorded');
});
