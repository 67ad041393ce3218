import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { profileClaims, type RealmUsers } from './accounts.js';
import type { PublicJwk } from './keys.js';

export interface UserinfoOptions {
  issuer: string;
  jwks: { keys: PublicJwk[] };
  users: RealmUsers;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

function invalidToken(res: ServerResponse, description: string): void {
  sendJson(
    res,
    401,
    { error: 'invalid_token', error_description: description },
    {
      'www-authenticate': `Bearer error="invalid_token", error_description="${description}"`,
    },
  );
}

/**
 * Keycloak's userinfo endpoint for the realm's own JWT access tokens (oidc-provider only accepts its opaque
 * ones there): any unexpired token signed by the realm key, for any client, answers with the profile claims.
 */
export function createUserinfoHandler(o: UserinfoOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const keySet = createLocalJWKSet(o.jwks);
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'POST') {
      sendJson(res, 405, { error: 'invalid_request', error_description: 'method not allowed' }, { allow: 'GET, POST' });
      return;
    }
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(req.headers.authorization ?? '');
    if (!match?.[1]) {
      invalidToken(res, 'Missing bearer token');
      return;
    }
    let sub: string | undefined;
    try {
      const { payload } = await jwtVerify(match[1], keySet, { issuer: o.issuer, algorithms: ['RS256'] });
      sub = payload.sub;
    } catch {
      invalidToken(res, 'Token verification failed');
      return;
    }
    const user = sub ? o.users.byId(sub) : undefined;
    if (!user) {
      invalidToken(res, 'User not found');
      return;
    }
    sendJson(res, 200, profileClaims(user));
  };
}
