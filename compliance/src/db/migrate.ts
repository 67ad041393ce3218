import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';

/** A folder of append-only `NNNN_name.sql` files; `scope` keeps ids unique across packages. */
export interface MigrationSource {
  scope: string;
  dir: string;
}

export interface AppliedMigration {
  id: string;
  appliedNow: boolean;
}

const LOCK_KEY = 7_114_202_611; // advisory lock id: one migrator at a time

/**
 * Applies every migration not yet recorded in `schema_migrations`, each in its own transaction, in
 * source order then file-name order. Files are never edited once applied: a change is a new file.
 */
export async function applyMigrations(pool: pg.Pool, sources: MigrationSource[]): Promise<AppliedMigration[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         id text PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = new Set((await client.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
    const result: AppliedMigration[] = [];
    for (const source of sources) {
      const files = (await readdir(source.dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
      for (const file of files) {
        const id = `${source.scope}/${file.replace(/\.sql$/, '')}`;
        if (done.has(id)) {
          result.push({ id, appliedNow: false });
          continue;
        }
        const sql = await readFile(join(source.dir, file), 'utf8');
        await client.query('BEGIN');
        try {
          await client.query(sql);
          await client.query('INSERT INTO schema_migrations (id) VALUES ($1)', [id]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${id} failed: ${(err as Error).message}`, { cause: err });
        }
        result.push({ id, appliedNow: true });
      }
    }
    return result;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}
