/**
 * The one definition of the `kyc` realm. Both the development/test identity provider (server.ts) and the
 * Keycloak realm export (keycloak-realm-export.ts) are derived from it, so the realm an institution imports
 * into Keycloak and the one every test runs against cannot drift apart.
 */

export const REALM_NAME = 'kyc';

/** The appliance's own (confidential) client: browser sign-in and the audience of every API token. */
export const APPLIANCE_CLIENT_ID = 'kyc-appliance';

/** Public client for scripts and tests (direct-access grant); only ever exists in test realms. */
export const CLI_CLIENT_ID = 'kyc-cli';

/** Where the identity provider sends the browser back to, relative to the appliance's public URL. */
export const APPLIANCE_CALLBACK_PATH = '/auth/callback';
export const APPLIANCE_POST_LOGOUT_PATH = '/';
/** Where the identity provider posts logout tokens (OIDC Back-Channel Logout 1.0), relative to the public URL. */
export const APPLIANCE_BACKCHANNEL_LOGOUT_PATH = '/auth/backchannel-logout';

/** The appliance's URL in development (`make dev`) and the one the committed realm exports are made for. */
export const DEV_APPLIANCE_URL = 'https://127.0.0.1:8443';

export const ROLES = ['teller', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface RealmRole {
  name: Role;
  description: string;
}

export interface RealmUser {
  /** Keycloak user id; becomes the `sub` of every token, so it is fixed here rather than generated. */
  id: string;
  username: string;
  firstName: string;
  lastName: string;
  email: string;
  roles: readonly Role[];
  /** Keycloak user attribute `branch` (a teller's branch; new cases take it), mapped into every token */
  branch: string | null;
}

/** A user of development and test realms only. The password exists nowhere else. */
export interface DevUser extends RealmUser {
  password: string;
}

export interface RealmClient {
  clientId: string;
  name: string;
  description: string;
  /** false = confidential: authenticates at the token endpoint with a client secret */
  publicClient: boolean;
  /** authorization code flow (Keycloak "Standard flow") */
  standardFlow: boolean;
  /** resource-owner password grant (Keycloak "Direct access grants") */
  directAccessGrants: boolean;
  /** PKCE method the identity provider insists on for the authorization code flow */
  pkce: 'S256' | undefined;
  redirectUris: readonly string[];
  postLogoutRedirectUris: readonly string[];
  /** OIDC Back-Channel Logout URL (Keycloak: "Backchannel logout URL", session required), or null */
  backchannelLogoutUrl: string | null;
  /** Added to the `aud` of access tokens issued to this client (Keycloak: an oidc-audience-mapper). */
  accessTokenAudiences: readonly string[];
  /** Present only in test realms (never in the production export). */
  testOnly: boolean;
}

/** Token and session lifetimes, in seconds, with Keycloak's names and defaults. */
export interface RealmLifespans {
  accessTokenLifespan: number;
  accessCodeLifespan: number;
  accessCodeLifespanLogin: number;
  ssoSessionIdleTimeout: number;
  ssoSessionMaxLifespan: number;
}

export interface RealmDefinition {
  /** Also what Keycloak shows as the realm's name ("Sign in to kyc"), since no display name is set. */
  name: string;
  roles: readonly RealmRole[];
  clients: readonly RealmClient[];
  users: readonly DevUser[];
  lifespans: RealmLifespans;
}

export interface RealmOptions {
  /** The appliance's public base URL, e.g. `https://127.0.0.1:8443`; redirect URIs are derived from it. */
  applianceUrl: string;
}

/**
 * What Keycloak gives every user of a realm on top of its own roles (the realm's `default-roles-kyc`
 * composite, created on import). Mirrored by the dev IdP so that code reading `realm_access.roles`,
 * `resource_access` and `aud` meets the same extra values it will meet against a real Keycloak.
 */
export const KEYCLOAK_IMPLICIT_GRANTS = {
  realmRoles: [`default-roles-${REALM_NAME}`, 'offline_access', 'uma_authorization'],
  accountClientRoles: ['manage-account', 'manage-account-links', 'view-profile'],
  accountClientId: 'account',
} as const;

const DEV_USERS: readonly DevUser[] = [
  {
    id: 'a11e7b07-2ca7-4b1c-9598-e11478300760',
    username: 'teller1',
    password: 'teller1',
    firstName: 'Tina',
    lastName: 'Teller',
    email: 'teller1@kyc.example',
    roles: ['teller'],
    branch: '北京分行营业部',
  },
  {
    id: '7729b7c3-b63b-4d4f-a6a1-2c84d196a897',
    username: 'teller2',
    password: 'teller2',
    firstName: 'Tom',
    lastName: 'Teller',
    email: 'teller2@kyc.example',
    roles: ['teller'],
    branch: '上海分行营业部',
  },
  {
    id: 'c70c32ca-7474-4938-9f13-3182f5ab94a8',
    username: 'auditor1',
    password: 'auditor1',
    firstName: 'Alma',
    lastName: 'Auditor',
    email: 'auditor1@kyc.example',
    roles: ['auditor'],
    branch: null,
  },
  {
    id: 'ae4af640-c88b-4ab4-9d7f-430b8f04a1d1',
    username: 'admin1',
    password: 'admin1',
    firstName: 'Ada',
    lastName: 'Admin',
    email: 'admin1@kyc.example',
    roles: ['admin'],
    branch: null,
  },
  {
    // holds both roles, so maker-checker is tested against a person rather than a role
    id: '5b0e8f3c-6d2a-4f1e-9c7b-2a4d8e6f1b39',
    username: 'teller_auditor1',
    password: 'teller_auditor1',
    firstName: 'Tao',
    lastName: 'Dual',
    email: 'teller_auditor1@kyc.example',
    roles: ['teller', 'auditor'],
    branch: '北京分行营业部',
  },
];

/** The appliance URL without a trailing slash; rejects anything that is not an absolute http(s) origin. */
export function normaliseApplianceUrl(applianceUrl: string): string {
  const url = URL.parse(applianceUrl);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
    throw new TypeError(`appliance URL must be an absolute http(s) URL without query or fragment: ${applianceUrl}`);
  }
  return url.href.replace(/\/+$/, '');
}

export function realmDefinition({ applianceUrl }: RealmOptions): RealmDefinition {
  const base = normaliseApplianceUrl(applianceUrl);
  return {
    name: REALM_NAME,
    roles: [
      { name: 'teller', description: 'Holds recorded video sessions with customers (柜员/坐席)' },
      { name: 'auditor', description: 'Searches, replays and approves or rejects recorded cases (审核/稽核)' },
      { name: 'admin', description: 'Operates the appliance: configuration, users of the appliance, retention' },
    ],
    clients: [
      {
        clientId: APPLIANCE_CLIENT_ID,
        name: 'KYC appliance',
        description: 'Video-KYC and dual-recording appliance (server-side sign-in)',
        publicClient: false,
        standardFlow: true,
        directAccessGrants: false,
        pkce: 'S256',
        redirectUris: [`${base}${APPLIANCE_CALLBACK_PATH}`],
        postLogoutRedirectUris: [`${base}${APPLIANCE_POST_LOGOUT_PATH}`],
        backchannelLogoutUrl: `${base}${APPLIANCE_BACKCHANNEL_LOGOUT_PATH}`,
        accessTokenAudiences: [APPLIANCE_CLIENT_ID],
        testOnly: false,
      },
      {
        clientId: CLI_CLIENT_ID,
        name: 'KYC test scripts',
        description: 'Direct-access grant for scripts and automated tests; test realms only',
        publicClient: true,
        standardFlow: false,
        directAccessGrants: true,
        pkce: undefined,
        redirectUris: [],
        postLogoutRedirectUris: [],
        backchannelLogoutUrl: null,
        accessTokenAudiences: [APPLIANCE_CLIENT_ID],
        testOnly: true,
      },
    ],
    users: DEV_USERS,
    lifespans: {
      accessTokenLifespan: 300,
      accessCodeLifespan: 60,
      accessCodeLifespanLogin: 1800,
      ssoSessionIdleTimeout: 1800,
      ssoSessionMaxLifespan: 36000,
    },
  };
}
