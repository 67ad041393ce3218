import type Provider from 'oidc-provider';
import { errors, type ResourceServer } from 'oidc-provider';
import { profileClaims, type RealmUsers } from './accounts.js';

export interface PasswordGrantOptions {
  users: RealmUsers;
  /** resource indicator every access token is bound to, and its description */
  resource: string;
  resourceServer: ResourceServer;
  supportedScopes: readonly string[];
  /** granted whether asked for or not (Keycloak's default client scopes) */
  defaultScopes: readonly string[];
  /** acr of a password authentication */
  acr: string;
}

interface PasswordGrantParams {
  username?: string;
  password?: string;
}

/**
 * Keycloak's direct-access grant (RFC 6749 §4.3, `grant_type=password`), which oidc-provider does not ship.
 * Answers like Keycloak: access token (JWT), refresh token, and an ID token when `openid` is asked for;
 * bad credentials are a 401 `invalid_grant` "Invalid user credentials".
 */
export function registerPasswordGrant(provider: Provider, o: PasswordGrantOptions): void {
  provider.registerGrantType<PasswordGrantParams>(
    'password',
    async (ctx) => {
      const { client, params } = ctx.oidc;
      const { username, password } = params;
      if (!username || !password) {
        throw new errors.InvalidRequest('missing required parameter(s) (username, password)');
      }
      const user = o.users.authenticate(username, password);
      if (!user) {
        ctx.status = 401;
        ctx.body = { error: 'invalid_grant', error_description: 'Invalid user credentials' };
        return;
      }

      const requested = new Set(String(params.scope ?? '').split(' '));
      const scope = o.supportedScopes.filter((s) => requested.has(s) || o.defaultScopes.includes(s)).join(' ');
      const grant = new provider.Grant({ accountId: user.id, clientId: client.clientId });
      if (scope) {
        grant.addOIDCScope(scope);
        grant.addResourceScope(o.resource, scope);
      }
      const grantId = await grant.save();
      const authTime = Math.floor(Date.now() / 1000);

      const at = new provider.AccessToken({
        accountId: user.id,
        client,
        grantId,
        gty: 'password',
        scope,
        resourceServer: new provider.ResourceServer(o.resource, o.resourceServer),
      });
      const accessToken = await at.save();

      const rt = new provider.RefreshToken({
        accountId: user.id,
        client,
        grantId,
        gty: 'password',
        scope,
        resource: o.resource,
        acr: o.acr,
        amr: ['pwd'],
        authTime,
        expiresWithSession: false,
        rotations: 0,
      });
      const refreshToken = client.grantTypeAllowed('refresh_token') ? await rt.save() : undefined;

      let idToken: string | undefined;
      if (requested.has('openid')) {
        const token = new provider.IdToken({ ...profileClaims(user), typ: 'ID', azp: client.clientId }, { ctx });
        // IdToken masks the claims it was given by this scope (not part of the published typings).
        Object.assign(token, { scope });
        token.set('acr', o.acr);
        token.set('auth_time', authTime);
        token.set('at_hash', accessToken);
        idToken = await token.issue({ use: 'idtoken' });
      }

      ctx.body = {
        access_token: accessToken,
        expires_in: at.expiration,
        ...(refreshToken ? { refresh_token: refreshToken, refresh_expires_in: rt.expiration } : {}),
        token_type: 'Bearer',
        ...(idToken ? { id_token: idToken } : {}),
        scope,
      };
    },
    ['username', 'password', 'scope'],
  );
}
