import { errorResponseSchema } from '../http/errors.js';

export { CaseStatusSchema, CaseViewSchema, RejectReasonSchema, RoleSchema } from '../api-types.js';
export { AuditText, DateTime, IdParams, NO_NUL, Nullable, Uuid } from '../lib/schema.js';

export const ErrorResponse = errorResponseSchema;

/** Error responses every authenticated route may give. */
export const authErrors = { 401: ErrorResponse, 403: ErrorResponse, 429: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse };

/**
 * A `preValidation` hook for routes whose body is optional: a request sent without one (no content type) is
 * validated as `{}`, so clients from before the body existed keep working and a sent body is still checked.
 */
export async function absentBodyAsEmpty(request: { body: unknown }): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {};
}
