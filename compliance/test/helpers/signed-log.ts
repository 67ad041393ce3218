import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../src/testing/pg.js';
import { complianceMigrations } from '../../src/db/migrations-dir.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { Checkpointer } from '../../src/audit/checkpointer.js';
import { generateSigningKey, parseSigningKey, type NoteSigner } from '../../src/audit/checkpoint.js';

export interface SignedTestLog {
  db: TestDatabase;
  pool: pg.Pool;
  signer: NoteSigner;
  log: AuditLog;
  /** the checkpoint directory */
  dir: string;
  /** writes checkpoints only when asked (checkpointNow) */
  cp: Checkpointer;
}

/** A fresh database with the audit log, a new signing key and a started checkpointer; all removed at teardown. */
export async function signedTestLog(t: { teardown(fn: () => unknown): void }, origin: string): Promise<SignedTestLog> {
  const db = await createTestDatabase([complianceMigrations]);
  const pool = new pg.Pool({ connectionString: db.appUrl, max: 4 });
  pool.on('error', () => undefined);
  const signer = parseSigningKey(generateSigningKey(origin).signingKey);
  const log = new AuditLog({ pool, signer, origin });
  const dir = await mkdtemp(join(tmpdir(), 'kyc-audit-cp-'));
  const cp = new Checkpointer({ log, signer, origin, dir, everyEvents: 1_000_000, everyMs: 3_600_000 });
  await cp.start();
  t.teardown(async () => {
    await cp.close().catch(() => undefined);
    await pool.end();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });
  return { db, pool, signer, log, dir, cp };
}
