// Words for the API's enumerations and errors. Called while rendering, so they follow a language switch.
import { m } from '$lib/paraglide/messages.js';
import { ApiError, CLIENT_ERROR_CODES, type CaseStatus, type ComponentState, type JoinStep, type MediaMode, type NewCaseField, type Role } from '$lib/api.js';
import type { RejectReason } from '../../../appliance/src/api-types.js';

export function roleLabel(role: Role): string {
  switch (role) {
    case 'teller':
      return m.role_teller();
    case 'auditor':
      return m.role_auditor();
    case 'admin':
      return m.role_admin();
  }
}

export function caseStatusLabel(status: CaseStatus): string {
  switch (status) {
    case 'draft':
      return m.case_status_draft();
    case 'invited':
      return m.case_status_invited();
    case 'in_session':
      return m.case_status_in_session();
    case 'completed':
      return m.case_status_completed();
    case 'approved':
      return m.case_status_approved();
    case 'rejected':
      return m.case_status_rejected();
  }
}

/** Why an auditor rejected a case. */
export function rejectReasonLabel(reason: RejectReason): string {
  switch (reason) {
    case 'prompting_observed':
      return m.review_reason_prompting_observed();
    case 'identity_mismatch':
      return m.review_reason_identity_mismatch();
    case 'document_unreadable':
      return m.review_reason_document_unreadable();
    case 'media_incomplete':
      return m.review_reason_media_incomplete();
    case 'script_incomplete':
      return m.review_reason_script_incomplete();
    case 'other':
      return m.review_reason_other();
  }
}

/** The customer's step, as the teller's console shows it. */
const MEDIA_MODE_LABELS: Record<MediaMode, { short: () => string; long: () => string }> = {
  video: { short: m.media_mode_video, long: m.media_mode_video_long },
  audio: { short: m.media_mode_audio, long: m.media_mode_audio_long },
  chat: { short: m.media_mode_chat, long: m.media_mode_chat_long },
};

/** How the customer takes part, in a word (badges) or with what it opens (the choice). */
export function mediaModeLabel(mode: MediaMode, form: 'short' | 'long' = 'short'): string {
  return MEDIA_MODE_LABELS[mode][form]();
}

export function joinStepLabel(step: JoinStep): string {
  switch (step) {
    case 'code':
      return m.join_step_code();
    case 'device':
      return m.join_step_device();
    case 'consent':
      return m.join_step_consent();
    case 'waiting':
      return m.join_step_waiting();
    case 'in_call':
      return m.join_step_in_call();
    case 'ended':
      return m.join_step_ended();
    case 'declined':
      return m.join_step_declined();
    case 'expired':
      return m.join_step_expired();
    case 'revoked':
      return m.join_step_revoked();
    case 'locked':
      return m.join_step_locked();
  }
}

/** Why a session ended; a reason the server adds later is shown as it comes. */
export function sessionEndLabel(reason: string): string {
  switch (reason) {
    case 'teller hung up':
      return m.session_end_teller();
    case 'left':
    case 'customer left':
      return m.session_end_customer();
    default:
      return reason;
  }
}

/** Component names come from the server; one it adds later is shown by its key until it gets a label. */
export function componentLabel(name: string): string {
  switch (name) {
    case 'db':
      return m.component_db();
    case 'idp':
      return m.component_idp();
    case 'janus':
      return m.component_janus();
    default:
      return name;
  }
}

export function componentStateLabel(state: ComponentState): string {
  switch (state) {
    case 'up':
      return m.component_state_up();
    case 'down':
      return m.component_state_down();
    case 'not_configured':
      return m.component_state_not_configured();
  }
}

export function fieldLabel(field: NewCaseField): string {
  switch (field) {
    case 'customerName':
      return m.field_customer_name();
    case 'customerIdNumber':
      return m.field_customer_id();
    case 'customerPhone':
      return m.field_customer_phone();
    case 'bankCard':
      return m.field_bank_card();
    case 'product':
      return m.field_product();
    case 'branch':
      return m.field_branch();
  }
}

/**
 * The message shown next to an input the server refused. The server's per-field codes say what failed
 * (`required`, schema keywords such as `minLength`, `gb11643`, `mobile`, `luhn`); the field itself says best
 * what the user should enter. An empty input refused for its length was simply left out.
 */
export function fieldErrorMessage(field: NewCaseField, code: string, submittedEmpty: boolean): string {
  if (code === 'required' || (submittedEmpty && code === 'minLength')) return m.field_error_required();
  switch (field) {
    case 'customerName':
      return m.field_error_customer_name();
    case 'customerIdNumber':
      return m.field_error_customer_id();
    case 'customerPhone':
      return m.field_error_customer_phone();
    case 'bankCard':
      return m.field_error_bank_card();
    case 'product':
    case 'branch':
      return m.field_error_invalid();
  }
}

/** A sentence for an error, chosen by HTTP status; the code is shown beside it for support. */
export function errorMessage(error: { status: number; code?: string | undefined }): string {
  if (error.code === CLIENT_ERROR_CODES.network || error.status === 0) return m.error_network();
  if (error.status === 401) return m.error_session_expired();
  if (error.status === 403) return m.error_forbidden();
  if (error.status === 404) return m.error_not_found();
  if (error.status === 409) return m.error_conflict();
  if (error.status >= 400 && error.status < 500) return m.error_validation();
  return m.error_server();
}

export function errorOf(err: unknown): { status: number; code: string } {
  if (err instanceof ApiError) return { status: err.status, code: err.code };
  return { status: 500, code: CLIENT_ERROR_CODES.unexpectedResponse };
}
