import type { FastifyRequest } from 'fastify';
import type { AuditActor, AuditSink } from '../services/audit.js';
import { inAuditedTransaction, type AuditScope } from '../services/audited-transaction.js';
import { isUnsafeMethod } from './route-policy.js';

export type { AuditWrite } from '../services/audited-transaction.js';

/** The request as an audited change sees it: the action is the route's declared `config.audit`. */
export function auditScopeOf(request: FastifyRequest): AuditScope {
  return {
    origin: request,
    action: request.routeOptions.config.audit,
    changesState: isUnsafeMethod(request.method),
    label: `${request.method} ${request.routeOptions.url}`,
  };
}

/**
 * Runs a request's change in one transaction together with its audit event (services/audited-transaction.ts); a
 * state-changing route whose transaction wrote no event is rolled back, and so is one whose event cannot be written.
 */
export function auditedTransaction<T>(
  pool: Parameters<typeof inAuditedTransaction>[0],
  audit: AuditSink,
  request: FastifyRequest,
  fn: Parameters<typeof inAuditedTransaction<T>>[3],
  actor?: AuditActor,
): Promise<T> {
  return inAuditedTransaction(pool, audit, auditScopeOf(request), fn, actor);
}
