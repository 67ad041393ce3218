import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifySchema } from 'fastify';

/**
 * Bodies are validated strictly (no type coercion, unknown properties refused): a number where a string belongs is a
 * 400, not a silently converted value. Path and query parameters arrive as text, so they are coerced.
 */
export function installValidators(app: FastifyInstance): void {
  const base: Options = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false };
  const body = new Ajv({ ...base, coerceTypes: false });
  const params = new Ajv({ ...base, coerceTypes: true });
  for (const a of [body, params]) (addFormats as unknown as (ajv: Ajv) => void)(a);
  app.setValidatorCompiler(({ schema, httpPart }: { schema: FastifySchema; httpPart?: string }) => (httpPart === 'body' ? body : params).compile(schema as object));
}
