import { createHash, timingSafeEqual } from 'node:crypto';
import { KEYCLOAK_IMPLICIT_GRANTS, type DevUser, type RealmDefinition } from './realm.js';

/** OpenID Connect profile and email claims, as Keycloak's default `profile` and `email` client scopes map them. */
export interface ProfileClaims {
  sub: string;
  preferred_username: string;
  name: string;
  given_name: string;
  family_name: string;
  email: string;
  email_verified: boolean;
  /** Keycloak user attribute mapper `branch` (present when the user has one) */
  branch?: string;
}

/** The Keycloak-specific part of an access token (RFC 9068 claims are set by oidc-provider). */
export interface KeycloakAccessTokenClaims extends Omit<ProfileClaims, 'sub'> {
  typ: 'Bearer';
  azp: string;
  sid?: string;
  acr: string;
  realm_access: { roles: string[] };
  resource_access: Record<string, { roles: string[] }>;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The realm's users: look-up by id (token subject) and by the login name a person types. */
export class RealmUsers {
  readonly #byId: Map<string, DevUser>;
  readonly #users: readonly DevUser[];

  constructor(realm: RealmDefinition) {
    this.#users = realm.users;
    this.#byId = new Map(realm.users.map((u) => [u.id, u]));
  }

  byId(id: string): DevUser | undefined {
    return this.#byId.get(id);
  }

  /**
   * Like Keycloak: the login name is the username (case-insensitive) or the e-mail address.
   * Compares digests in constant time so that a wrong password takes as long as a right one.
   */
  authenticate(login: string, password: string): DevUser | undefined {
    const name = login.trim().toLowerCase();
    const user = this.#users.find((u) => u.username === name || u.email.toLowerCase() === name);
    const expected = digest(user?.password ?? '\u0000no such user');
    const ok = timingSafeEqual(expected, digest(password));
    return ok && user ? user : undefined;
  }
}

export function profileClaims(user: DevUser): ProfileClaims {
  return {
    sub: user.id,
    preferred_username: user.username,
    name: `${user.firstName} ${user.lastName}`,
    given_name: user.firstName,
    family_name: user.lastName,
    email: user.email,
    email_verified: true,
    ...(user.branch ? { branch: user.branch } : {}),
  };
}

/** Keycloak's "1": authenticated by a password in this session. */
export const PASSWORD_ACR = '1';

export function keycloakAccessTokenClaims(user: DevUser, clientId: string, sid: string | undefined): KeycloakAccessTokenClaims {
  const { sub: _sub, ...profile } = profileClaims(user);
  return {
    typ: 'Bearer',
    azp: clientId,
    ...(sid ? { sid } : {}),
    acr: PASSWORD_ACR,
    realm_access: { roles: [...user.roles, ...KEYCLOAK_IMPLICIT_GRANTS.realmRoles] },
    resource_access: {
      [KEYCLOAK_IMPLICIT_GRANTS.accountClientId]: { roles: [...KEYCLOAK_IMPLICIT_GRANTS.accountClientRoles] },
    },
    ...profile,
  };
}

/**
 * `aud` of an access token issued to a client: its configured audiences (Keycloak's audience mappers) and
 * `account`, which Keycloak adds because every token carries roles of its `account` client. A single value is
 * a string, several an array, as Keycloak writes it.
 */
export function accessTokenAudience(clientAudiences: readonly string[]): string | string[] {
  const aud = [...new Set([...clientAudiences, KEYCLOAK_IMPLICIT_GRANTS.accountClientId])];
  return aud.length === 1 ? (aud[0] as string) : aud;
}
