/**
 * Error codes of sealed media. Every failure to authenticate is loud: a caller never receives plaintext from a
 * segment whose tag did not verify.
 */
export type SealedMediaErrorCode =
  /** not a sealed file, unknown version or suite, bad header fields, impossible size (truncated mid-segment) */
  | 'KYC_ERR_SEALED_FORMAT'
  /** a segment failed authentication: altered, reordered, truncated, wrong key or wrong associated data */
  | 'KYC_ERR_SEALED_AUTH'
  /** a range outside the plaintext */
  | 'KYC_ERR_SEALED_RANGE'
  /** a range asked of a reader that was closed (open the file again) */
  | 'KYC_ERR_SEALED_CLOSED'
  /** key-encryption key missing, malformed, or a wrapped data key that does not unwrap */
  | 'KYC_ERR_SEALED_KEY';

export class SealedMediaError extends Error {
  readonly code: SealedMediaErrorCode;
  constructor(code: SealedMediaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SealedMediaError';
    this.code = code;
  }
}

export function isSealedMediaError(err: unknown, code?: SealedMediaErrorCode): err is SealedMediaError {
  return err instanceof SealedMediaError && (code === undefined || err.code === code);
}
