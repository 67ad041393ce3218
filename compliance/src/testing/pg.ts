import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { applyMigrations, type MigrationSource } from '../db/migrate.js';

/**
 * The development/test PostgreSQL cluster made by appliance/scripts/pg-cluster.sh: unix socket, peer
 * authentication with an ident map that lets the OS user act as kyc_app, kyc_owner and postgres.
 */
export const TEST_PG = { host: '/var/run/postgresql', port: 5433 } as const;

export function pgUrl(user: string, database: string): string {
  return `postgresql://${user}@/${database}?host=${encodeURIComponent(TEST_PG.host)}&port=${TEST_PG.port}`;
}

export interface TestDatabase {
  name: string;
  /** runtime role (kyc_app): what the appliance uses */
  appUrl: string;
  /** schema owner (kyc_owner): what migrations use */
  ownerUrl: string;
  /** superuser: only for tests that attack the database */
  superUrl: string;
  drop(): Promise<void>;
}

/** Creates a fresh database owned by kyc_owner and applies the given migrations as kyc_owner. */
export async function createTestDatabase(migrations: MigrationSource[]): Promise<TestDatabase> {
  const name = `kyc_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl('postgres', 'postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} OWNER kyc_owner`);
  } finally {
    await admin.end();
  }
  const su = new pg.Client({ connectionString: pgUrl('postgres', name) });
  await su.connect();
  try {
    await su.query('REVOKE ALL ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO kyc_owner; GRANT USAGE ON SCHEMA public TO kyc_app');
  } finally {
    await su.end();
  }
  const owner = new pg.Pool({ connectionString: pgUrl('kyc_owner', name), max: 1 });
  try {
    await applyMigrations(owner, migrations);
  } finally {
    await owner.end();
  }
  return {
    name,
    appUrl: pgUrl('kyc_app', name),
    ownerUrl: pgUrl('kyc_owner', name),
    superUrl: pgUrl('postgres', name),
    async drop() {
      const c = new pg.Client({ connectionString: pgUrl('postgres', 'postgres') });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
