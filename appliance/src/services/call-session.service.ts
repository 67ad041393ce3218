import { randomInt, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Queryable } from '../db/database.js';
import type { AuditWrite } from './audited-transaction.js';
import { DomainError } from '../domain/errors.js';
import { callSessionRepository, type CallSessionRow } from '../repositories/call-session.repository.js';
import { caseRepository } from '../repositories/case.repository.js';
import { invitationRepository } from '../repositories/invitation.repository.js';
import { stepOf } from './invitation.service.js';
import type { CallSessionView } from '../api-types.js';

export type { CallSessionView };

export function callSessionView(s: CallSessionRow): CallSessionView {
  return {
    id: s.id,
    caseId: s.case_id,
    state: s.state,
    admittedAt: s.admitted_at.toISOString(),
    endedAt: s.ended_at?.toISOString() ?? null,
    endReason: s.end_reason,
  };
}

/** Work that belongs to a session's end, in the same transaction (requesting the recording's seal). */
export type SessionEndedHook = (client: pg.PoolClient, session: CallSessionRow) => Promise<unknown>;

/** Admit and hang-up: the session's life in the database. Rooms and media follow it (signaling). */
export class CallSessionService {
  constructor(private readonly onEnded: SessionEndedHook = async () => undefined) {}

  find(db: Queryable, sessionId: string): Promise<CallSessionRow | null> {
    return callSessionRepository.findById(db, sessionId);
  }

  /** The teller admits the waiting customer: a live session (one per case) with its own room id. */
  async admit(client: pg.PoolClient, audit: AuditWrite, caseId: string, teller: string): Promise<CallSessionRow> {
    const c = await caseRepository.findById(client, caseId);
    if (!c || c.teller !== teller) throw new DomainError('NOT_FOUND', 'No such case.');
    await client.query('SELECT id FROM cases WHERE id = $1 FOR UPDATE', [caseId]);
    const inv = await invitationRepository.latestForCase(client, caseId);
    if (!inv) throw new DomainError('CONFLICT', 'Invite the customer first.');
    const existing = await callSessionRepository.latestForInvitation(client, inv.id);
    const step = stepOf(inv, existing);
    if (step === 'in_call' && existing) return existing;
    if (step !== 'waiting') throw new DomainError('CONFLICT', `The customer is not in the waiting room (step: ${step}).`);
    const session = await callSessionRepository.insert(client, {
      id: randomUUID(),
      caseId,
      invitationId: inv.id,
      teller,
      // Janus room ids are numbers; random so they cannot be guessed from one another.
      roomId: randomInt(1, 2 ** 47),
    });
    await client.query(`UPDATE cases SET status = 'in_session', updated_at = now() WHERE id = $1`, [caseId]);
    await callSessionRepository.addEvent(client, { sessionId: session.id, party: 'system', kind: 'admit', data: { by: teller } });
    await audit({ action: 'session.admit', object: { type: 'session', id: session.id }, details: { caseId, invitationId: inv.id } });
    return session;
  }

  /** Ends a live session (teller's hang-up, customer's leave, or abandonment). Idempotent. */
  async end(client: pg.PoolClient, audit: AuditWrite, sessionId: string, by: { party: 'teller' | 'customer' | 'system'; username: string }, reason: string): Promise<CallSessionRow> {
    const s = await callSessionRepository.findByIdForUpdate(client, sessionId);
    if (!s) throw new DomainError('NOT_FOUND', 'No such session.');
    if (by.party === 'teller' && s.teller !== by.username) throw new DomainError('NOT_FOUND', 'No such session.');
    if (s.state === 'ended') return s;
    await callSessionRepository.end(client, s.id, reason);
    await invitationRepository.update(client, s.invitation_id, { closed_at: new Date() });
    await callSessionRepository.addEvent(client, { sessionId: s.id, party: by.party, kind: 'hangup', data: { reason } });
    await audit({ action: 'session.hangup', object: { type: 'session', id: s.id }, details: { caseId: s.case_id, party: by.party, reason } });
    const ended = await callSessionRepository.findById(client, s.id);
    if (!ended) throw new Error('session vanished');
    await this.onEnded(client, ended);
    return ended;
  }
}
