import type { FastifyRequest } from 'fastify';
import type pg from 'pg';
import { withTransaction } from '../db/database.js';
import { auditEvent, type AuditActor, type AuditRecord, type AuditSink } from '../services/audit.js';
import { isUnsafeMethod } from './route-policy.js';

export type AuditWrite = (record: Omit<AuditRecord, 'action' | 'result'> & Partial<Pick<AuditRecord, 'action' | 'result'>>) => Promise<void>;

/**
 * Runs a request's change in one transaction together with its audit event. The action defaults to the route's
 * declared `config.audit`; a state-changing route whose transaction wrote no event is rolled back (fail closed),
 * and so is one whose event cannot be written.
 */
export async function auditedTransaction<T>(
  pool: pg.Pool,
  audit: AuditSink,
  request: FastifyRequest,
  fn: (client: pg.PoolClient, write: AuditWrite) => Promise<T>,
  /** who acts when the request has no signed-in principal (a customer holding an invitation) */
  actor?: AuditActor,
): Promise<T> {
  const declared = request.routeOptions.config.audit;
  return withTransaction(pool, async (client) => {
    let written = 0;
    const write: AuditWrite = async (record) => {
      const action = record.action ?? declared;
      if (!action) throw new Error('audit action missing');
      await audit.appendInTx(client, auditEvent(request, { ...record, action, result: record.result ?? 'success' }, actor));
      written++;
    };
    const result = await fn(client, write);
    if (written === 0 && isUnsafeMethod(request.method)) {
      throw new Error(`${request.method} ${request.routeOptions.url} changed state without an audit event`);
    }
    return result;
  });
}
