// Shredding benchmark: N expired cases, each with a sealed-looking recording (key.json and synthetic ciphertext files
// of a realistic small size in its archive folder, the wrapped key and file rows in the database), an exchanged file
// and its personal data, in a fresh test database; the real retention shredder destroys them all (fsync'd unlinks,
// one audit event per item). Reports items shredded per second. Last line: {"shred_items_per_s":…}.
//
//   npx tsx appliance/bench/shred.ts [--cases 200] [--files 4] [--kib 256]
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { AuditLog } from '@kyc/compliance';
import { createTestDatabase } from '@kyc/compliance/testing';
import { allMigrations } from '../src/migrations-dir.js';
import { RetentionShredder } from '../src/recording/shred-job.js';
import { KEY_FILE } from '../src/recording/recording-layout.js';
import { insertSession } from '../test/helpers/recording-fixtures.js';

export interface ShredBenchOptions {
  /** expired cases (each: one recording, one exchanged file, its personal data = 3 items); default 200 */
  cases?: number;
  /** sealed files per recording; default 4 */
  filesPerRecording?: number;
  /** size of each sealed file in KiB; default 256 */
  fileKiB?: number;
}

const PRODUCT = 'BENCH-SHRED';

export async function measureShredThroughput(opts: ShredBenchOptions = {}): Promise<{ items: number; seconds: number; itemsPerSecond: number }> {
  const cases = opts.cases ?? 200;
  const filesPer = opts.filesPerRecording ?? 4;
  const fileBytes = (opts.fileKiB ?? 256) * 1024;
  const work = await mkdtemp(join(tmpdir(), 'kyc-shred-bench-'));
  const db = await createTestDatabase(allMigrations);
  const pool = new pg.Pool({ connectionString: db.appUrl, max: 6 });
  pool.on('error', () => undefined);
  const su = new pg.Pool({ connectionString: db.superUrl, max: 2 });
  const audit = new AuditLog({ pool });
  try {
    const archiveDir = join(work, 'archive');
    const recordingsDir = join(work, 'recordings');
    const exportsDir = join(work, 'exports');
    for (const d of [archiveDir, recordingsDir, exportsDir]) await mkdir(d, { mode: 0o700 });
    await su.query(`INSERT INTO products (code, current_version, created_by) VALUES ($1, 1, 'bench')`, [PRODUCT]);
    await su.query(`INSERT INTO product_versions (product_code, version, name_zh, name_en, retention_years, steps, created_by) VALUES ($1, 1, '基准', 'Bench', 5, '[]', 'bench')`, [PRODUCT]);
    await su.query(`INSERT INTO retention_policies (product_code, retention_days, anchor, updated_by) VALUES ($1, 30, 'case_completed', 'bench')`, [PRODUCT]);
    const content = randomBytes(fileBytes);
    const sha = createHash('sha256').update(content).digest();
    for (let i = 0; i < cases; i++) {
      const { caseId, sessionId } = await insertSession(su, { admittedAt: new Date(Date.now() - 400 * 86_400_000), endedAt: new Date(Date.now() - 400 * 86_400_000 + 60_000) });
      await su.query(`UPDATE cases SET product = $2, status = 'completed', completed_at = now() - interval '400 days' WHERE id = $1`, [caseId, PRODUCT]);
      const recordingId = randomUUID();
      const wrapped = randomBytes(60);
      await su.query(
        `INSERT INTO recordings (id, session_id, case_id, status, step, kek_id, wrapped_key, manifest_sha256, sealed_at, plaintext_removed_at)
         VALUES ($1, $2, $3, 'sealed', 'done', 'bench-kek', $4, $5, now(), now())`,
        [recordingId, sessionId, caseId, wrapped, sha],
      );
      const folder = join(archiveDir, recordingId);
      await mkdir(folder, { mode: 0o700 });
      await writeFile(join(folder, KEY_FILE), JSON.stringify({ v: 1, recordingId, kid: 'bench-kek', wrappedKey: wrapped.toString('base64'), alg: 'bench' }), { mode: 0o600 });
      for (let f = 0; f < filesPer; f++) {
        const name = `teller-s${String(f + 1).padStart(2, '0')}.webm`;
        await writeFile(join(folder, `${name}.kseal`), content, { mode: 0o600 });
        await su.query(
          `INSERT INTO recording_files (recording_id, name, kind, party, segment, duration_ms, plaintext_bytes, plaintext_sha256, ciphertext_bytes, ciphertext_sha256)
           VALUES ($1, $2, 'media', 'teller', $3, 1000, $4, $5, $4, $5)`,
          [recordingId, `${name}.kseal`, f + 1, fileBytes, sha],
        );
      }
      await su.query(
        `INSERT INTO case_files (id, case_id, session_id, party, name, media_type, size, sha256, content_enc) VALUES ($1, $2, $3, 'customer', 'a.pdf', 'application/pdf', 16, $4, $5)`,
        [randomUUID(), caseId, sessionId, sha, randomBytes(48)],
      );
    }
    const shredder = new RetentionShredder({ pool, audit, archiveDir, recordingsDir, exportsDir });
    const started = process.hrtime.bigint();
    const r = await shredder.run(new Date(), 'bench');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const items = Object.values(r.shredded).reduce((a, b) => a + b, 0);
    if (items !== cases * 3) throw new Error(`shredded ${items} items, expected ${cases * 3}`);
    return { items, seconds, itemsPerSecond: items / seconds };
  } finally {
    await audit.close().catch(() => undefined);
    await pool.end();
    await su.end();
    await db.drop();
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  const { values } = parseArgs({ options: { cases: { type: 'string', default: '200' }, files: { type: 'string', default: '4' }, kib: { type: 'string', default: '256' } } });
  const opts = { cases: Number(values.cases), filesPerRecording: Number(values.files), fileKiB: Number(values.kib) };
  const r = await measureShredThroughput(opts);
  console.log(
    `shredded ${r.items} items (${opts.cases} cases: recording with ${opts.filesPerRecording} × ${opts.fileKiB} KiB sealed files, exchanged file, personal data) in ${r.seconds.toFixed(2)} s`,
  );
  console.log(`${r.itemsPerSecond.toFixed(1)} items/s (keys, fsync'd unlinks, NULLed columns, one audit event per item)`);
  console.log(JSON.stringify({ shred_items_per_s: Number(r.itemsPerSecond.toFixed(1)) }));
}
