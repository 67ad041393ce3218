import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type pg from 'pg';
import type PgBoss from 'pg-boss';
import { openSealedFile } from '@kyc/compliance';
import { DomainError } from '../domain/errors.js';
import {
  evidenceAad,
  evidenceSignaturePath,
  exportAad,
  exportKeyContext,
  recoverInterruptedExports,
  removeShreddedExportFiles,
  runExport,
  sealedEvidencePath,
  sealedExportPath,
  type ExportJobContext,
} from '../recording/export-job.js';
import { EXPORT_QUEUE, activeExportJobs, enqueueExport, exportJobPending, type ExportJobData } from '../recording/export-queue.js';
import { exportRepository, type ExportRow } from '../repositories/export.repository.js';
import { sealedRecording } from './archive.service.js';

export type { ExportRow } from '../repositories/export.repository.js';

/** A finished export: everything its downloads need is there. */
export type DoneExport = ExportRow & { wrapped_key: Buffer; kek_id: string; signature: Buffer; bytes: string };

/** The parts of a finished export the API hands out sealed at rest: the composite video and the evidence file. */
export type SealedPart = 'file' | 'evidence';

/**
 * Signed composite exports of sealed recordings: requests (a row and its pg-boss job, committed together), the
 * requester's view of them, their sealed parts, and the job consumer. Built once by the composition root; the
 * appliance process runs the jobs, one at a time, because it alone holds the exports folder, the PII key and the
 * signing key.
 */
export class ExportService {
  private stopping = false;
  /** the loop taking export jobs: stop() waits for it (and so for the export under way) */
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;

  constructor(
    private readonly jobs: ExportJobContext,
    private readonly boss: PgBoss,
    private readonly o: { pollingIntervalSeconds?: number } = {},
  ) {}

  get exportsDir(): string {
    return this.jobs.exportsDir;
  }

  /**
   * In the caller's transaction: the export of a sealed recording (NOT_FOUND / CONFLICT when it is unknown or not
   * sealed), queued, with its job. Call wake() once the transaction committed.
   */
  async request(client: pg.PoolClient, o: { recordingId: string; requestedBy: string; requesterSubject: string; reason: string }): Promise<{ export: ExportRow; caseId: string }> {
    const { rec } = await sealedRecording(client, o.recordingId);
    const e = await exportRepository.create(client, { id: randomUUID(), recordingId: rec.id, requestedBy: o.requestedBy, requesterSubject: o.requesterSubject, reason: o.reason });
    await enqueueExport(this.boss, client, e.id);
    return { export: e, caseId: rec.case_id };
  }

  /** Takes a committed job now instead of at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  /** The requester's own export; to anybody else it does not exist. */
  async own(id: string, requesterSubject: string): Promise<ExportRow> {
    const e = await exportRepository.findOwn(this.jobs.pool, id, requesterSubject);
    if (!e) throw new DomainError('NOT_FOUND', 'No such export.');
    return e;
  }

  /** The requester's own export, finished (SHREDDED when retention destroyed it, CONFLICT while it is not done). */
  async done(id: string, requesterSubject: string): Promise<DoneExport> {
    const e = await this.own(id, requesterSubject);
    if (e.shredded_at) throw new DomainError('SHREDDED');
    if (e.status !== 'done' || !e.wrapped_key || !e.kek_id || !e.signature || e.bytes === null) throw new DomainError('CONFLICT', 'The export is not done.');
    return e as DoneExport;
  }

  /** Opens one sealed part of a finished export with its data key (wiped at once); a part an older export lacks is NOT_FOUND. */
  async openPart(e: DoneExport, part: SealedPart) {
    const [path, aad] = part === 'file' ? [sealedExportPath(this.exportsDir, e.id), exportAad(e.id)] : [sealedEvidencePath(this.exportsDir, e.id), evidenceAad(e.id)];
    const dataKey = await this.jobs.keyring.unwrap({ kid: e.kek_id, wrapped: e.wrapped_key }, exportKeyContext(e.id));
    try {
      return await openSealedFile(path, dataKey, aad);
    } catch (err) {
      throw missingPart(err);
    } finally {
      dataKey.fill(0);
    }
  }

  /** The evidence file's detached CMS signature (public, not sealed). */
  async evidenceSignature(e: DoneExport): Promise<Buffer> {
    return readFile(evidenceSignaturePath(this.exportsDir, e.id)).catch((err: unknown) => {
      throw missingPart(err);
    });
  }

  /** Removes the files of exports the retention run shredded (the worker cannot reach this folder). */
  removeShreddedFiles(): Promise<number> {
    return removeShreddedExportFiles(this.jobs);
  }

  /**
   * Recovers what a stop interrupted, then takes export jobs, one at a time. A job a stopped process had taken is
   * failed back to pg-boss, which retries it (its export, if it was cut off while running, is failed just below and
   * the retry skips it; one still queued runs at the retry).
   */
  async start(): Promise<void> {
    this.stopping = false;
    for (const id of await activeExportJobs(this.jobs.pool)) await this.boss.fail(EXPORT_QUEUE, id, { reason: 'the appliance stopped while the job was taken' });
    await recoverInterruptedExports(this.jobs, async (id) => !(await exportJobPending(this.jobs.pool, id)) && (await enqueueExport(this.boss, this.jobs.pool, id)) !== null);
    this.loop = this.takeJobs();
  }

  /** Takes no more jobs and waits for the export under way. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    await this.loop;
    this.loop = null;
  }

  /**
   * Fetches one job, runs it and completes it; with none waiting, sleeps until the next poll or wake(). A loop of its
   * own rather than boss.work(), so that stop() knows when nothing of it touches the database any more.
   */
  private async takeJobs(): Promise<void> {
    while (!this.stopping) {
      try {
        const [job] = await this.boss.fetch<ExportJobData>(EXPORT_QUEUE, { batchSize: 1 });
        if (job && this.stopping) {
          // taken while stop() was called: handed back (pg-boss retries it) rather than holding the stop for an export
          await this.boss.fail(EXPORT_QUEUE, job.id, { reason: 'the appliance was stopping' });
          break;
        }
        if (job) {
          await this.runJob(job.id, job.data.exportId);
          continue;
        }
      } catch (err) {
        this.jobs.log?.error({ err: (err as Error).message }, 'taking export jobs failed');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.wake(), (this.o.pollingIntervalSeconds ?? 2) * 1000);
        this.wakeUp = () => {
          clearTimeout(timer);
          this.wakeUp = null;
          resolve();
        };
      });
    }
  }

  private async runJob(jobId: string, exportId: string): Promise<void> {
    try {
      await runExport(this.jobs, exportId);
    } catch (err) {
      // runExport records its own failures; this is one it could not record (pg-boss retries the job)
      this.jobs.log?.error({ exportId, err: (err as Error).message }, 'export run failed');
      await this.boss.fail(EXPORT_QUEUE, jobId, { reason: (err as Error).message });
      return;
    }
    await this.boss.complete(EXPORT_QUEUE, jobId);
  }
}

function missingPart(err: unknown): unknown {
  return (err as NodeJS.ErrnoException).code === 'ENOENT' ? new DomainError('NOT_FOUND', 'This export was made without this part.') : err;
}
