import { Type } from 'typebox';
import { AUDIT_TEXT_MAX_CHARS, AUDIT_TEXT_PATTERN } from '@kyc/compliance';
import { REJECT_REASONS, type RejectReason } from '../api-types.js';
import { errorResponseSchema } from '../http/errors.js';

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

export const RejectReasonSchema = Type.Unsafe<RejectReason>({ type: 'string', enum: [...REJECT_REASONS] });

export const RoleSchema = Type.Union([Type.Literal('teller'), Type.Literal('auditor'), Type.Literal('admin')]);

export const CaseStatusSchema = Type.Union([
  Type.Literal('draft'),
  Type.Literal('invited'),
  Type.Literal('in_session'),
  Type.Literal('completed'),
  Type.Literal('approved'),
  Type.Literal('rejected'),
]);

export const CaseViewSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  status: CaseStatusSchema,
  customerName: Type.String(),
  customerIdNumber: Type.String(),
  customerPhone: Type.String(),
  bankCard: Type.Union([Type.String(), Type.Null()]),
  product: Type.String(),
  /** the catalogue version the case keeps (null for cases opened before the catalogue) */
  productVersion: Type.Union([Type.Integer(), Type.Null()]),
  branch: Type.String(),
  teller: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  review: Type.Union([
    Type.Object({
      decision: Type.Union([Type.Literal('approved'), Type.Literal('rejected')]),
      comment: Type.String(),
      rejectReasons: Type.Array(RejectReasonSchema),
      promptingNotes: Type.Union([Type.String(), Type.Null()]),
      reviewer: Type.String(),
      at: Type.String({ format: 'date-time' }),
    }),
    Type.Null(),
  ]),
  retention: Type.Optional(
    Type.Object({ expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]), held: Type.Boolean(), shreddedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]) }),
  ),
});
