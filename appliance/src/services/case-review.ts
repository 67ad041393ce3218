import { PROMPTING_OBSERVED, type RejectReason } from '../domain/vocabulary.js';
import type { Queryable } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { assertScriptComplete } from '../kyc/case-kyc.js';
import type { PiiCipher } from '../lib/pii-cipher.js';
import { archiveRepository, type CaseReviewRow } from '../repositories/archive.repository.js';
import type { CaseRow } from '../repositories/case.repository.js';
import type { ReviewInput } from '../archive-api-types.js';

/**
 * Maker-checker on a case: its teller marks it completed, an auditor who is not its teller approves or rejects it;
 * and an auditor's reveal of one masked field. The caller has read the case as visible to the principal.
 */

/** The teller marks their own case completed: only once its session has ended and its script is complete. */
export async function completeCase(db: Queryable, row: CaseRow, username: string): Promise<void> {
  if (row.teller !== username) throw new DomainError('NOT_FOUND', 'No such case.');
  await assertScriptComplete(db, row.id);
  if (!(await archiveRepository.complete(db, row.id))) {
    throw new DomainError('CONFLICT', 'Only a case whose session has ended (and none is live) can be marked completed.');
  }
}

/** A review checked and trimmed, ready to record. */
export interface CheckedReview {
  decision: 'approved' | 'rejected';
  comment: string;
  rejectReasons: RejectReason[];
  promptingNotes: string | null;
}

/** Checks a review before anything is read: a comment, reasons only on a rejection, notes exactly with prompting. */
export function checkReview(input: ReviewInput): CheckedReview {
  const { decision, rejectReasons = [] } = input;
  const comment = input.comment.trim();
  const promptingNotes = input.promptingNotes?.trim() ?? null;
  if (comment.length === 0) throw new DomainError('VALIDATION', 'The comment is empty.', [{ field: 'comment', code: 'required' }]);
  if (decision === 'approved' && rejectReasons.length > 0) {
    throw new DomainError('VALIDATION', 'An approval has no reject reasons.', [{ field: 'rejectReasons', code: 'not_allowed' }]);
  }
  const prompting = rejectReasons.includes(PROMPTING_OBSERVED);
  if (prompting && !promptingNotes) {
    throw new DomainError('VALIDATION', 'Describe the prompting that was observed.', [{ field: 'promptingNotes', code: 'required' }]);
  }
  if (!prompting && input.promptingNotes !== undefined) {
    throw new DomainError('VALIDATION', 'Prompting notes belong to the reason "prompting observed".', [{ field: 'promptingNotes', code: 'not_allowed' }]);
  }
  return { decision, comment, rejectReasons, promptingNotes };
}

/** Records the decision on a completed case; nobody reviews a case they worked as its teller. */
export async function reviewCase(db: Queryable, row: CaseRow, reviewer: string, review: CheckedReview): Promise<CaseReviewRow> {
  if (row.teller === reviewer) throw new DomainError('SELF_REVIEW');
  const recorded = await archiveRepository.review(db, { caseId: row.id, ...review, reviewer });
  if (!recorded) throw new DomainError('CONFLICT', 'Only a completed case awaiting review can be approved or rejected.');
  return recorded;
}

/** The masked fields an auditor may reveal, each with its sealed column. */
export type RevealField = 'customerName' | 'customerIdNumber' | 'customerPhone' | 'bankCard';

/** One masked field of the case in clear (not of a shredded case). */
export function revealField(pii: PiiCipher, row: CaseRow, field: RevealField): string {
  if (row.shredded_at) throw new DomainError('SHREDDED');
  const sources = {
    customerName: [row.customer_name_enc, 'customer_name'],
    customerIdNumber: [row.customer_id_enc, 'customer_id'],
    customerPhone: [row.customer_phone_enc, 'customer_phone'],
    bankCard: [row.bank_card_enc, 'bank_card'],
  } as const;
  const [blob, column] = sources[field];
  if (!blob) throw new DomainError('NOT_FOUND', 'The case has no value for this field.');
  return pii.decrypt(row.id, column, blob);
}
