import t from 'tap';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { applyMigrations } from '../../src/db/migrate.js';
import { createTestDatabase } from '../../src/testing/pg.js';

t.test('applies each migration once, in order, and records it', async (t) => {
  const db = await createTestDatabase([]);
  const dir = await mkdtemp(join(tmpdir(), 'mig-'));
  await writeFile(join(dir, '0001_a.sql'), 'CREATE TABLE a (x int);');
  await writeFile(join(dir, '0002_b.sql'), 'INSERT INTO a VALUES (1);');
  await writeFile(join(dir, 'notes.txt'), 'ignored');
  const pool = new pg.Pool({ connectionString: db.ownerUrl, max: 1 });
  // the pool's connection closes before the database is dropped (a forced drop would cut it: an error event)
  t.teardown(async () => {
    await pool.end();
    await db.drop();
  });
  const first = await applyMigrations(pool, [{ scope: 's', dir }]);
  t.same(first, [
    { id: 's/0001_a', appliedNow: true },
    { id: 's/0002_b', appliedNow: true },
  ]);
  const second = await applyMigrations(pool, [{ scope: 's', dir }]);
  t.same(
    second.map((m) => m.appliedNow),
    [false, false],
  );
  const rows = (await pool.query('SELECT count(*)::int AS n FROM a')).rows[0];
  t.equal(rows.n, 1, 'second run did not re-apply');
});

t.test('a failing migration rolls back and names itself', async (t) => {
  const db = await createTestDatabase([]);
  const dir = await mkdtemp(join(tmpdir(), 'mig-'));
  await writeFile(join(dir, '0001_bad.sql'), 'CREATE TABLE b (x int); SELECT * FROM missing_table;');
  const pool = new pg.Pool({ connectionString: db.ownerUrl, max: 1 });
  // the pool's connection closes before the database is dropped (a forced drop would cut it: an error event)
  t.teardown(async () => {
    await pool.end();
    await db.drop();
  });
  await t.rejects(applyMigrations(pool, [{ scope: 's', dir }]), /migration s\/0001_bad failed/);
  const exists = (await pool.query("SELECT to_regclass('b') AS r")).rows[0];
  t.equal(exists.r, null, 'partial migration rolled back');
});
