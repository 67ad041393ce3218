import type { FastifyServerOptions } from 'fastify';

/**
 * Paths that carry secrets in the URL itself (one-time invitation links) and query strings (OIDC codes, state) never
 * reach the logs.
 */
export function redactUrl(url: string): string {
  const path = url.split('?')[0] ?? '';
  return path.replace(/^\/(join|api\/join)\/[^/]+/, '/$1/[redacted]');
}

/** pino options: JSON lines, request ids, no PII, tokens, cookies or client addresses. */
export function loggerOptions(level: string): NonNullable<Exclude<FastifyServerOptions['logger'], boolean>> {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.token', '*.secret'],
      censor: '[redacted]',
    },
    serializers: {
      req(req: { method: string; url: string; id?: string }) {
        return { method: req.method, url: redactUrl(req.url) };
      },
      // Only what identifies the failure: database errors' `detail` may quote row values.
      err(err: Error & { code?: unknown }) {
        return { type: err.name, message: err.message, code: typeof err.code === 'string' ? err.code : undefined, stack: err.stack ?? '' };
      },
      res(res: { statusCode: number }) {
        return { statusCode: res.statusCode };
      },
    },
  };
}
