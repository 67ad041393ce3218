// Who is calling, as the services see it: the HTTP layer (http/auth.ts) resolves it from a bearer token or a
// sign-in cookie and hands it to the services, which need nothing of the request beyond it.

export const ROLES = ['teller', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type AuthMethod = 'session' | 'bearer';

export interface Principal {
  subject: string;
  username: string;
  roles: Role[];
  /** the user's branch from the identity provider (null when the realm gives none) */
  branch: string | null;
  auth: AuthMethod;
  /** SHA-256 of the session id, for cookie sessions */
  sessionIdHash: Buffer | null;
  /** for cookie sessions: the token state-changing requests must echo in the x-csrf-token header */
  csrfToken: string | null;
}
