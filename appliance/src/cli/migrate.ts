#!/usr/bin/env node
import { applyMigrations } from '@kyc/compliance';
import { loadConfigOrExit } from '../config/load.js';
import { createPool } from '../db/database.js';
import { allMigrations } from '../migrations-dir.js';

/** Applies pending schema migrations as the schema owner (KYC_DB_MIGRATE_URL). */
async function main(): Promise<void> {
  const config = loadConfigOrExit({ allowMissingSecrets: true });
  const pool = createPool({ url: config.db.migrateUrl, passwordFile: config.db.passwordFile, max: 1, applicationName: 'kyc-migrate' });
  try {
    const applied = await applyMigrations(pool, allMigrations);
    const now = applied.filter((m) => m.appliedNow).map((m) => m.id);
    process.stdout.write(`${JSON.stringify({ migrations: applied.length, appliedNow: now })}\n`);
  } finally {
    await pool.end();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`migration failed: ${(err as Error).message}\n`);
  process.exit(1);
});
