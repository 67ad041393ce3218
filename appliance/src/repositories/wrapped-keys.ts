import type { Queryable } from '../db/database.js';

/** The tables whose rows carry a data key wrapped under a KEK (`kek_id`, `wrapped_key`): what `kyc-archive rewrap` moves. */
export type WrappedKeyTable = 'recordings' | 'recording_exports';

/** Rows of `table` whose data key is wrapped under another KEK than `kid`, oldest first. */
export async function wrappedNotUnder(db: Queryable, table: WrappedKeyTable, kid: string, limit = 500): Promise<Array<{ id: string; kek_id: string; wrapped_key: Buffer }>> {
  const r = await db.query<{ id: string; kek_id: string; wrapped_key: Buffer }>(
    `SELECT id, kek_id, wrapped_key FROM ${table} WHERE wrapped_key IS NOT NULL AND kek_id <> $1 ORDER BY created_at LIMIT $2`,
    [kid, limit],
  );
  return r.rows;
}

/** Replaces a row's wrapped key, only if it is still wrapped under `from` (a concurrent rewrap changes nothing). */
export async function replaceWrappedKey(db: Queryable, table: WrappedKeyTable, id: string, from: string, to: { kid: string; wrapped: Buffer }): Promise<boolean> {
  const touch = table === 'recordings' ? ', updated_at = now()' : '';
  const r = await db.query(`UPDATE ${table} SET kek_id = $3, wrapped_key = $4${touch} WHERE id = $1 AND kek_id = $2`, [id, from, to.kid, to.wrapped]);
  return (r.rowCount ?? 0) > 0;
}
