/** What in a request is wrong: the field (dotted path) and a code for it. */
export interface ErrorDetail {
  field: string;
  code: string;
}

/**
 * An error the services raise without knowing HTTP: `kind` names an entry of the API's stable error codes
 * (http/errors.ts, the one place where kinds become statuses and response bodies).
 */
export class DomainError extends Error {
  constructor(
    readonly kind: string,
    message?: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message ?? kind);
    this.name = 'DomainError';
  }
}
