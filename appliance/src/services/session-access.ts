import type { FastifyRequest } from 'fastify';
import type { Queryable } from '../db/database.js';
import { AppError } from '../http/errors.js';
import { callSessionRepository, type CallSessionRow } from '../repositories/call-session.repository.js';
import { actorOf, type AuditActor } from './audit.js';
import { DEVICE_COOKIE, type InvitationService } from './invitation.service.js';

export interface SessionParty {
  party: 'teller' | 'customer' | 'auditor';
  session: CallSessionRow;
  actor: AuditActor;
}

export const CUSTOMER_ACTOR: AuditActor = { username: 'customer', roles: [], auth: 'invitation' };

/**
 * Who is asking about a session: its teller (signed in), its customer (`?invitation=<token>` from the browser the link
 * is bound to, while the session is live), or an auditor (reads only). Anyone else learns nothing: "not found".
 */
export async function resolveSessionParty(
  db: Queryable,
  invitations: InvitationService,
  request: FastifyRequest,
  sessionId: string,
  mode: 'read' | 'write',
): Promise<SessionParty> {
  const invitation = (request.query as { invitation?: string }).invitation;
  const p = request.principal;
  if (p) {
    const session = await callSessionRepository.findById(db, sessionId);
    if (session && p.roles.includes('teller') && session.teller === p.username) return { party: 'teller', session, actor: actorOf(request) };
    if (session && mode === 'read' && p.roles.includes('auditor')) return { party: 'auditor', session, actor: actorOf(request) };
    throw new AppError('NOT_FOUND', 'No such session.');
  }
  if (!invitation || !/^[A-Za-z0-9_-]{43}$/.test(invitation)) throw new AppError('UNAUTHENTICATED');
  const live = await invitations.liveSessionForCustomer(db, invitation, request.cookies[DEVICE_COOKIE]);
  if (!live || live.session.id !== sessionId) throw new AppError('NOT_FOUND', 'No such session.');
  return { party: 'customer', session: live.session, actor: CUSTOMER_ACTOR };
}
