import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorDetail } from '../domain/errors.js';

export type { ErrorDetail } from '../domain/errors.js';

/** Stable error codes of the API. Clients and tests rely on them; add, never rename. */
export const ErrorCodes = {
  VALIDATION: { status: 400, message: 'The request is not valid.' },
  MALFORMED_BODY: { status: 400, message: 'The request body is not valid JSON.' },
  BAD_PARAMETER: { status: 400, message: 'A parameter is not valid.' },
  PROOF_RANGE: { status: 400, message: 'The proof parameters do not fit the tree.' },
  AUDIT_QUERY_INVALID: { status: 400, message: 'The audit query is not valid.' },
  UNAUTHENTICATED: { status: 401, message: 'Sign in first.' },
  CSRF: { status: 403, message: 'The request lacks a valid CSRF token or comes from another origin.' },
  FORBIDDEN: { status: 403, message: 'Your role does not allow this.' },
  SELF_REVIEW: { status: 403, message: 'A case cannot be reviewed by its own teller.' },
  REPLAY_GRANT: { status: 403, message: 'The replay authorization is missing, expired or not yours; open the replay again.' },
  NOT_FOUND: { status: 404, message: 'Not found.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed.' },
  CONFLICT: { status: 409, message: 'The resource is not in a state that allows this.' },
  GONE: { status: 410, message: 'This link has expired or was revoked.' },
  SHREDDED: { status: 410, message: 'This item was destroyed when its retention period ended (crypto-shredded per policy).' },
  CODE_INVALID: { status: 400, message: 'The code is not correct.' },
  INVITATION_EXPIRED: { status: 410, message: 'This invitation link has expired. Ask your bank contact for a new one.' },
  INVITATION_REVOKED: { status: 410, message: 'This invitation link was withdrawn. Ask your bank contact for a new one.' },
  INVITATION_LOCKED: { status: 410, message: 'Too many wrong codes. Ask your bank contact for a new invitation.' },
  INVITATION_CLOSED: { status: 410, message: 'This invitation has already been used.' },
  INVITATION_IN_USE: { status: 409, message: 'This link is already open on another device. Continue on that device, or ask for a new link.' },
  WRONG_STEP: { status: 409, message: 'Complete the previous step first.' },
  CONSENT_TEXT_CHANGED: { status: 409, message: 'The consent text has changed since this page was loaded. Reload the page and read it again.' },
  STEPS_MISSING: { status: 409, message: 'Required steps of the product script are not done yet.' },
  STEP_UNKNOWN: { status: 404, message: "No such step in this case's script." },
  STEP_ORDER: { status: 409, message: 'An earlier required step of the script is not done yet.' },
  NO_CUSTOMER_VIDEO: { status: 409, message: 'The customer takes part without video: the camera steps cannot run in this session.' },
  SESSION_NOT_LIVE: { status: 409, message: 'Script steps can only be completed during the live session.' },
  PRODUCT_UNKNOWN: { status: 400, message: 'No such product in the catalogue.' },
  SERVICE_TICKET_INVALID: { status: 403, message: 'This service ticket is not valid on this device, or has expired. Start again.' },
  SERVICE_VISIT_CLOSED: { status: 409, message: 'This visit has ended.' },
  OFFER_GONE: { status: 409, message: 'This offer has expired or was answered.' },
  PRODUCT_EXISTS: { status: 409, message: 'A product with this code exists; edit it to make a new version.' },
  IMAGE_INVALID: { status: 400, message: 'The image cannot be read (JPEG, PNG or WebP).' },
  NO_FACE: { status: 400, message: 'No face was found in the image.' },
  MULTIPLE_FACES: { status: 400, message: 'More than one face was found in the image.' },
  IMAGE_TOO_LARGE: { status: 413, message: 'The image is too large.' },
  BODY_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  SESSION_FILES_LIMIT: { status: 409, message: 'This session already holds as many files as one session may.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send application/json.' },
  RANGE_NOT_SATISFIABLE: { status: 416, message: 'The requested range is not satisfiable.' },
  RANGE_MALFORMED: { status: 400, message: 'The Range header is not a single byte range (bytes=first-last, first- or -suffix).' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; try again later.' },
  MALFORMED_REQUEST: { status: 400, message: 'The HTTP request is malformed.' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request took too long to arrive.' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request line or headers are too large.' },
  LOGIN_FAILED: { status: 400, message: 'Sign-in did not complete; start again.' },
  LOGOUT_TOKEN_INVALID: { status: 400, message: 'The logout token is not valid.' },
  INTERNAL: { status: 500, message: 'Internal error.' },
  UNAVAILABLE: { status: 503, message: 'A required component is unavailable.' },
} as const;

export type ErrorName = keyof typeof ErrorCodes;
export const errorCode = (name: ErrorName): string => `KYC_ERR_${name}`;

/** An error the API reports to clients as `{error:{code,message,details?}}` with its status. */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(
    readonly kind: ErrorName,
    message?: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message ?? ErrorCodes[kind].message);
    this.name = 'AppError';
    this.status = ErrorCodes[kind].status;
    this.code = errorCode(kind);
  }
}

/** JSON schema of an error response (every route declares it for its error statuses). */
export const errorResponseSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: {
          type: 'array',
          items: { type: 'object', properties: { field: { type: 'string' }, code: { type: 'string' } } },
        },
      },
    },
  },
} as const;

/** The error-code name an error carries, whether the HTTP layer raised it or a service (null for any other error). */
export function errorKindOf(err: unknown): string | null {
  return err instanceof AppError || err instanceof DomainError ? err.kind : null;
}

function fromFastifyError(err: FastifyError): AppError | null {
  if (err instanceof DomainError) return err.kind in ErrorCodes ? new AppError(err.kind as ErrorName, err.message === err.kind ? undefined : err.message, err.details) : null;
  if (err.validation) {
    const details = err.validation.map((v) => ({
      field:
        (v.instancePath || '').replace(/^\//, '').replace(/\//g, '.') ||
        String(
          (v.params as { missingProperty?: string; additionalProperty?: string }).missingProperty ??
            (v.params as { additionalProperty?: string }).additionalProperty ??
            err.validationContext ??
            '',
        ),
      code: v.keyword,
    }));
    const where = err.validationContext ?? 'request';
    return new AppError(where === 'body' ? 'VALIDATION' : 'BAD_PARAMETER', `Invalid ${where}: ${err.message}`, details);
  }
  switch (err.code) {
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError('BAD_PARAMETER');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('MALFORMED_BODY');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('BODY_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('UNSUPPORTED_MEDIA_TYPE');
    default:
      break;
  }
  if (err instanceof SyntaxError && err.statusCode === 400) return new AppError('MALFORMED_BODY');
  if (err.statusCode === 429) return new AppError('RATE_LIMITED');
  if (err.statusCode === 404) return new AppError('NOT_FOUND');
  if (err.statusCode === 405) return new AppError('METHOD_NOT_ALLOWED');
  if (err.statusCode === 416) return new AppError('RANGE_NOT_SATISFIABLE');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new AppError('VALIDATION', 'The request is not valid.');
  return null;
}

/** The one place errors become responses. 5xx never carries the internal message. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler(handleError);
}

/**
 * Errors raised by the router before a route is found (a path that is not valid percent-encoding, a parameter longer
 * than `maxParamLength`) bypass `setErrorHandler`: pass this as Fastify's `frameworkErrors` so they get the same body.
 */
export function handleError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const known = err instanceof AppError ? err : fromFastifyError(err);
  if (known) {
    if (known.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: known.code }, 'request refused');
    return reply
      .code(known.status)
      .type('application/json; charset=utf-8')
      .send({ error: { code: known.code, message: known.message, ...(known.details ? { details: known.details } : {}) } });
  }
  request.log.error({ err }, 'unhandled error');
  return reply
    .code(500)
    .type('application/json; charset=utf-8')
    .send({ error: { code: errorCode('INTERNAL'), message: ErrorCodes.INTERNAL.message } });
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers or URL over the size limit, broken framing,
 * a request that does not arrive in time): the same JSON body and a stable code, and `Connection: close` because the
 * socket is closed right after — without it a keep-alive client reuses the socket and its next request is lost.
 */
export function handleClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const kind: ErrorName = err.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'REQUEST_TIMEOUT' : 'MALFORMED_REQUEST';
  const { status, message } = ErrorCodes[kind];
  const body = JSON.stringify({ error: { code: errorCode(kind), message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nCache-Control: no-store\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.end();
  setTimeout(() => socket.destroy(), 1000).unref();
}

export function notFoundBody(): { error: { code: string; message: string } } {
  return { error: { code: errorCode('NOT_FOUND'), message: ErrorCodes.NOT_FOUND.message } };
}
