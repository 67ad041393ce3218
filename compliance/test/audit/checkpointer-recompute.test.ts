import t from 'tap';
import { readdir } from 'node:fs/promises';
import pg from 'pg';
import { signedTestLog } from '../helpers/signed-log.js';

const ORIGIN = 'kyc-appliance.test/audit';
const unguard = 'ALTER TABLE audit_event DISABLE TRIGGER ALL; ALTER TABLE audit_leaf DISABLE TRIGGER ALL; ALTER TABLE audit_tree_head DISABLE TRIGGER ALL';
const event = (i: number) => ({
  actor: { username: 'system', roles: [], auth: 'system' as const },
  action: 'case.create',
  object: { type: 'case', id: `c${i}` },
  result: 'success' as const,
});

t.test('the checkpointer signs the root it recomputes from the events, never a tree head it only read', async (t) => {
  const { db, log, dir, cp } = await signedTestLog(t, ORIGIN);
  const su = new pg.Client({ connectionString: db.superUrl });
  await su.connect();
  t.teardown(() => su.end());
  const checkpoints = async () => (await readdir(dir)).filter((n) => n.endsWith('.checkpoint')).length;

  for (let i = 0; i < 5; i++) await log.append(event(i));
  await log.sequence();
  t.ok(await cp.checkpointNow(), 'an honest log is signed');
  const signed = await checkpoints();

  // A tree head row set by someone with write access: its root is not what the leaves give.
  for (let i = 5; i < 8; i++) await log.append(event(i));
  await log.sequence();
  await su.query(unguard);
  await su.query('UPDATE audit_tree_head SET root_hash = $1 WHERE tree_size = (SELECT max(tree_size) FROM audit_tree_head)', [Buffer.alloc(32, 7)]);
  await t.rejects(cp.checkpointNow(), { code: 'KYC_ERR_AUDIT_CHECKPOINT', message: /does not match the root of its leaves/ }, 'a forged tree head is not signed');
  t.equal(await checkpoints(), signed, 'no checkpoint written');

  // An event altered after it was sequenced: its leaf no longer hashes it.
  const { db: db2, log: log2, dir: dir2, cp: cp2 } = await signedTestLog(t, ORIGIN);
  const su2 = new pg.Client({ connectionString: db2.superUrl });
  await su2.connect();
  t.teardown(() => su2.end());
  for (let i = 0; i < 4; i++) await log2.append(event(i));
  await log2.sequence();
  await su2.query(unguard);
  await su2.query(`UPDATE audit_event SET body = replace(body, '"c2"', '"c9"') WHERE body LIKE '%"c2"%'`);
  await t.rejects(cp2.checkpointNow(), { code: 'KYC_ERR_AUDIT_CHECKPOINT', message: /does not hash its event/ });
  t.equal((await readdir(dir2)).filter((n) => n.endsWith('.checkpoint')).length, 0, 'nothing signed');
});
