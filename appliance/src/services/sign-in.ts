import type pg from 'pg';
import { withTransaction } from '../db/database.js';
import { hashToken, newOpaqueToken } from '../lib/tokens.js';
import { signInSessionRepository, type LoginState } from '../repositories/sign-in-session.repository.js';
import { auditEvent, type AuditActor, type AuditSink, type RequestOrigin } from './audit.js';
import type { SignInSessions } from './sign-in-sessions.js';
import type { LogoutRequest, OidcService } from './oidc.js';

export type { LoginState } from '../repositories/sign-in-session.repository.js';

/** A sign-in the identity provider completed: who, and the tokens the new session keeps. */
export type CompletedLogin = Awaited<ReturnType<OidcService['completeLogin']>>;

/**
 * Browser sign-in as stored in PostgreSQL (`web_sessions` and the pending sign-in states): the HTTP layer speaks
 * OIDC and cookies; this keeps the rows and writes their audit events.
 */
export class SignIn {
  constructor(
    private readonly pool: pg.Pool,
    private readonly audit: AuditSink,
    private readonly signInSessions: SignInSessions,
  ) {}

  /** Keeps a pending sign-in (PKCE verifier, nonce, where to return) under its OIDC state, for `ttlSeconds`. */
  saveLoginState(state: string, pending: LoginState, ttlSeconds: number): Promise<void> {
    return signInSessionRepository.saveLoginState(this.pool, hashToken(state), pending, ttlSeconds);
  }

  /** The pending sign-in of an OIDC state, used up (null when unknown or expired). */
  takeLoginState(state: string): Promise<LoginState | null> {
    return signInSessionRepository.takeLoginState(this.pool, hashToken(state));
  }

  /** Starts a session for a completed sign-in, audited in the same transaction; answers the session id for the cookie. */
  async start(origin: RequestOrigin, login: CompletedLogin, ttlSeconds: number): Promise<string> {
    const { user, idToken, refreshToken, sid } = login;
    const sessionId = newOpaqueToken();
    const idHash = hashToken(sessionId);
    const now = this.signInSessions.clock.now();
    await withTransaction(this.pool, async (client) => {
      await signInSessionRepository.create(
        client,
        idHash,
        {
          subject: user.subject,
          username: user.username,
          roles: user.roles,
          branch: user.branch,
          idToken,
          expiresAt: new Date(now + ttlSeconds * 1000),
          idpSid: sid,
          refreshTokenEnc: this.signInSessions.sealRefreshToken(idHash, refreshToken),
        },
        new Date(now),
      );
      await this.audit.appendInTx(client, auditEvent(origin, { action: 'auth.login', object: null, result: 'success' }, { username: user.username, roles: user.roles, auth: 'session' }));
    });
    return sessionId;
  }

  /** Ends the caller's own session (audited); answers its ID token, for ending the identity provider's session too. */
  async end(origin: RequestOrigin, sessionIdHash: Buffer | null): Promise<string | null> {
    let idToken: string | null = null;
    await withTransaction(this.pool, async (client) => {
      if (sessionIdHash) idToken = (await signInSessionRepository.remove(client, sessionIdHash))?.idToken ?? null;
      await this.audit.appendInTx(client, auditEvent(origin, { action: 'auth.logout', object: null, result: 'success' }));
    });
    if (sessionIdHash) this.signInSessions.ended([sessionIdHash]);
    return idToken;
  }

  /**
   * Ends the sessions a verified back-channel logout token names (its identity-provider session, else its subject),
   * audited as `actor` (the identity provider); null when the token was used before, which ends nothing.
   */
  async endByLogoutToken(origin: RequestOrigin, logout: LogoutRequest, actor: AuditActor): Promise<Buffer[] | null> {
    const filter = logout.sid !== null ? { idpSid: logout.sid, ...(logout.sub !== null ? { subject: logout.sub } : {}) } : { subject: logout.sub! };
    const ended = await withTransaction(this.pool, async (client) => {
      if (!(await signInSessionRepository.firstUseOfLogoutToken(client, logout.jti, logout.expiresAt))) return null;
      const hashes = await this.signInSessions.endWhere(client, filter);
      await this.audit.appendInTx(
        client,
        auditEvent(
          origin,
          { action: 'auth.backchannel_logout', object: logout.sub !== null ? { type: 'user', id: logout.sub } : null, result: 'success', details: { sessions: hashes.length } },
          actor,
        ),
      );
      return hashes;
    });
    if (ended !== null) this.signInSessions.ended(ended);
    return ended;
  }
}
