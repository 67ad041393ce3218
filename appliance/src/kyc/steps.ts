import { randomInt, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Queryable } from '../db/database.js';
import type { AuditWrite } from '../services/audited-transaction.js';
import { DomainError } from '../domain/errors.js';
import { callSessionRepository } from '../repositories/call-session.repository.js';
import type { CaseStepView, ScriptStepDefinition, StepKind } from './kyc-api-types.js';
import { productRepository } from './product.repository.js';

/**
 * A case's script: the steps of the product version it was opened with, what was drawn for it at random (R6), and
 * every completion of a step (attempts; a redo keeps both). A completion is a marker of the live session
 * (session_events kind `kyc.step`, wall-clock time) that the sealed recording's manifest resolves into each
 * party's media offset, and the audit event `kyc.step.completed`.
 */

export const STEP_MARKER_KIND = 'kyc.step';

export interface StepActor {
  party: 'teller' | 'customer' | 'system';
  /** the teller's username, `customer`, or `system` */
  username: string;
}

export interface CompleteStepInput {
  caseId: string;
  stepId: string;
  actor: StepActor;
  /** the caller's audit writer: `kyc.step.completed` is written with it, in the caller's transaction */
  audit: AuditWrite;
  /** what the step produced (e.g. `{ override: true }`); stored with the attempt */
  result?: Record<string, unknown>;
}

export interface CompletedStep {
  attemptId: string;
  attempt: number;
  /** ms since the live session was admitted (the recording's exact per-party offsets come with the seal) */
  offsetMs: number;
}

/** What is drawn for a step when the case is opened: questions (ids, in the order asked) or a read-aloud code. */
export type StepDraw = { questions: string[] } | { code: string } | Record<string, never>;

export function drawForStep(step: ScriptStepDefinition, rand: (max: number) => number = randomInt): StepDraw {
  if (step.kind === 'question' && step.pool) {
    const ids = step.pool.map((q) => q.id);
    // Fisher–Yates on a copy, then the first `draw`: which questions and their order are both random.
    for (let i = ids.length - 1; i > 0; i--) {
      const j = rand(i + 1);
      [ids[i], ids[j]] = [ids[j] as string, ids[i] as string];
    }
    return { questions: ids.slice(0, Math.min(step.draw ?? 1, ids.length)) };
  }
  if (step.kind === 'read-aloud' && step.source !== 'id-serial') {
    const digits = step.digits ?? 6;
    // first digit 1–9 so that the code has exactly `digits` digits when read out
    let code = String(1 + rand(9));
    for (let i = 1; i < digits; i++) code += String(rand(10));
    return { code };
  }
  return {};
}

/** Draws every step of a newly opened case and records the draws (in the case's creating transaction). */
export async function drawScript(client: Queryable, caseId: string, steps: readonly ScriptStepDefinition[]): Promise<void> {
  for (const step of steps) {
    const draw = drawForStep(step);
    if (Object.keys(draw).length === 0) continue;
    await client.query('INSERT INTO case_script_draws (case_id, step_id, data) VALUES ($1, $2, $3)', [caseId, step.id, JSON.stringify(draw)]);
  }
}

interface CaseScript {
  caseId: string;
  product: string;
  version: number;
  nameZh: string;
  nameEn: string;
  requiresGeolocation: boolean;
  steps: ScriptStepDefinition[];
}

/** The product version a case was opened with (null for a case opened before the catalogue). */
export async function scriptOf(db: Queryable, caseId: string, lock = false): Promise<CaseScript | null> {
  const r = await db.query<{ product: string; product_version: number | null }>(`SELECT product, product_version FROM cases WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [caseId]);
  const row = r.rows[0];
  if (!row) throw new DomainError('NOT_FOUND', 'No such case.');
  if (row.product_version === null) return null;
  const v = await productRepository.version(db, row.product, row.product_version);
  if (!v) return null;
  return { caseId, product: v.code, version: v.version, nameZh: v.nameZh, nameEn: v.nameEn, requiresGeolocation: v.requiresGeolocation, steps: v.steps };
}

interface AttemptRow {
  id: string;
  step_id: string;
  attempt: number;
  session_id: string | null;
  party: 'teller' | 'customer' | 'system';
  actor: string;
  result: Record<string, unknown>;
  at: Date;
  offset_ms: number | null;
}

async function attemptsOf(db: Queryable, caseId: string): Promise<AttemptRow[]> {
  const r = await db.query<AttemptRow>(
    `SELECT a.id, a.step_id, a.attempt, a.session_id, a.party, a.actor, a.result, a.at,
            (EXTRACT(EPOCH FROM (a.at - s.admitted_at)) * 1000)::int AS offset_ms
       FROM kyc_step_attempts a LEFT JOIN call_sessions s ON s.id = a.session_id
      WHERE a.case_id = $1 ORDER BY a.step_id, a.attempt`,
    [caseId],
  );
  return r.rows;
}

/** The case's product-version steps, as drawn for it, with their status. Empty for a case without a product version. */
export async function stepsOf(db: Queryable, caseId: string): Promise<CaseStepView[]> {
  const script = await scriptOf(db, caseId);
  if (!script) return [];
  const draws = await db.query<{ step_id: string; data: { questions?: string[]; code?: string } }>('SELECT step_id, data FROM case_script_draws WHERE case_id = $1', [caseId]);
  const drawOf = new Map(draws.rows.map((d) => [d.step_id, d.data]));
  const pending = await db.query<{ step_id: string }>('SELECT DISTINCT step_id FROM kyc_confirmations WHERE case_id = $1 AND confirmed_at IS NULL', [caseId]);
  const awaiting = new Set(pending.rows.map((p) => p.step_id));
  const attempts = await attemptsOf(db, caseId);
  return script.steps.map((step) => {
    const mine = attempts.filter((a) => a.step_id === step.id);
    const last = mine[mine.length - 1];
    const draw = drawOf.get(step.id);
    const questions =
      step.kind === 'question' && draw?.questions ? draw.questions.map((id) => step.pool?.find((q) => q.id === id)).filter((q): q is NonNullable<typeof q> => q !== undefined) : null;
    return {
      id: step.id,
      kind: step.kind,
      required: step.required,
      title: step.title,
      text: step.text ?? null,
      confirm: step.confirm === true,
      questions,
      code: draw?.code ?? null,
      status: awaiting.has(step.id) ? 'awaiting-confirmation' : last ? 'done' : 'pending',
      completedAt: last ? last.at.toISOString() : null,
      offsetMs: last ? last.offset_ms : null,
      attempts: mine.map((a) => ({ id: a.id, attempt: a.attempt, at: a.at.toISOString(), party: a.party, actor: a.actor, result: a.result, sessionId: a.session_id })),
    } satisfies CaseStepView;
  });
}

/** The step, checked to be completable now: known, in a live session, every earlier required step done. */
export async function completableStep(client: Queryable, caseId: string, stepId: string): Promise<{ step: ScriptStepDefinition; session: { id: string; admitted_at: Date } }> {
  const script = await scriptOf(client, caseId, true);
  const index = script?.steps.findIndex((s) => s.id === stepId) ?? -1;
  const step = script?.steps[index];
  if (!script || !step) throw new DomainError('STEP_UNKNOWN');
  const live = (await callSessionRepository.listForCase(client, caseId)).find((s) => s.state === 'live');
  if (!live) throw new DomainError('SESSION_NOT_LIVE');
  const done = new Set((await attemptsOf(client, caseId)).map((a) => a.step_id));
  const before = script.steps.slice(0, index).filter((s) => s.required && !done.has(s.id));
  if (before.length > 0) {
    throw new DomainError(
      'STEP_ORDER',
      `Complete ${before.map((s) => s.id).join(', ')} first.`,
      before.map((s) => ({ field: s.id, code: s.kind })),
    );
  }
  return { step, session: live };
}

/**
 * Records an attempt of a step (a redo keeps every attempt), its marker in the live session and the audit event
 * `kyc.step.completed`, all in the caller's transaction. Refuses an unknown step, a case without a live session, and
 * a step whose earlier required steps are not done.
 */
export async function completeStep(client: pg.PoolClient, input: CompleteStepInput): Promise<CompletedStep> {
  const { step, session } = await completableStep(client, input.caseId, input.stepId);
  return recordAttempt(client, input, step.kind, session);
}

/** The write half of completeStep, for callers that already checked the step (the confirmation tap). */
export async function recordAttempt(client: Queryable, input: CompleteStepInput, kind: StepKind, session: { id: string; admitted_at: Date }): Promise<CompletedStep> {
  const id = randomUUID();
  const r = await client.query<{ attempt: number; at: Date }>(
    `INSERT INTO kyc_step_attempts (id, case_id, step_id, attempt, session_id, party, actor, result)
     VALUES ($1, $2, $3, (SELECT coalesce(max(attempt), 0) + 1 FROM kyc_step_attempts WHERE case_id = $2 AND step_id = $3), $4, $5, $6, $7)
     RETURNING attempt, at`,
    [id, input.caseId, input.stepId, session.id, input.actor.party, input.actor.username, JSON.stringify(input.result ?? {})],
  );
  const row = r.rows[0];
  if (!row) throw new Error('insert returned no row');
  await callSessionRepository.addEvent(client, {
    sessionId: session.id,
    party: input.actor.party,
    kind: STEP_MARKER_KIND,
    data: { stepId: input.stepId, kind, attempt: row.attempt, attemptId: id },
  });
  await input.audit({
    action: 'kyc.step.completed',
    object: { type: 'case', id: input.caseId },
    details: { stepId: input.stepId, kind, attempt: row.attempt, attemptId: id, sessionId: session.id, party: input.actor.party },
  });
  return { attemptId: id, attempt: row.attempt, offsetMs: row.at.getTime() - session.admitted_at.getTime() };
}
