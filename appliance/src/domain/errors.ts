/**
 * An error the services raise without knowing HTTP: `kind` names an entry of the API's stable error codes
 * (http/errors.ts), which turns it into the response.
 */
export class DomainError extends Error {
  constructor(
    readonly kind: string,
    message?: string,
    readonly details?: { field: string; code: string }[],
  ) {
    super(message ?? kind);
    this.name = 'DomainError';
  }
}
