import type pg from 'pg';
import { withTransaction } from '../db/database.js';
import { auditEvent, type AuditActor, type AuditRecord, type AuditSink, type RequestOrigin } from './audit.js';

export type AuditWrite = (record: Omit<AuditRecord, 'action' | 'result'> & Partial<Pick<AuditRecord, 'action' | 'result'>>) => Promise<void>;

/** What an audited change needs to know of the request that asks for it. */
export interface AuditScope {
  origin: RequestOrigin;
  /** the action an event records when the writer names none (a route's declared `config.audit`) */
  action: string | undefined;
  /** a state-changing request must write an event, or its change is rolled back */
  changesState: boolean;
  /** names the request in the error raised when it wrote no event */
  label: string;
}

/**
 * Runs a request's change in one transaction together with its audit event. A state-changing request whose
 * transaction wrote no event is rolled back (fail closed), and so is one whose event cannot be written.
 */
export async function inAuditedTransaction<T>(
  pool: pg.Pool,
  audit: AuditSink,
  scope: AuditScope,
  fn: (client: pg.PoolClient, write: AuditWrite) => Promise<T>,
  /** who acts when the request has no signed-in principal (a customer holding an invitation) */
  actor?: AuditActor,
): Promise<T> {
  return withTransaction(pool, async (client) => {
    let written = 0;
    const write: AuditWrite = async (record) => {
      const action = record.action ?? scope.action;
      if (!action) throw new Error('audit action missing');
      await audit.appendInTx(client, auditEvent(scope.origin, { ...record, action, result: record.result ?? 'success' }, actor));
      written++;
    };
    const result = await fn(client, write);
    if (written === 0 && scope.changesState) throw new Error(`${scope.label} changed state without an audit event`);
    return result;
  });
}
