import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SignInSessions } from '../services/sign-in-sessions.js';
import type { Principal, Role } from '../domain/principal.js';
import { hashToken } from '../lib/tokens.js';
import { DEVICE_COOKIE } from '../services/invitation.service.js';
import type { SignalingCaller } from '../services/live-media.js';
import { IdpUnavailableError, type OidcService } from '../services/oidc.js';
import { AppError } from './errors.js';
import { isUnsafeMethod, type Access } from './route-policy.js';

export const SESSION_COOKIE = '__Host-kyc_session';
export const LOGIN_COOKIE = '__Host-kyc_login';
export const CSRF_HEADER = 'x-csrf-token';

export type { AuthMethod, Principal } from '../domain/principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface AuthOptions {
  oidc: OidcService;
  signInSessions: SignInSessions;
  sessionKey: Buffer;
  publicOrigin: string;
}

export function csrfTokenFor(sessionKey: Buffer, sessionId: string): string {
  return createHmac('sha256', sessionKey).update(`csrf\0${sessionId}`).digest('base64url');
}

/**
 * What a request tells the services about its caller: the signed-in principal, the invitation link (`?invitation=`)
 * with the browser's device cookie it is bound to, and the session a teller names (`?session=`).
 */
export function callerOf(request: FastifyRequest): SignalingCaller {
  const q = request.query as { invitation?: unknown; session?: unknown } | undefined;
  return {
    principal: request.principal,
    invitation: typeof q?.invitation === 'string' ? q.invitation : undefined,
    session: typeof q?.session === 'string' ? q.session : undefined,
    device: request.cookies[DEVICE_COOKIE],
  };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function roleAllows(access: Access, principal: Principal | null, hasInvitation = false): 'ok' | 'unauthenticated' | 'forbidden' {
  if (access === 'public') return 'ok';
  if (typeof access === 'object' && access.invitation && hasInvitation && !principal) return 'ok';
  if (!principal) return 'unauthenticated';
  if (access === 'authenticated') return 'ok';
  return access.roles.some((r) => principal.roles.includes(r)) ? 'ok' : 'forbidden';
}

async function resolvePrincipal(request: FastifyRequest, opts: AuthOptions): Promise<Principal | null> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer ([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+)$/.exec(header);
    if (!m?.[1]) throw new AppError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <access token>".');
    try {
      const user = await opts.oidc.verifyAccessToken(m[1]);
      return { ...user, auth: 'bearer', sessionIdHash: null, csrfToken: null };
    } catch (err) {
      if (err instanceof IdpUnavailableError) throw new AppError('UNAVAILABLE', 'The identity provider is unreachable.');
      throw new AppError('UNAUTHENTICATED', 'The access token is not valid.');
    }
  }
  const sessionId = request.cookies[SESSION_COOKIE];
  if (!sessionId || !/^[A-Za-z0-9_-]{43}$/.test(sessionId)) return null;
  const idHash = hashToken(sessionId);
  const found = await opts.signInSessions.find(idHash);
  if (!found) return null;
  // re-checked with the identity provider at a bounded interval: a revoked user or withdrawn role ends here
  let session;
  try {
    session = await opts.signInSessions.recheckIfDue(idHash, found);
  } catch (err) {
    if (err instanceof IdpUnavailableError) throw new AppError('UNAVAILABLE', 'The identity provider is unreachable: sign-ins cannot be confirmed. Try again shortly.');
    throw err;
  }
  if (!session) return null;
  await opts.signInSessions.touchIfDue(idHash, session);
  return {
    subject: session.subject,
    username: session.username,
    roles: session.roles as Role[],
    branch: session.branch,
    auth: 'session',
    sessionIdHash: idHash,
    csrfToken: csrfTokenFor(opts.sessionKey, sessionId),
  };
}

function checkCsrf(request: FastifyRequest, principal: Principal, publicOrigin: string): void {
  if (principal.auth !== 'session' || !isUnsafeMethod(request.method)) return;
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== publicOrigin) throw new AppError('CSRF');
  const sent = request.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !principal.csrfToken || !safeEqual(sent, principal.csrfToken)) throw new AppError('CSRF');
}

/**
 * Resolves who is calling (bearer token or session cookie) before the body is read, then enforces the route's
 * declared access policy and CSRF protection for cookie sessions. Default deny: a route without a policy is refused.
 */
export function installAuth(app: FastifyInstance, opts: AuthOptions): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request: FastifyRequest, _reply: FastifyReply) => {
    const access = request.routeOptions.config.access;
    if (!access) {
      // Unmatched URLs reach the not-found handler; a matched route without a policy never serves.
      if (request.routeOptions.url === undefined) return;
      throw new AppError('FORBIDDEN');
    }
    // Browsers always send Origin on cross-origin writes: refuse those for every route, signed in or not.
    const origin = request.headers.origin;
    if (isUnsafeMethod(request.method) && origin !== undefined && origin !== opts.publicOrigin) throw new AppError('CSRF');
    request.principal = access === 'public' && request.headers.authorization === undefined && !request.cookies[SESSION_COOKIE] ? null : await resolvePrincipal(request, opts);
    const invitation = (request.query as Record<string, unknown> | undefined)?.['invitation'];
    const verdict = roleAllows(access, request.principal, typeof invitation === 'string' && invitation.length > 0);
    if (verdict === 'unauthenticated') throw new AppError('UNAUTHENTICATED');
    if (verdict === 'forbidden') throw new AppError('FORBIDDEN');
    if (request.principal && access !== 'public') checkCsrf(request, request.principal, opts.publicOrigin);
  });
}
