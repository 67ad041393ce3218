import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload } from 'jose';
import { ROLES, type Role } from '../domain/principal.js';
import { fetchTrusting, trustedCas } from '../lib/ca-fetch.js';
import { clockDate, systemClock, type Clock } from '../lib/clock.js';

export { ROLES, type Role } from '../domain/principal.js';

export interface VerifiedUser {
  subject: string;
  username: string;
  roles: Role[];
  /** the user's branch (Keycloak user attribute `branch` mapped into the token), when the realm gives one */
  branch: string | null;
}

export interface OidcOptions {
  issuer: URL;
  clientId: string;
  clientSecret: string;
  audience: string;
  /** clients whose access tokens are accepted (their azp); absent: any client of the realm */
  bearerClients?: readonly string[];
  redirectUri: string;
  postLogoutRedirectUri: string;
  /** PEM bundle trusted for the issuer's HTTPS besides the system store (KYC_OIDC_CA_FILE) */
  caFile?: string | null;
  /** access-token expiry and the verified-token cache read this clock (default: the system's) */
  clock?: Clock;
}

/** The identity provider answered that the sign-in is no longer valid (session ended, user disabled, token revoked). */
export class IdpRefusedError extends Error {
  constructor(readonly reason: string) {
    super(`identity provider refused: ${reason}`);
    this.name = 'IdpRefusedError';
  }
}

/** OIDC Back-Channel Logout 1.0 §2.4: the event a logout token must carry. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** What a verified logout token asks to end. */
export interface LogoutRequest {
  sid: string | null;
  sub: string | null;
  jti: string;
  /** when the token stops being acceptable (for its replay record) */
  expiresAt: Date;
}

export class LogoutTokenError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LogoutTokenError';
  }
}

export class IdpUnavailableError extends Error {
  constructor(cause: unknown) {
    super('identity provider unavailable', { cause });
    this.name = 'IdpUnavailableError';
  }
}

/** Keycloak's token shape: roles in `realm_access.roles`, user name in `preferred_username`. */
export function userFromClaims(claims: JWTPayload): VerifiedUser {
  const realmAccess = claims['realm_access'] as { roles?: unknown } | undefined;
  const roles = Array.isArray(realmAccess?.roles) ? realmAccess.roles.filter((r): r is Role => ROLES.includes(r as Role)) : [];
  const username = typeof claims['preferred_username'] === 'string' ? claims['preferred_username'] : '';
  if (!claims.sub || !username) throw new Error('token lacks sub or preferred_username');
  const branch = typeof claims['branch'] === 'string' && claims['branch'].trim() !== '' ? claims['branch'].trim() : null;
  return { subject: claims.sub, username, roles, branch };
}

/**
 * The appliance as an OIDC relying party of the realm: browser sign-in (authorization code + PKCE, openid-client)
 * and bearer-token verification (jose against the realm JWKS). Discovery is lazy and retried, so the appliance
 * starts and reports "idp down" on /readyz while Keycloak is unreachable.
 */
export class OidcService {
  private configuration: client.Configuration | null = null;
  private jwks: ReturnType<typeof createRemoteJWKSet> | null = null;
  private pending: Promise<client.Configuration> | null = null;
  /**
   * Access tokens verified recently, by SHA-256 of the token: a replay sends a range request every few hundred
   * milliseconds with the same token, and an RS256 verification costs more than serving a small range. Kept until
   * the token's own expiry but at most VERIFIED_TTL_MS (a key withdrawn from the JWKS stops counting within that
   * time); failures are never kept.
   */
  private readonly verified = new Map<string, { user: VerifiedUser; until: number }>();
  private static readonly VERIFIED_TTL_MS = 60_000;
  private static readonly MAX_VERIFIED = 10_000;

  /** every request to the identity provider (discovery, token, JWKS, readiness) goes through this */
  private readonly fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  private readonly clock: Clock;

  constructor(private readonly opts: OidcOptions) {
    this.clock = opts.clock ?? systemClock;
    this.fetch = opts.caFile ? fetchTrusting(trustedCas(opts.caFile)) : (input, init) => fetch(input, init);
  }

  async config(): Promise<client.Configuration> {
    if (this.configuration) return this.configuration;
    this.pending ??= (async () => {
      try {
        const execute = this.opts.issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [];
        const cfg = await client.discovery(this.opts.issuer, this.opts.clientId, this.opts.clientSecret, undefined, {
          execute,
          timeout: 5,
          [client.customFetch]: this.fetch,
        });
        cfg[client.customFetch] = this.fetch;
        const jwksUri = cfg.serverMetadata().jwks_uri;
        if (!jwksUri) throw new Error('issuer metadata lacks jwks_uri');
        this.jwks = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 5000, cooldownDuration: 30_000, [customFetch]: this.fetch });
        this.configuration = cfg;
        return cfg;
      } catch (err) {
        throw new IdpUnavailableError(err);
      } finally {
        this.pending = null;
      }
    })();
    return this.pending;
  }

  /** Verifies a Keycloak access token: RS256 signature from the realm JWKS, issuer, audience, expiry. */
  async verifyAccessToken(token: string): Promise<VerifiedUser> {
    const key = createHash('sha256').update(token).digest('base64');
    const now = this.clock.now();
    const hit = this.verified.get(key);
    if (hit && hit.until > now) return hit.user;
    if (hit) this.verified.delete(key);
    const { user, exp } = await this.verifyUncached(token);
    if (exp !== undefined) {
      if (this.verified.size >= OidcService.MAX_VERIFIED) {
        for (const [k, v] of this.verified) if (v.until <= now) this.verified.delete(k);
        while (this.verified.size >= OidcService.MAX_VERIFIED) this.verified.delete(this.verified.keys().next().value as string);
      }
      this.verified.set(key, { user, until: Math.min(exp * 1000, now + OidcService.VERIFIED_TTL_MS) });
    }
    return user;
  }

  private async verifyUncached(token: string): Promise<{ user: VerifiedUser; exp: number | undefined }> {
    await this.config();
    if (!this.jwks) throw new IdpUnavailableError(new Error('no JWKS'));
    const { payload } = await jwtVerify(token, this.jwks, {
      issuer: this.opts.issuer.href.replace(/\/$/, ''),
      audience: this.opts.audience,
      algorithms: ['RS256'],
      clockTolerance: 5,
      currentDate: clockDate(this.clock),
    });
    // Keycloak marks what a token is for: an ID token (typ ID) carries this client as its audience too, but is no
    // access token; azp names the client it was issued to.
    if (payload['typ'] !== 'Bearer') throw new Error('not an access token (typ)');
    if (typeof payload['azp'] !== 'string' || payload['azp'] === '') throw new Error('access token names no authorized party (azp)');
    if (this.opts.bearerClients && !this.opts.bearerClients.includes(payload['azp'])) throw new Error('access token of a client not allowed here (azp)');
    return { user: userFromClaims(payload), exp: payload.exp };
  }

  async beginLogin(): Promise<{ url: URL; state: string; codeVerifier: string; nonce: string }> {
    const cfg = await this.config();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(cfg, {
      redirect_uri: this.opts.redirectUri,
      scope: 'openid profile',
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url, state, codeVerifier, nonce };
  }

  /** Exchanges the code; the user and roles come from the verified access token, like bearer requests. */
  async completeLogin(
    callbackUrl: URL,
    checks: { state: string; codeVerifier: string; nonce: string },
  ): Promise<{ user: VerifiedUser; idToken: string | null; refreshToken: string | null; sid: string | null }> {
    const cfg = await this.config();
    const tokens = await client.authorizationCodeGrant(cfg, callbackUrl, {
      pkceCodeVerifier: checks.codeVerifier,
      expectedState: checks.state,
      expectedNonce: checks.nonce,
      idTokenExpected: true,
    });
    const user = await this.verifyAccessToken(tokens.access_token);
    const idClaims = tokens.claims();
    if (!idClaims || idClaims.sub !== user.subject) throw new Error('ID token subject does not match the access token');
    const sid = typeof idClaims['sid'] === 'string' ? idClaims['sid'] : null;
    return { user, idToken: tokens.id_token ?? null, refreshToken: tokens.refresh_token ?? null, sid };
  }

  /**
   * Re-checks a signed-in user with the identity provider (refresh token grant): the user as the realm sees them now
   * and the newest refresh token. IdpRefusedError when the realm ended the session or the user lost access;
   * IdpUnavailableError when it cannot be asked.
   */
  async refresh(refreshToken: string): Promise<{ user: VerifiedUser; refreshToken: string | null }> {
    const cfg = await this.config();
    let tokens;
    try {
      tokens = await client.refreshTokenGrant(cfg, refreshToken);
    } catch (err) {
      if (err instanceof client.ResponseBodyError) throw new IdpRefusedError(err.error);
      throw new IdpUnavailableError(err);
    }
    let user: VerifiedUser;
    try {
      user = (await this.verifyUncached(tokens.access_token)).user;
    } catch (err) {
      if (err instanceof IdpUnavailableError) throw err;
      throw new IdpRefusedError('the refreshed access token is not valid');
    }
    return { user, refreshToken: tokens.refresh_token ?? null };
  }

  /**
   * Verifies a logout token (OIDC Back-Channel Logout 1.0 §2.6): signed by the realm's key (JWKS), this client as
   * audience, issued recently, the back-channel logout event, a `sid` or a `sub`, and no `nonce`.
   */
  async verifyLogoutToken(token: string): Promise<LogoutRequest> {
    await this.config();
    if (!this.jwks) throw new IdpUnavailableError(new Error('no JWKS'));
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: this.opts.issuer.href.replace(/\/$/, ''),
        audience: this.opts.clientId,
        algorithms: ['RS256'],
        clockTolerance: 5,
        maxTokenAge: '10 minutes',
        requiredClaims: ['iat', 'jti'],
      }));
    } catch (err) {
      throw new LogoutTokenError('the logout token does not verify', { cause: err });
    }
    const events = payload['events'] as Record<string, unknown> | undefined;
    const event = events && typeof events === 'object' ? events[BACKCHANNEL_LOGOUT_EVENT] : undefined;
    if (!event || typeof event !== 'object' || Array.isArray(event)) throw new LogoutTokenError('the logout token lacks the back-channel logout event');
    if (payload['nonce'] !== undefined) throw new LogoutTokenError('a logout token must not carry a nonce');
    const sid = typeof payload['sid'] === 'string' && payload['sid'] !== '' ? payload['sid'] : null;
    const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : null;
    if (!sid && !sub) throw new LogoutTokenError('the logout token names neither a session (sid) nor a user (sub)');
    const jti = String(payload.jti);
    if (jti.length > 200) throw new LogoutTokenError('the logout token id is too long');
    const expiresAt = new Date(((payload.exp ?? (payload.iat ?? 0) + 600) + 5) * 1000);
    return { sid, sub, jti, expiresAt };
  }

  async endSessionUrl(idToken: string | null): Promise<string> {
    const cfg = await this.config();
    const params: Record<string, string> = { post_logout_redirect_uri: this.opts.postLogoutRedirectUri, client_id: this.opts.clientId };
    if (idToken) params['id_token_hint'] = idToken;
    return client.buildEndSessionUrl(cfg, params).href;
  }

  /** For /readyz: can the realm's discovery document be fetched now? */
  async probe(): Promise<{ status: 'up' | 'down'; detail?: string }> {
    try {
      const res = await this.fetch(new URL(`${this.opts.issuer.href.replace(/\/$/, '')}/.well-known/openid-configuration`), {
        signal: AbortSignal.timeout(3000),
      });
      return res.ok ? { status: 'up' } : { status: 'down', detail: `discovery answered ${res.status}` };
    } catch {
      return { status: 'down', detail: 'discovery unreachable' };
    }
  }
}
