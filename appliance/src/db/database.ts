import pg from 'pg';
import { readSecretText } from '../lib/secret-files.js';

// timestamptz → JS Date (default), bigint (int8) → string: ids and counters never lose precision silently.

export interface DatabaseOptions {
  url: string;
  passwordFile: string | null;
  max: number;
  applicationName: string;
}

export function createPool(opts: DatabaseOptions): pg.Pool {
  const password = opts.passwordFile ? readSecretText(opts.passwordFile) : undefined;
  const pool = new pg.Pool({
    connectionString: opts.url,
    ...(password !== undefined ? { password } : {}),
    max: opts.max,
    application_name: opts.applicationName,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 30_000,
  });
  // An idle client's error (e.g. the server restarted) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // A checked-out client has no listener from the pool: when the server dies between two queries of a transaction, or
  // under a lock held across a seal, its 'error' event would end the process (found by killing PostgreSQL under a
  // running appliance). With one, the client's next query fails, the transaction rolls back and the pool drops it.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

/** Runs `fn` in one transaction; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Either a pool or a client inside a transaction: repositories take whichever the caller has. */
export type Queryable = pg.Pool | pg.PoolClient;
