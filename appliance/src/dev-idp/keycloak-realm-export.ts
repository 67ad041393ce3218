import { fileURLToPath } from 'node:url';
import type { RealmClient, RealmDefinition, DevUser } from './realm.js';

/** The parts of Keycloak's RealmRepresentation (Keycloak 26 import format) that the `kyc` realm sets. */
export interface KeycloakRealmExport {
  realm: string;
  enabled: true;
  sslRequired: 'external';
  registrationAllowed: false;
  resetPasswordAllowed: false;
  rememberMe: false;
  bruteForceProtected: true;
  defaultSignatureAlgorithm: 'RS256';
  accessTokenLifespan: number;
  accessCodeLifespan: number;
  accessCodeLifespanLogin: number;
  ssoSessionIdleTimeout: number;
  ssoSessionMaxLifespan: number;
  roles: { realm: KeycloakRole[] };
  clients: KeycloakClient[];
  /** the declarative user profile (Keycloak 24+ drops attributes it does not declare, such as `branch`) */
  components: { [USER_PROFILE_PROVIDER]: KeycloakUserProfileComponent[] };
  users?: KeycloakUser[];
}

export const USER_PROFILE_PROVIDER = 'org.keycloak.userprofile.UserProfileProvider';

export interface KeycloakUserProfileComponent {
  providerId: 'declarative-user-profile';
  subComponents: Record<string, never>;
  /** Keycloak keeps the profile as JSON text in a one-element list */
  config: { 'kc.user.profile.config': [string] };
}

/** One attribute of Keycloak's user-profile configuration (UPConfig). */
export interface UserProfileAttribute {
  name: string;
  displayName: string;
  permissions: { view: string[]; edit: string[] };
  validations: Record<string, Record<string, unknown>>;
  required?: { roles: string[] };
  multivalued: boolean;
  group?: string;
}

export interface UserProfileConfig {
  attributes: UserProfileAttribute[];
  groups: Array<{ name: string; displayHeader: string; displayDescription: string }>;
}

export interface KeycloakRole {
  name: string;
  description: string;
  composite: false;
  clientRole: false;
}

export interface KeycloakProtocolMapper {
  name: string;
  protocol: 'openid-connect';
  protocolMapper: 'oidc-audience-mapper' | 'oidc-usermodel-attribute-mapper';
  consentRequired: false;
  config: Record<string, string>;
}

export interface KeycloakClient {
  clientId: string;
  name: string;
  description: string;
  enabled: true;
  protocol: 'openid-connect';
  publicClient: boolean;
  clientAuthenticatorType?: 'client-secret';
  standardFlowEnabled: boolean;
  implicitFlowEnabled: false;
  directAccessGrantsEnabled: boolean;
  serviceAccountsEnabled: false;
  consentRequired: false;
  frontchannelLogout: false;
  redirectUris: string[];
  webOrigins: string[];
  attributes: Record<string, string>;
  protocolMappers: KeycloakProtocolMapper[];
}

export interface KeycloakUser {
  id: string;
  username: string;
  enabled: true;
  emailVerified: true;
  firstName: string;
  lastName: string;
  email: string;
  realmRoles: string[];
  attributes?: Record<string, string[]>;
  credentials: { type: 'password'; value: string; temporary: false }[];
}

export interface RealmExportOptions {
  /** Test realms: adds the `kyc-cli` client and the development users with their passwords. */
  includeTestClient: boolean;
}

/** Keycloak stores several post-logout redirect URIs in one client attribute, separated by `##`. */
const KEYCLOAK_URI_LIST_SEPARATOR = '##';

function audienceMapper(audience: string): KeycloakProtocolMapper {
  return {
    name: `audience ${audience}`,
    protocol: 'openid-connect',
    protocolMapper: 'oidc-audience-mapper',
    consentRequired: false,
    config: {
      'included.client.audience': audience,
      'id.token.claim': 'false',
      'access.token.claim': 'true',
      'introspection.token.claim': 'true',
    },
  };
}

function exportClient(client: RealmClient): KeycloakClient {
  const attributes: Record<string, string> = {};
  if (client.pkce) attributes['pkce.code.challenge.method'] = client.pkce;
  if (client.backchannelLogoutUrl) {
    attributes['backchannel.logout.url'] = client.backchannelLogoutUrl;
    attributes['backchannel.logout.session.required'] = 'true';
    attributes['backchannel.logout.revoke.offline.tokens'] = 'false';
  }
  if (client.postLogoutRedirectUris.length > 0) {
    attributes['post.logout.redirect.uris'] = client.postLogoutRedirectUris.join(KEYCLOAK_URI_LIST_SEPARATOR);
  }
  return {
    clientId: client.clientId,
    name: client.name,
    description: client.description,
    enabled: true,
    protocol: 'openid-connect',
    publicClient: client.publicClient,
    ...(client.publicClient ? {} : { clientAuthenticatorType: 'client-secret' as const }),
    standardFlowEnabled: client.standardFlow,
    implicitFlowEnabled: false,
    directAccessGrantsEnabled: client.directAccessGrants,
    serviceAccountsEnabled: false,
    consentRequired: false,
    frontchannelLogout: false,
    redirectUris: [...client.redirectUris],
    webOrigins: [],
    attributes,
    protocolMappers: [...client.accessTokenAudiences.map(audienceMapper), BRANCH_MAPPER],
  };
}

/** The user attribute `branch` as a claim of ID, access and userinfo tokens (a teller's new cases take it). */
const BRANCH_MAPPER: KeycloakProtocolMapper = {
  name: 'branch',
  protocol: 'openid-connect',
  protocolMapper: 'oidc-usermodel-attribute-mapper',
  consentRequired: false,
  config: {
    'user.attribute': 'branch',
    'claim.name': 'branch',
    'jsonType.label': 'String',
    'id.token.claim': 'true',
    'access.token.claim': 'true',
    'userinfo.token.claim': 'true',
  },
};

/**
 * The realm's user profile: Keycloak 26's four built-in attributes as it ships them, and `branch` — read by
 * everyone who may see the user, written by realm administrators only (a teller cannot move to another branch).
 * Without this declaration Keycloak 26 silently drops `branch` on import and on every update, and tokens carry no
 * branch claim.
 */
export function userProfileConfig(): UserProfileConfig {
  const both = { view: ['admin', 'user'], edit: ['admin', 'user'] };
  const name = (n: 'firstName' | 'lastName', label: string): UserProfileAttribute => ({
    name: n,
    displayName: label,
    permissions: both,
    validations: { length: { max: 255 }, 'person-name-prohibited-characters': {} },
    required: { roles: ['user'] },
    multivalued: false,
  });
  return {
    attributes: [
      {
        name: 'username',
        displayName: '${username}',
        permissions: both,
        validations: { length: { min: 3, max: 255 }, 'username-prohibited-characters': {}, 'up-username-not-idn-homograph': {} },
        multivalued: false,
      },
      { name: 'email', displayName: '${email}', permissions: both, validations: { email: {}, length: { max: 255 } }, required: { roles: ['user'] }, multivalued: false },
      name('firstName', '${firstName}'),
      name('lastName', '${lastName}'),
      {
        name: 'branch',
        displayName: 'Branch',
        permissions: { view: ['admin', 'user'], edit: ['admin'] },
        validations: { length: { min: 1, max: 100 } },
        multivalued: false,
        group: 'user-metadata',
      },
    ],
    groups: [{ name: 'user-metadata', displayHeader: 'User metadata', displayDescription: 'Attributes, which refer to user metadata' }],
  };
}

function exportUser(user: DevUser): KeycloakUser {
  return {
    id: user.id,
    username: user.username,
    enabled: true,
    // Keycloak 26's user profile requires these; without them the first sign-in stops at "update profile".
    emailVerified: true,
    firstName: user.firstName,
    lastName: user.lastName,
    email: user.email,
    realmRoles: [...user.roles],
    ...(user.branch ? { attributes: { branch: [user.branch] } } : {}),
    credentials: [{ type: 'password', value: user.password, temporary: false }],
  };
}

/**
 * The realm as JSON for Keycloak 26 (`kc.sh import` or the admin console's "Create realm" upload).
 * The production variant has no users and no test client; the confidential client's secret is left out
 * so that Keycloak generates one on import.
 */
export function keycloakRealmExport(realm: RealmDefinition, options: RealmExportOptions): KeycloakRealmExport {
  const clients = realm.clients.filter((c) => options.includeTestClient || !c.testOnly).map(exportClient);
  return {
    realm: realm.name,
    enabled: true,
    sslRequired: 'external',
    registrationAllowed: false,
    resetPasswordAllowed: false,
    rememberMe: false,
    bruteForceProtected: true,
    defaultSignatureAlgorithm: 'RS256',
    ...realm.lifespans,
    roles: {
      realm: realm.roles.map((r) => ({ name: r.name, description: r.description, composite: false, clientRole: false })),
    },
    clients,
    components: {
      [USER_PROFILE_PROVIDER]: [{ providerId: 'declarative-user-profile', subComponents: {}, config: { 'kc.user.profile.config': [JSON.stringify(userProfileConfig())] } }],
    },
    ...(options.includeTestClient ? { users: realm.users.map(exportUser) } : {}),
  };
}

/** The file form: stable key order, two-space indent, trailing newline (what is committed). */
export function serialiseRealmExport(realmExport: KeycloakRealmExport): string {
  return `${JSON.stringify(realmExport, null, 2)}\n`;
}

/** appliance/keycloak/, reached the same way from src/dev-idp/ and from dist/dev-idp/. */
export const COMMITTED_EXPORT_DIR = fileURLToPath(new URL('../../keycloak/', import.meta.url));

export interface RealmExportFile {
  /** file name inside appliance/keycloak/ */
  name: string;
  content: string;
}

/** Both committed exports: `realm-kyc.json` (production) and `realm-kyc-test.json` (test realms). */
export function realmExportFiles(realm: RealmDefinition): RealmExportFile[] {
  return [
    { name: 'realm-kyc.json', content: serialiseRealmExport(keycloakRealmExport(realm, { includeTestClient: false })) },
    { name: 'realm-kyc-test.json', content: serialiseRealmExport(keycloakRealmExport(realm, { includeTestClient: true })) },
  ];
}
