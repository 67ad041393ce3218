import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { callSessionRepository } from '../repositories/call-session.repository.js';
import type { CompleteStepInput, CompletedStep } from './steps.js';
import { completableStep, recordAttempt } from './steps.js';

export interface PendingConfirmation {
  id: string;
  stepId: string;
  requestedAt: string;
}

/**
 * The teller asks the customer to confirm a step: one open request per step and session (asking again returns it). A
 * new request is also an event of the session (sealed with its recording).
 */
export async function requestConfirmation(db: Queryable, caseId: string, stepId: string, sessionId: string, by: string): Promise<{ pending: PendingConfirmation; created: boolean }> {
  const open = await db.query<{ id: string; requested_at: Date }>('SELECT id, requested_at FROM kyc_confirmations WHERE session_id = $1 AND step_id = $2 AND confirmed_at IS NULL', [
    sessionId,
    stepId,
  ]);
  const row = open.rows[0];
  if (row) return { pending: { id: row.id, stepId, requestedAt: row.requested_at.toISOString() }, created: false };
  const id = randomUUID();
  const r = await db.query<{ requested_at: Date }>('INSERT INTO kyc_confirmations (id, case_id, step_id, session_id, requested_by) VALUES ($1, $2, $3, $4, $5) RETURNING requested_at', [
    id,
    caseId,
    stepId,
    sessionId,
    by,
  ]);
  await callSessionRepository.addEvent(db, { sessionId, party: 'teller', kind: 'kyc.confirm.requested', data: { stepId, confirmationId: id } });
  return { pending: { id, stepId, requestedAt: r.rows[0]!.requested_at.toISOString() }, created: true };
}

/** The open confirmation requests of a session (what the customer's browser shows). */
export async function pendingConfirmations(db: Queryable, sessionId: string): Promise<PendingConfirmation[]> {
  const r = await db.query<{ id: string; step_id: string; requested_at: Date }>(
    'SELECT id, step_id, requested_at FROM kyc_confirmations WHERE session_id = $1 AND confirmed_at IS NULL ORDER BY requested_at',
    [sessionId],
  );
  return r.rows.map((row) => ({ id: row.id, stepId: row.step_id, requestedAt: row.requested_at.toISOString() }));
}

/** The customer's tap: completes the step (attempt, marker, audit) with the request and tap times as its result. */
export async function confirm(db: Queryable, sessionId: string, confirmationId: string, audit: CompleteStepInput['audit']): Promise<CompletedStep & { stepId: string }> {
  const r = await db.query<{ case_id: string; step_id: string; requested_at: Date; requested_by: string }>(
    'SELECT case_id, step_id, requested_at, requested_by FROM kyc_confirmations WHERE id = $1 AND session_id = $2 AND confirmed_at IS NULL FOR UPDATE',
    [confirmationId, sessionId],
  );
  const c = r.rows[0];
  if (!c) throw new DomainError('NOT_FOUND', 'No such confirmation request open.');
  const { step, session } = await completableStep(db, c.case_id, c.step_id);
  const confirmedAt = new Date();
  const done = await recordAttempt(
    db,
    {
      caseId: c.case_id,
      stepId: c.step_id,
      actor: { party: 'customer', username: 'customer' },
      audit,
      result: { confirmed: true, confirmationId, requestedAt: c.requested_at.toISOString(), requestedBy: c.requested_by, tappedAt: confirmedAt.toISOString() },
    },
    step.kind,
    session,
  );
  await db.query('UPDATE kyc_confirmations SET confirmed_at = $2, attempt_id = $3 WHERE id = $1', [confirmationId, confirmedAt, done.attemptId]);
  return { ...done, stepId: c.step_id };
}
