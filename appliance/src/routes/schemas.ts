import { Type } from 'typebox';
import { AUDIT_TEXT_MAX_CHARS, AUDIT_TEXT_PATTERN } from '@kyc/compliance';
import { errorResponseSchema } from '../http/errors.js';

export { CaseStatusSchema, CaseViewSchema, RejectReasonSchema, RoleSchema } from '../api-types.js';
export { DateTime, IdParams, NO_NUL, Nullable, Uuid } from '../lib/schema.js';

export const ErrorResponse = errorResponseSchema;

/** Error responses every authenticated route may give. */
export const authErrors = { 401: ErrorResponse, 403: ErrorResponse, 429: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse };

/**
 * Free text that ends up in an audit event (a reason, a comment, notes): the audit event's own rule (characters and
 * length in code points), so that what the API accepts the audit log accepts too.
 */
export function AuditText(minLength: number, maxLength: number = AUDIT_TEXT_MAX_CHARS) {
  if (maxLength > AUDIT_TEXT_MAX_CHARS) throw new Error(`audit text is at most ${AUDIT_TEXT_MAX_CHARS} characters`);
  return Type.String({ minLength, maxLength, pattern: AUDIT_TEXT_PATTERN });
}

/**
 * A `preValidation` hook for routes whose body is optional: a request sent without one (no content type) is
 * validated as `{}`, so clients from before the body existed keep working and a sent body is still checked.
 */
export async function absentBodyAsEmpty(request: { body: unknown }): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {};
}
