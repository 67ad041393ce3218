import type { FastifyRequest } from 'fastify';
import type pg from 'pg';

/** What the appliance records about one action; the compliance log turns it into a leaf (canonical JSON). */
export interface AuditRecord {
  action: string;
  object: { type: string; id: string } | null;
  result: 'success' | 'failure' | 'denied';
  reason?: string;
  details?: Record<string, string | number | boolean | null>;
}

export interface AuditActor {
  username: string;
  roles: string[];
  auth: 'session' | 'bearer' | 'invitation' | 'system' | 'anonymous';
}

export interface AuditEvent extends AuditRecord {
  v: 1;
  time: string;
  actor: AuditActor;
  requestId?: string;
  clientAddress?: string;
}

/** The audit log as the appliance uses it (implemented by @kyc/compliance's AuditLog). */
export interface AuditSink {
  /** inside the caller's transaction: the event commits or rolls back with the change it describes */
  appendInTx(client: pg.PoolClient, event: AuditEvent): Promise<unknown>;
  /** on its own (sign-in, reads that matter): resolves once committed */
  append(event: AuditEvent): Promise<unknown>;
}

export function actorOf(request: FastifyRequest): AuditActor {
  const p = request.principal;
  return p ? { username: p.username, roles: [...p.roles], auth: p.auth } : { username: 'anonymous', roles: [], auth: 'anonymous' };
}

export function auditEvent(request: FastifyRequest | null, record: AuditRecord, actor?: AuditActor): AuditEvent {
  return {
    v: 1,
    time: new Date().toISOString(),
    actor: actor ?? (request ? actorOf(request) : { username: 'system', roles: [], auth: 'system' }),
    ...record,
    ...(request ? { requestId: String(request.id), clientAddress: request.ip } : {}),
  };
}
