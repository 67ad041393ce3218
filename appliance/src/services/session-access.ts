import type { Queryable } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import { callSessionRepository, type CallSessionRow } from '../repositories/call-session.repository.js';
import { actorOf, type AuditActor } from './audit.js';
import type { InvitationService } from './invitation.service.js';

export interface SessionParty {
  party: 'teller' | 'customer' | 'auditor';
  session: CallSessionRow;
  actor: AuditActor;
}

/** What a request tells about its caller: the signed-in principal, or the invitation link and the browser it is on. */
export interface SessionCaller {
  principal: Principal | null;
  /** the `?invitation=` link token */
  invitation: string | undefined;
  /** the browser's device cookie the link is bound to */
  device: string | undefined;
}

export const CUSTOMER_ACTOR: AuditActor = { username: 'customer', roles: [], auth: 'invitation' };

/**
 * Who is asking about a session: its teller (signed in), its customer (`?invitation=<token>` from the browser the link
 * is bound to, while the session is live), or an auditor (reads only). Anyone else learns nothing: "not found".
 */
export async function resolveSessionParty(db: Queryable, invitations: InvitationService, caller: SessionCaller, sessionId: string, mode: 'read' | 'write'): Promise<SessionParty> {
  const { invitation, principal: p } = caller;
  if (p) {
    const session = await callSessionRepository.findById(db, sessionId);
    if (session && p.roles.includes('teller') && session.teller === p.username) return { party: 'teller', session, actor: actorOf(caller) };
    if (session && mode === 'read' && p.roles.includes('auditor')) return { party: 'auditor', session, actor: actorOf(caller) };
    throw new DomainError('NOT_FOUND', 'No such session.');
  }
  if (!invitation || !/^[A-Za-z0-9_-]{43}$/.test(invitation)) throw new DomainError('UNAUTHENTICATED');
  const live = await invitations.liveSessionForCustomer(db, invitation, caller.device);
  if (!live || live.session.id !== sessionId) throw new DomainError('NOT_FOUND', 'No such session.');
  return { party: 'customer', session: live.session, actor: CUSTOMER_ACTOR };
}
