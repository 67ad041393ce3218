import { join } from 'node:path';
import pg from 'pg';
import { pathExists } from '../../fs/durable.js';
import { SEALED_EVENT_ACTION, SHREDDED_EVENT_ACTION, checkSealedRecording } from '../../sealed-media/archive-check.js';
import { checkNote, checkTimestamps, loadCheckpointDir, resolveVerifier, type LoadedCheckpoint, type TsaPin } from './checkpoint-folder.js';
import { LEAVES_BY_EVENT_SELECT, copyLeaves, verifyScanSettings } from './leaf-sources.js';
import { verifyLog } from './verify-log.js';
import { appendProblems, type Problem, type VerifyReport } from './report.js';

/**
 * `kyc-audit verify --db`: the database's rows, in one REPEATABLE READ snapshot, against the checkpoint folder;
 * with an archive, the sealed recordings' files against their `recording.sealed` events.
 */

export interface DbVerifyOptions {
  db: string;
  checkpointsDir: string;
  /** the pinned verifier key (required: the checkpoint directory's own copy is never trusted) */
  verifierKey?: string;
  origin?: string;
  /** also check every sealed recording's ciphertext files in this archive against its `recording.sealed` event */
  archiveDir?: string;
  /** also check the checkpoints' RFC 3161 tokens against these TSA certificates */
  tsa?: TsaPin;
}

/** `kyc-audit verify --db URL --checkpoints DIR`: the whole database against the checkpoint directory. */
export async function verifyDatabase(options: DbVerifyOptions): Promise<VerifyReport> {
  const { verifier, source } = await resolveVerifier(options.verifierKey, options.checkpointsDir);
  const set = await loadCheckpointDir(options.checkpointsDir, verifier, options.origin);
  const client = new pg.Client({ connectionString: options.db });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await verifyScanSettings(client);
    const heads = (await client.query<{ tree_size: string; root_hash: Buffer; watermark: string }>('SELECT tree_size, root_hash, watermark FROM audit_tree_head ORDER BY tree_size')).rows;
    const dbCheckpoints = (await client.query<{ id: string; tree_size: string; note: string }>('SELECT id, tree_size, note FROM audit_checkpoint ORDER BY id')).rows;
    const extraProblems: Problem[] = [];
    const extra: LoadedCheckpoint[] = [];
    for (const row of dbCheckpoints) {
      const cp = checkNote(row.note, `audit_checkpoint #${row.id}`, verifier, extraProblems);
      if (cp) extra.push({ source: `audit_checkpoint #${row.id}`, size: cp.size, rootHash: cp.rootHash, origin: cp.origin, issuedAt: null });
    }
    const served = extra.length ? Math.max(...extra.map((c) => c.size)) : null;
    const watermark = heads.length ? Number(heads[heads.length - 1]!.watermark) : 0;
    // Events below the low-water mark must all have a leaf: count them on a second connection that shares
    // this transaction's snapshot, while the leaves stream here (each leaf's event id is counted on the way).
    const snapshot = (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
    const side = new pg.Client({ connectionString: options.db });
    await side.connect();
    let eventsBelow: Promise<number>;
    try {
      await side.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await side.query(`SET TRANSACTION SNAPSHOT '${snapshot.replace(/'/g, '')}'`);
      eventsBelow = side.query<{ n: string }>('SELECT count(*) AS n FROM audit_event WHERE id <= $1', [watermark]).then((r) => Number(r.rows[0]!.n));
      eventsBelow.catch(() => undefined);
    } catch (err) {
      await side.end();
      throw err;
    }
    let leavesBelow = 0;
    try {
      const report = await verifyLog({
        leaves: copyLeaves(client, LEAVES_BY_EVENT_SELECT, { countEventsUpTo: watermark, counted: (n) => (leavesBelow = n), worker: true }),
        checkpoints: set,
        extraCheckpoints: extra,
        heads: heads.map((h) => ({ size: Number(h.tree_size), rootHash: h.root_hash })),
        verifier,
        verifierKeySource: source,
        servedLatestSize: set.checkpoints.length ? served : undefined,
        extraProblems,
        explainGap: async (index) => {
          const r = await side.query<{ event_id: string }>('SELECT event_id FROM audit_leaf WHERE leaf_index = $1', [index]);
          return r.rows[0] ? `the event of leaf ${index} is missing (event id ${r.rows[0].event_id})` : null;
        },
        afterLeaves: async (complete) => {
          const n = await eventsBelow;
          return complete && n > leavesBelow
            ? [{ index: null, exact: false, reason: `${n - leavesBelow} events below the sequencer's low-water mark (event id ${watermark}) have no leaf` }]
            : [];
        },
      });
      if (options.archiveDir !== undefined) await checkSealedRecordings(client, options.archiveDir, report);
      if (options.tsa) await checkTimestamps(report, options.checkpointsDir, options.tsa);
      await client.query('COMMIT');
      return report;
    } finally {
      await side.end();
    }
  } finally {
    await client.end();
  }
}

/**
 * Sealed recordings: every `recording.sealed` event in the log names its ciphertext files with size and SHA-256;
 * each file in the archive must match (no keys involved). Problems join the report with the event's leaf index.
 */
async function checkSealedRecordings(client: pg.Client, archiveDir: string, report: VerifyReport): Promise<void> {
  const rows = (
    await client.query<{ leaf_index: string; body: string }>(
      `SELECT l.leaf_index, e.body FROM audit_leaf l JOIN audit_event e ON e.id = l.event_id WHERE e.action = $1 ORDER BY l.leaf_index`,
      [SEALED_EVENT_ACTION],
    )
  ).rows;
  const shreddedAt = new Map<string, number>();
  const shredRows = (
    await client.query<{ leaf_index: string; body: string }>(
      `SELECT l.leaf_index, e.body FROM audit_leaf l JOIN audit_event e ON e.id = l.event_id WHERE e.action = $1 ORDER BY l.leaf_index`,
      [SHREDDED_EVENT_ACTION],
    )
  ).rows;
  for (const row of shredRows) {
    const event = JSON.parse(row.body) as { object?: { type?: string; id?: string } | null };
    if (event.object?.type === 'recording' && event.object.id) shreddedAt.set(event.object.id, Number(row.leaf_index));
  }
  const problems: Problem[] = [];
  const shredded: Array<{ recordingId: string; auditSeq: number }> = [];
  let checked = 0;
  let files = 0;
  let bad = 0;
  for (const row of rows) {
    const event = JSON.parse(row.body) as { object?: { id?: string } | null; details?: Record<string, unknown> };
    const id = event.object?.id ?? '';
    const shredSeq = shreddedAt.get(id);
    if (shredSeq !== undefined) {
      // destroyed on purpose: what must hold is that nothing of it is left in the archive
      shredded.push({ recordingId: id, auditSeq: shredSeq });
      if (await pathExists(join(archiveDir, id))) {
        problems.push({ index: shredSeq, exact: true, reason: `recording ${id}: shredded (leaf ${shredSeq}) but its archive folder is still there` });
      }
      continue;
    }
    const r = await checkSealedRecording(archiveDir, id, event.details);
    checked += 1;
    files += r.files;
    if (r.problems.length) bad += 1;
    for (const p of r.problems) {
      problems.push({ index: Number(row.leaf_index), exact: true, reason: `recording ${p.recordingId}${p.file ? ` ${p.file}` : ''}: ${p.reason}` });
    }
  }
  report.recordings = { checked, files, bad, shredded: shredded.length };
  if (shredded.length) report.shreddedRecordings = shredded;
  appendProblems(report, problems);
}
