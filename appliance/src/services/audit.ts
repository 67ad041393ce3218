import type pg from 'pg';
import type { Principal } from '../domain/principal.js';

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

/** Where an audited action comes from: the request's id and client address and who signed it (an HTTP request has them). */
export interface RequestOrigin {
  id: string;
  ip: string;
  principal: Principal | null;
}

export function actorOf(origin: Pick<RequestOrigin, 'principal'>): AuditActor {
  const p = origin.principal;
  return p ? { username: p.username, roles: [...p.roles], auth: p.auth } : { username: 'anonymous', roles: [], auth: 'anonymous' };
}

/** An event of a request (`origin`), or of the appliance itself (`null`: the system acts). */
export function auditEvent(origin: RequestOrigin | null, record: AuditRecord, actor?: AuditActor): AuditEvent {
  return {
    v: 1,
    time: new Date().toISOString(),
    actor: actor ?? (origin ? actorOf(origin) : { username: 'system', roles: [], auth: 'system' }),
    ...record,
    ...(origin ? { requestId: String(origin.id), clientAddress: origin.ip } : {}),
  };
}
