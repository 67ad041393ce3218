import Provider, { errors, interactionPolicy } from 'oidc-provider';
import type { ClientMetadata, Configuration, KoaContextWithOIDC, ResourceServer } from 'oidc-provider';
import { PASSWORD_ACR, accessTokenAudience, keycloakAccessTokenClaims, profileClaims, type RealmUsers } from './accounts.js';
import type { SigningKeys } from './keys.js';
import { renderLogoutPage, renderMessagePage } from './pages.js';
import { registerPasswordGrant } from './password-grant.js';
import { APPLIANCE_CLIENT_ID, type RealmClient, type RealmDefinition } from './realm.js';

/** Keycloak's endpoint layout below the issuer (`<base>/realms/<realm>`). */
export const KEYCLOAK_ROUTES = {
  authorization: '/protocol/openid-connect/auth',
  token: '/protocol/openid-connect/token',
  jwks: '/protocol/openid-connect/certs',
  userinfo: '/protocol/openid-connect/userinfo',
  end_session: '/protocol/openid-connect/logout',
  revocation: '/protocol/openid-connect/revoke',
  pushed_authorization_request: '/protocol/openid-connect/ext/par/request',
  loginActions: '/login-actions/authenticate',
} as const;

/**
 * Keycloak issues one kind of access token: a JWT for the realm, whatever the client asks for. oidc-provider
 * issues JWT access tokens only for a resource server, so every request is bound to this one (never seen by
 * clients: the `aud` claim is rewritten per client below).
 */
const REALM_TOKEN_RESOURCE = 'urn:kyc:keycloak-realm-access-token';

/** Scopes Keycloak grants by default (its default client scopes); the access token's `scope` lists them. */
const DEFAULT_CLIENT_SCOPES = ['profile', 'email'] as const;
const SUPPORTED_SCOPES = ['openid', 'offline_access', ...DEFAULT_CLIENT_SCOPES];
const PROFILE_CLAIMS = ['preferred_username', 'name', 'given_name', 'family_name'];
const EMAIL_CLAIMS = ['email', 'email_verified'];

export interface KeycloakProviderOptions {
  issuer: string;
  realm: RealmDefinition;
  users: RealmUsers;
  /** secret of the confidential appliance client */
  clientSecret: string;
  keys: SigningKeys;
  /** keys that sign the provider's cookies */
  cookieKeys: Buffer[];
  /** how the provider calls out (back-channel logout to the appliance): trusting the appliance's CA */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

function clientMetadata(client: RealmClient, clientSecret: string): ClientMetadata {
  const grantTypes = [...(client.standardFlow ? ['authorization_code'] : []), ...(client.directAccessGrants ? ['password'] : []), 'refresh_token'];
  return {
    client_id: client.clientId,
    client_name: client.name,
    ...(client.publicClient ? { token_endpoint_auth_method: 'none' } : { client_secret: clientSecret, token_endpoint_auth_method: 'client_secret_basic' }),
    grant_types: grantTypes,
    response_types: client.standardFlow ? ['code'] : [],
    redirect_uris: [...client.redirectUris],
    post_logout_redirect_uris: [...client.postLogoutRedirectUris],
    ...(client.backchannelLogoutUrl ? { backchannel_logout_uri: client.backchannelLogoutUrl, backchannel_logout_session_required: true } : {}),
  };
}

/** The realm's single resource server: JWT access tokens signed RS256 with the realm key. */
function realmResourceServer(realm: RealmDefinition): ResourceServer {
  return {
    scope: SUPPORTED_SCOPES.join(' '),
    audience: APPLIANCE_CLIENT_ID,
    accessTokenFormat: 'jwt',
    accessTokenTTL: realm.lifespans.accessTokenLifespan,
    jwt: { sign: { alg: 'RS256' } },
  };
}

/**
 * First-party clients in Keycloak never show a consent screen: every requested scope the provider knows is
 * granted, both as OpenID Connect scope and for the realm token resource.
 */
async function grantRequestedScopes(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const accountId = oidc.session?.accountId;
  if (!accountId || !oidc.client) return undefined;
  const existingId = oidc.session?.grantIdFor(oidc.client.clientId);
  const grant = (existingId ? await oidc.provider.Grant.find(existingId) : undefined) ?? new oidc.provider.Grant({ accountId, clientId: oidc.client.clientId });
  const requested = [...oidc.requestParamScopes].filter((s) => SUPPORTED_SCOPES.includes(s)).join(' ');
  if (requested) {
    grant.addOIDCScope(requested);
    grant.addResourceScope(REALM_TOKEN_RESOURCE, requested);
  }
  await grant.save();
  return grant;
}

export function createKeycloakProvider(o: KeycloakProviderOptions): Provider {
  const { realm, users } = o;
  const clientsById = new Map(realm.clients.map((c) => [c.clientId, c]));
  const resourceServer = realmResourceServer(realm);

  const policy = interactionPolicy.base();
  policy.remove('consent');

  const loginActionsPath = `${new URL(o.issuer).pathname}${KEYCLOAK_ROUTES.loginActions}`;

  const configuration: Configuration = {
    clients: realm.clients.map((c) => clientMetadata(c, o.clientSecret)),
    jwks: o.keys,
    cookies: { keys: o.cookieKeys },
    routes: {
      authorization: KEYCLOAK_ROUTES.authorization,
      token: KEYCLOAK_ROUTES.token,
      jwks: KEYCLOAK_ROUTES.jwks,
      userinfo: KEYCLOAK_ROUTES.userinfo,
      end_session: KEYCLOAK_ROUTES.end_session,
      revocation: KEYCLOAK_ROUTES.revocation,
      pushed_authorization_request: KEYCLOAK_ROUTES.pushed_authorization_request,
    },
    // oidc-provider's own userinfo refuses its JWT access tokens; server.ts serves the endpoint instead.
    discovery: { userinfo_endpoint: `${o.issuer}${KEYCLOAK_ROUTES.userinfo}` },
    responseTypes: ['code'],
    scopes: SUPPORTED_SCOPES,
    // Keycloak's default client scopes put profile and e-mail into every ID token, asked for or not.
    claims: {
      openid: ['sub', 'typ', 'azp', ...PROFILE_CLAIMS, ...EMAIL_CLAIMS, 'branch'],
      profile: PROFILE_CLAIMS,
      email: EMAIL_CLAIMS,
      acr: null,
      sid: null,
      auth_time: null,
      iss: null,
    },
    async findAccount(ctx, sub) {
      const user = users.byId(sub);
      if (!user) return undefined;
      return {
        accountId: user.id,
        claims: (use) => ({
          ...profileClaims(user),
          ...(use === 'id_token' ? { typ: 'ID', azp: ctx.oidc.client?.clientId } : {}),
        }),
      };
    },
    loadExistingGrant: grantRequestedScopes,
    interactions: {
      policy,
      url: (_ctx, interaction) => `${loginActionsPath}/${interaction.uid}`,
    },
    pkce: {
      required: (_ctx, client) => client.clientAuthMethod === 'none' || clientsById.get(client.clientId)?.pkce === 'S256',
    },
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    extraTokenClaims(_ctx, token) {
      if (!('accountId' in token) || typeof token.accountId !== 'string' || !token.clientId) return undefined;
      const user = users.byId(token.accountId);
      if (!user) return undefined;
      return { ...keycloakAccessTokenClaims(user, token.clientId, token.sid) };
    },
    formats: {
      customizers: {
        jwt(_ctx, token, jwt) {
          // Keycloak writes typ JWT, not RFC 9068's at+jwt: the appliance must meet the header a real realm sends.
          jwt.header = { ...jwt.header, typ: 'JWT' };
          const client = token.clientId ? clientsById.get(token.clientId) : undefined;
          jwt.payload.aud = accessTokenAudience(client?.accessTokenAudiences ?? []);
          const scope = new Set([
            ...String(jwt.payload.scope ?? '')
              .split(' ')
              .filter(Boolean),
            ...DEFAULT_CLIENT_SCOPES,
          ]);
          jwt.payload.scope = [...scope].join(' ');
        },
      },
    },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: false },
      // It would answer active:false for the JWT access tokens (they are not stored); not offered rather than wrong.
      introspection: { enabled: false },
      revocation: { enabled: true },
      // Keycloak posts a logout token to each client's back-channel logout URL when a session ends
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = renderLogoutPage(realm.name, form);
        },
        postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = renderMessagePage(realm.name, 'You are logged out', 'You are logged out.');
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => REALM_TOKEN_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo(_ctx, indicator) {
          if (indicator !== REALM_TOKEN_RESOURCE) throw new errors.InvalidTarget();
          return resourceServer;
        },
      },
    },
    ttl: {
      AccessToken: realm.lifespans.accessTokenLifespan,
      IdToken: realm.lifespans.accessTokenLifespan,
      AuthorizationCode: realm.lifespans.accessCodeLifespan,
      Interaction: realm.lifespans.accessCodeLifespanLogin,
      RefreshToken: realm.lifespans.ssoSessionIdleTimeout,
      Session: realm.lifespans.ssoSessionMaxLifespan,
      Grant: realm.lifespans.ssoSessionMaxLifespan,
    },
    clientBasedCORS: () => false,
    ...(o.fetch
      ? {
          fetch: (url: string | URL | Request, options: RequestInit = {}) => {
            // oidc-provider's dispatcher refuses loopback and private addresses; the appliance sits on one in development
            const { dispatcher: _ignored, ...rest } = options as RequestInit & { dispatcher?: unknown };
            return o.fetch!(url instanceof Request ? url.url : String(url), rest);
          },
        }
      : {}),
    async renderError(ctx, out) {
      ctx.type = 'html';
      const detail = out.error_description ? `${out.error}: ${out.error_description}` : out.error;
      ctx.body = renderMessagePage(realm.name, 'We are sorry...', detail);
    },
  };

  const provider = new Provider(o.issuer, configuration);
  registerPasswordGrant(provider, {
    users,
    resource: REALM_TOKEN_RESOURCE,
    resourceServer,
    supportedScopes: SUPPORTED_SCOPES,
    defaultScopes: DEFAULT_CLIENT_SCOPES,
    acr: PASSWORD_ACR,
  });
  return provider;
}
