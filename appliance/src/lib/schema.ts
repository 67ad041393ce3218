import { Type, type TSchema } from 'typebox';
import { AUDIT_TEXT_MAX_CHARS, AUDIT_TEXT_PATTERN } from '@kyc/compliance';

// Small TypeBox pieces every schema of the API uses, declared once (routes, API answer types and the KYC views).

/** A value or null (JSON null, not an absent property). */
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** A list answer: `{ items: [...] }` of one item schema. */
export const ItemsOf = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item) });

/** A UUID string (ids of cases, sessions, recordings, …). */
export const Uuid = Type.String({ format: 'uuid' });
/** A string pattern for text that goes into a PostgreSQL text column as it is: no NUL, which text cannot hold. */
export const NO_NUL = '^[^\\u0000]*$';

/** An ISO 8601 date and time (`Date.toISOString()`). */
export const DateTime = Type.String({ format: 'date-time' });

/** Path parameters of a route that names one thing by its UUID (`/…/:id`). */
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

/** One of a list of strings, as `{ type: 'string', enum }` (the list's `as const` type is the static type). */
export const StringEnum = <const T extends readonly string[]>(values: T) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });

/** One of a list of strings, as a union of literals (`anyOf` of `const`s in the API document). */
export const LiteralUnion = <const T extends readonly string[]>(values: T) => Type.Unsafe<T[number]>(Type.Union(values.map((v) => Type.Literal(v))));

/**
 * Free text that ends up in an audit event (a reason, a comment, notes): the audit event's own rule (characters and
 * length in code points), so that what the API accepts the audit log accepts too.
 */
export function AuditText(minLength: number, maxLength: number = AUDIT_TEXT_MAX_CHARS) {
  if (maxLength > AUDIT_TEXT_MAX_CHARS) throw new Error(`audit text is at most ${AUDIT_TEXT_MAX_CHARS} characters`);
  return Type.String({ minLength, maxLength, pattern: AUDIT_TEXT_PATTERN });
}
