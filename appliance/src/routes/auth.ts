import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { LOGIN_COOKIE, SESSION_COOKIE } from '../http/auth.js';
import { AppError } from '../http/errors.js';
import { safeReturnTo } from '../http/return-to.js';
import { auditEvent } from '../services/audit.js';
import { IdpUnavailableError, LogoutTokenError } from '../services/oidc.js';
import { SignIn } from '../services/sign-in.js';
import { authErrors, ErrorResponse } from './schemas.js';

const LOGIN_STATE_TTL_SECONDS = 600;

function cookieOptions(maxAgeSeconds: number) {
  return { path: '/', httpOnly: true, secure: true, sameSite: 'lax' as const, maxAge: maxAgeSeconds };
}

export async function authRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const rateLimit = { max: ctx.config.http.authRateLimitPerMinute, timeWindow: '1 minute' };
  const signIn = new SignIn(ctx.pool, ctx.audit, ctx.signInSessions);

  r.get(
    '/auth/login',
    {
      config: { access: 'public', rateLimit },
      schema: {
        tags: ['identity'],
        summary: "Start browser sign-in at the institution's Keycloak (authorization code + PKCE)",
        querystring: Type.Object({ returnTo: Type.Optional(Type.String({ maxLength: 500 })) }),
        response: { 302: Type.Null(), 429: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request, reply) => {
      let login;
      try {
        login = await ctx.oidc.beginLogin();
      } catch (err) {
        if (err instanceof IdpUnavailableError) throw new AppError('UNAVAILABLE', 'The identity provider is unreachable.');
        throw err;
      }
      await signIn.saveLoginState(login.state, { codeVerifier: login.codeVerifier, nonce: login.nonce, returnTo: safeReturnTo(request.query.returnTo) }, LOGIN_STATE_TTL_SECONDS);
      // Binds the pending sign-in to this browser, so a callback URL planted by someone else fails.
      reply.setCookie(LOGIN_COOKIE, login.state, cookieOptions(LOGIN_STATE_TTL_SECONDS));
      return reply.redirect(login.url.href, 302);
    },
  );

  r.get(
    '/auth/callback',
    {
      config: { access: 'public', rateLimit },
      schema: {
        tags: ['identity'],
        summary: 'Keycloak redirects here after sign-in',
        querystring: Type.Object({
          state: Type.Optional(Type.String({ maxLength: 200 })),
          code: Type.Optional(Type.String({ maxLength: 4000 })),
          session_state: Type.Optional(Type.String({ maxLength: 200 })),
          iss: Type.Optional(Type.String({ maxLength: 500 })),
          error: Type.Optional(Type.String({ maxLength: 200 })),
          error_description: Type.Optional(Type.String({ maxLength: 1000 })),
        }),
        response: { 302: Type.Null(), 400: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request, reply) => {
      const state = request.query.state;
      const cookieState = request.cookies[LOGIN_COOKIE];
      reply.clearCookie(LOGIN_COOKIE, { path: '/' });
      const fail = async (reason: string) => {
        await ctx.audit.append(auditEvent(request, { action: 'auth.login', object: null, result: 'failure', reason }, { username: 'anonymous', roles: [], auth: 'anonymous' }));
        throw new AppError('LOGIN_FAILED');
      };
      if (!state || !cookieState || state !== cookieState) return fail('state missing or not bound to this browser');
      const pending = await signIn.takeLoginState(state);
      if (!pending) return fail('unknown or expired sign-in state');
      if (request.query.error) return fail(`identity provider refused: ${request.query.error}`);
      const callbackUrl = new URL(request.url, ctx.config.publicUrl);
      let result;
      try {
        result = await ctx.oidc.completeLogin(callbackUrl, { state, codeVerifier: pending.codeVerifier, nonce: pending.nonce });
      } catch (err) {
        request.log.warn({ errName: (err as Error).name }, 'sign-in code exchange failed');
        return fail('code exchange or token verification failed');
      }
      const ttl = ctx.config.session.ttlSeconds;
      const sessionId = await signIn.start(request, result, ttl);
      reply.setCookie(SESSION_COOKIE, sessionId, cookieOptions(ttl));
      // checked again on the way out: a state stored before a rule change is not trusted either
      return reply.redirect(safeReturnTo(pending.returnTo), 302);
    },
  );

  r.post(
    '/auth/logout',
    {
      config: { access: 'authenticated', audit: 'auth.logout', rateLimit },
      schema: {
        tags: ['identity'],
        summary: 'End the browser session; answers where to send the browser to end the Keycloak session too',
        response: { 200: Type.Object({ redirectTo: Type.String() }), ...authErrors },
      },
    },
    async (request, reply) => {
      const p = request.principal;
      if (!p) throw new AppError('UNAUTHENTICATED');
      const idToken = await signIn.end(request, p.sessionIdHash);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      let redirectTo = '/';
      try {
        redirectTo = await ctx.oidc.endSessionUrl(idToken);
      } catch {
        request.log.warn('identity provider unreachable at sign-out; local session ended');
      }
      return { redirectTo };
    },
  );

  // OIDC Back-Channel Logout 1.0: the identity provider (Keycloak's "Backchannel logout URL" of the client) posts a
  // logout token when a user's session ends there (sign-out elsewhere, an administrator, session expiry). The
  // matching sign-in sessions end here at once and their signaling sockets close.
  app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    scope.withTypeProvider<TypeBoxTypeProvider>().post(
      '/auth/backchannel-logout',
      {
        config: { access: 'public', audit: 'auth.backchannel_logout', rateLimit },
        schema: {
          tags: ['identity'],
          summary: 'OIDC Back-Channel Logout: the identity provider ends sign-in sessions (form field logout_token)',
          body: Type.Object({ logout_token: Type.String({ minLength: 1, maxLength: 8192 }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ ended: Type.Integer({ minimum: 0 }) }), 400: ErrorResponse, 415: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse },
        },
      },
      async (request, reply) => {
        reply.header('cache-control', 'no-store');
        const idp = { username: 'identity-provider', roles: [], auth: 'system' as const };
        let logout;
        try {
          logout = await ctx.oidc.verifyLogoutToken(request.body.logout_token);
        } catch (err) {
          if (err instanceof IdpUnavailableError) throw new AppError('UNAVAILABLE', 'The identity provider is unreachable.');
          if (!(err instanceof LogoutTokenError)) throw err;
          await ctx.audit.append(auditEvent(request, { action: 'auth.backchannel_logout', object: null, result: 'failure', reason: err.message }, idp));
          throw new AppError('LOGOUT_TOKEN_INVALID');
        }
        const ended = await signIn.endByLogoutToken(request, logout, idp);
        if (ended === null) {
          await ctx.audit.append(auditEvent(request, { action: 'auth.backchannel_logout', object: null, result: 'failure', reason: 'logout token replayed' }, idp));
          throw new AppError('LOGOUT_TOKEN_INVALID', 'This logout token was used before.');
        }
        return { ended: ended.length };
      },
    );
  });
}
