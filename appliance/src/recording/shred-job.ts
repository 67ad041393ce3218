import { createHash, randomUUID } from 'node:crypto';
import { readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { SHREDDED_EVENT_ACTION, syncDir } from '@kyc/compliance';
import { withTransaction } from '../db/database.js';
import { retentionRepository, shredRepository, SHRED_KINDS, type ShredKind, type ShredRecordRow } from '../repositories/retention.repository.js';
import { auditEvent, type AuditSink } from '../services/audit.js';
import { evidenceSignaturePath, sealedEvidencePath, sealedExportPath } from './export-job.js';
import { KEY_FILE } from './recording-layout.js';

/**
 * Crypto-shredding of what has expired (R11, R13). For each expired case without a legal hold, item by item
 * (recordings, exports, exchanged files, ID stills, then the case's personal data):
 *   1. `keys`: the wrapped data key goes from the database, then the archive's key.json (fsync'd unlink): from here
 *      on the ciphertext cannot be decrypted by anyone, whatever backup of the database or archive exists;
 *   2. `ciphertext`: the sealed files go (fsync'd unlinks, the folder removed);
 *   3. `done`: the item is marked shredded and its audit event, naming what was destroyed, is written in the same
 *      transaction.
 * Files and stills are encrypted in their rows under the PII key (no data key of their own): their content is NULLed
 * in the `done` transaction. The case's personal data and blind indexes likewise, last.
 * What each item will lose is recorded in `shred_items` before anything is destroyed, and each step is recorded as
 * it completes; every step is idempotent, so a run killed at any point is finished by the next one, and each item
 * gets exactly one audit event.
 */

export const RETENTION_LOCK = { namespace: 0x6b79_6373, key: 'retention.run' } as const;

export interface ShredContext {
  pool: pg.Pool;
  audit: AuditSink;
  archiveDir: string;
  recordingsDir: string;
  exportsDir: string;
  /** called after each step is recorded (the crash test kills the process here) */
  onStep?: (stepsSoFar: number) => void;
}

export interface RetentionRunResult {
  runId: string | null;
  /** another run holds the lock: this one did nothing */
  busy: boolean;
  cases: number;
  shredded: Record<ShredKind, number>;
  steps: number;
}

const AUDIT_OBJECT: Record<ShredKind, string> = { recording: 'recording', export: 'export', file: 'file', still: 'still', pii: 'case' };

/** The export's sealed parts. */
const exportFiles = (exportsDir: string, exportId: string): string[] => [
  sealedExportPath(exportsDir, exportId),
  sealedEvidencePath(exportsDir, exportId),
  evidenceSignaturePath(exportsDir, exportId),
];

async function unlinkDurably(paths: string[], dir: string): Promise<number> {
  let removed = 0;
  for (const p of paths) {
    try {
      await unlink(p);
      removed += 1;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  await syncDir(dir).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  });
  return removed;
}

/** Removes every file of a recording's archive folder, then the folder; durable before it returns. */
async function removeFolderDurably(folder: string, parent: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await unlinkDurably(
    names.map((n) => join(folder, n)),
    folder,
  );
  await rmdir(folder).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  });
  await syncDir(parent);
}

/** The SHA-256 of a list of `name:bytes:sha256` lines: one audit detail however many files went. */
function listDigest(files: Array<{ name: string; bytes: string; sha256: string }>): string {
  return createHash('sha256')
    .update(files.map((f) => `${f.name}:${f.bytes}:${f.sha256}\n`).join(''))
    .digest('hex');
}

/** What an item will lose, recorded before anything is destroyed (no personal data: names, counts, hashes). */
async function planOf(db: pg.PoolClient, kind: ShredKind, id: string): Promise<Record<string, string | number | boolean | null>> {
  switch (kind) {
    case 'recording': {
      const p = await shredRepository.recordingPlan(db, id);
      return { sessionId: p.session_id, kid: p.kek_id, keyFile: KEY_FILE, files: p.files.length, filesListSha256: listDigest(p.files) };
    }
    case 'export': {
      const p = await shredRepository.exportPlan(db, id);
      return { kid: p.kek_id, sha256: p.sha256, bytes: p.bytes === null ? null : Number(p.bytes), files: 3 };
    }
    case 'file':
    case 'still': {
      const p = await shredRepository.contentPlan(db, kind === 'file' ? 'case_files' : 'identity_stills', id);
      return { contentSha256: p.sha256, bytes: p.size };
    }
    case 'pii': {
      const p = await shredRepository.piiPlan(db, id);
      return { fields: p.fields.join(','), geolocations: p.geolocations, idNumberChecks: p.idNumberChecks, chatMessages: p.chatMessages };
    }
  }
}

export class RetentionShredder {
  private steps = 0;

  constructor(private readonly ctx: ShredContext) {}

  private stepDone(): void {
    this.steps += 1;
    this.ctx.onStep?.(this.steps);
  }

  /**
   * One run as of `asOf` (the clock: a test moves it). Takes the run lock on its own connection; a second run at the
   * same time returns `busy` at once.
   */
  async run(asOf: Date, requestedBy: string): Promise<RetentionRunResult> {
    const shredded: Record<ShredKind, number> = { recording: 0, export: 0, file: 0, still: 0, pii: 0 };
    const lock = await this.ctx.pool.connect();
    try {
      const got = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [RETENTION_LOCK.namespace, RETENTION_LOCK.key]);
      if (!got.rows[0]?.ok) return { runId: null, busy: true, cases: 0, shredded, steps: 0 };
      try {
        const runId = randomUUID();
        await retentionRepository.insertRun(this.ctx.pool, { id: runId, dryRun: false, asOf, by: requestedBy });
        const cases = await retentionRepository.casesToShred(this.ctx.pool, asOf);
        for (const caseId of cases) {
          for (const kind of await this.shredCase(caseId, runId, asOf)) shredded[kind] += 1;
        }
        await retentionRepository.finishRun(this.ctx.pool, runId, shredded);
        return { runId, busy: false, cases: cases.length, shredded, steps: this.steps };
      } finally {
        await lock.query('SELECT pg_advisory_unlock($1, hashtext($2))', [RETENTION_LOCK.namespace, RETENTION_LOCK.key]);
      }
    } finally {
      lock.release();
    }
  }

  /** Plans (once) and finishes a case's shredding; returns the kinds of the items it completed. */
  private async shredCase(caseId: string, runId: string, asOf: Date): Promise<ShredKind[]> {
    await withTransaction(this.ctx.pool, async (client) => {
      const c = await retentionRepository.lockCase(client, caseId);
      if (!c) return;
      // A case is planned only while it is expired and not held; once planned, it is finished whatever happens.
      const r = await retentionRepository.ofCase(client, caseId);
      if (!r || r.held || !r.expires_at || r.expires_at > asOf) return;
      for (const item of await retentionRepository.unshreddedItems(client, caseId)) {
        if (await retentionRepository.shredRecord(client, item.kind, item.id)) continue;
        await retentionRepository.startShred(client, { kind: item.kind, itemId: item.id, caseId, runId, destroyed: await planOf(client, item.kind, item.id) });
      }
    });
    const done: ShredKind[] = [];
    const open = await retentionRepository.openShreds(this.ctx.pool, caseId);
    open.sort((a, b) => SHRED_KINDS.indexOf(a.kind) - SHRED_KINDS.indexOf(b.kind));
    for (const item of open) if (await this.shredItem(item, runId)) done.push(item.kind);
    return done;
  }

  private async shredItem(item: ShredRecordRow, runId: string): Promise<boolean> {
    const { kind, item_id: id } = item;
    const destroyed = item.destroyed as Record<string, string | number | boolean | null>;
    let step = item.step;
    if (step === 'started' && (kind === 'recording' || kind === 'export')) {
      await shredRepository.destroyWrappedKey(this.ctx.pool, kind === 'recording' ? 'recordings' : 'recording_exports', id);
      if (kind === 'recording') await unlinkDurably([join(this.ctx.archiveDir, id, KEY_FILE)], join(this.ctx.archiveDir, id));
      await retentionRepository.shredStep(this.ctx.pool, kind, id, 'keys');
      this.stepDone();
      step = 'keys';
    }
    if (step === 'keys') {
      if (kind === 'recording') {
        await removeFolderDurably(join(this.ctx.archiveDir, id), this.ctx.archiveDir);
        // plaintext the seal left behind (a recording that failed to seal): its spool folder goes too
        if (typeof destroyed.sessionId === 'string') await rm(join(this.ctx.recordingsDir, destroyed.sessionId), { recursive: true, force: true });
      } else if (kind === 'export') {
        await unlinkDurably(exportFiles(this.ctx.exportsDir, id), this.ctx.exportsDir);
      }
      await retentionRepository.shredStep(this.ctx.pool, kind, id, 'ciphertext');
      this.stepDone();
    }
    const finished = await withTransaction(this.ctx.pool, async (client) => {
      if (kind === 'file' || kind === 'still') await shredRepository.destroyContent(client, kind === 'file' ? 'case_files' : 'identity_stills', id);
      if (kind === 'pii') await shredRepository.destroyPii(client, id);
      if (!(await shredRepository.markDone(client, kind, id))) return false;
      const written = (await this.ctx.audit.appendInTx(
        client,
        auditEvent(null, {
          action: SHREDDED_EVENT_ACTION,
          object: { type: AUDIT_OBJECT[kind], id },
          result: 'success',
          reason: 'retention period ended',
          details: { caseId: item.case_id, kind, runId, ...destroyed },
        }),
      )) as { eventId?: number } | undefined;
      if (typeof written?.eventId === 'number') await shredRepository.setAuditEvent(client, kind, id, written.eventId);
      return true;
    });
    this.stepDone();
    return finished;
  }
}
