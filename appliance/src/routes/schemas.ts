import { errorResponseSchema } from '../http/errors.js';

export { CaseStatusSchema, CaseViewSchema, RejectReasonSchema, RoleSchema } from '../api-types.js';
export { AuditText, DateTime, IdParams, Nullable, Uuid } from '../lib/schema.js';

export const ErrorResponse = errorResponseSchema;

/** Error responses every authenticated route may give. */
export const authErrors = { 401: ErrorResponse, 403: ErrorResponse, 429: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse };
