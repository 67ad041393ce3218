/** Error codes of the audit log. Routes map KYC_ERR_PROOF_RANGE, KYC_ERR_AUDIT_EVENT_INVALID and
 * KYC_ERR_AUDIT_QUERY_INVALID to 400; the others are server faults. */
export type AuditErrorCode =
  | 'KYC_ERR_AUDIT_EVENT_INVALID'
  | 'KYC_ERR_AUDIT_QUERY_INVALID'
  | 'KYC_ERR_PROOF_RANGE'
  | 'KYC_ERR_AUDIT_KEY'
  | 'KYC_ERR_AUDIT_CHECKPOINT'
  | 'KYC_ERR_AUDIT_CLOSED'
  | 'KYC_ERR_AUDIT_WRITE'
  | 'KYC_ERR_AUDIT_TIMESTAMP';

export class AuditError extends Error {
  readonly code: AuditErrorCode;
  constructor(code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditError';
    this.code = code;
  }
}

export function isAuditError(err: unknown, code?: AuditErrorCode): err is AuditError {
  return err instanceof AuditError && (code === undefined || err.code === code);
}
