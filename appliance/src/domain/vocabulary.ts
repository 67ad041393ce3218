// The words the database, the services and the API share, declared once. Pure values without imports: the web UI
// imports them at run time (by relative path), so nothing here may pull in a library.

export const CASE_STATUSES = ['draft', 'invited', 'in_session', 'completed', 'approved', 'rejected'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

/** Why an auditor rejects a case; `prompting_observed` (R18: the customer was prompted) needs notes. */
export const REJECT_REASONS = ['prompting_observed', 'identity_mismatch', 'document_unreadable', 'media_incomplete', 'script_incomplete', 'other'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];
/** The reject reason whose notes are mandatory. */
export const PROMPTING_OBSERVED: RejectReason = 'prompting_observed';

/** Where the customer stands. The join page shows the screen for the step; the teller's console shows it live. */
export const JOIN_STEPS = ['code', 'device', 'consent', 'waiting', 'in_call', 'ended', 'declined', 'expired', 'revoked', 'locked'] as const;
export type JoinStep = (typeof JOIN_STEPS)[number];

/**
 * How the customer takes part in a session: with camera and microphone, by voice only, or by text only (no device
 * opened). The teller always publishes audio and video; KYC's camera steps need `video`.
 */
export const MEDIA_MODES = ['video', 'audio', 'chat'] as const;
export type MediaMode = (typeof MEDIA_MODES)[number];
export const DEFAULT_MEDIA_MODE: MediaMode = 'video';

/** A recording's place in the seal pipeline (the `recordings.status` column). */
export const RECORDING_STATUSES = ['queued', 'processing', 'sealed', 'failed'] as const;
export type RecordingStatus = (typeof RECORDING_STATUSES)[number];

/**
 * A call's recording as the session views show it: `recording` while the call is live (no pipeline row yet), a queued
 * recording counts as `processing`, the rest is the pipeline's status.
 */
export const SESSION_RECORDING_STATUSES = ['recording', 'processing', 'sealed', 'failed'] as const satisfies ReadonlyArray<'recording' | Exclude<RecordingStatus, 'queued'>>;
export type SessionRecordingStatus = (typeof SESSION_RECORDING_STATUSES)[number];

export const INTEGRITY_FLAGS = ['incomplete', 'issues'] as const;
export type IntegrityFlag = (typeof INTEGRITY_FLAGS)[number];

/** What a case shows in place of personal data that was shredded when its retention ended. */
export const SHREDDED_TEXT = '(shredded)';
