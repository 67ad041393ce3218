// The vocabularies of a case and its recording, declared once: the repositories store them, the services decide
// with them, and api-types.ts (what the web UI reads) re-exports them.

export const CASE_STATUSES = ['draft', 'invited', 'in_session', 'completed', 'approved', 'rejected'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

/** Why an auditor rejects a case; `prompting_observed` (R18: the customer was prompted) needs notes. */
export const REJECT_REASONS = ['prompting_observed', 'identity_mismatch', 'document_unreadable', 'media_incomplete', 'script_incomplete', 'other'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];
/** The reject reason whose notes are mandatory. */
export const PROMPTING_OBSERVED: RejectReason = 'prompting_observed';

export type RecordingStatus = 'queued' | 'processing' | 'sealed' | 'failed';
export const INTEGRITY_FLAGS = ['incomplete', 'issues'] as const;
export type IntegrityFlag = (typeof INTEGRITY_FLAGS)[number];
