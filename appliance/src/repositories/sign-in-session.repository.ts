import type { Queryable } from '../db/database.js';

export interface StoredSignInSession {
  subject: string;
  username: string;
  roles: string[];
  branch: string | null;
  idToken: string | null;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  /** the identity provider's session id (`sid` of the ID token), for back-channel logout */
  idpSid: string | null;
  /** the refresh token, encrypted and bound to this session (re-checks with the identity provider) */
  refreshTokenEnc: Buffer | null;
  /** when the user was last re-checked with the identity provider */
  idpCheckedAt: Date;
}

/** Which sign-in sessions to end: those of one identity-provider session, one subject or one user name. */
export type SignInSessionFilter = { idpSid: string; subject?: string } | { subject: string } | { username: string };

export interface LoginState {
  codeVerifier: string;
  nonce: string;
  returnTo: string;
}

export const signInSessionRepository = {
  async create(
    db: Queryable,
    idHash: Buffer,
    s: Omit<StoredSignInSession, 'createdAt' | 'lastSeenAt' | 'idpCheckedAt' | 'idpSid' | 'refreshTokenEnc'> & Partial<Pick<StoredSignInSession, 'idpSid' | 'refreshTokenEnc'>>,
    /** when it starts (created, last seen and checked with the identity provider) */
    now: Date,
  ): Promise<void> {
    await db.query(
      `INSERT INTO web_sessions (id_hash, subject, username, roles, branch, id_token, expires_at, idp_sid, refresh_token_enc, created_at, last_seen_at, idp_checked_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10)`,
      [idHash, s.subject, s.username, s.roles, s.branch, s.idToken, s.expiresAt, s.idpSid ?? null, s.refreshTokenEnc ?? null, now],
    );
  },

  /** After a re-check with the identity provider: the roles it gives now and its newest refresh token. */
  async rechecked(db: Queryable, idHash: Buffer, s: { roles: string[]; branch: string | null; refreshTokenEnc: Buffer | null }, now: Date): Promise<boolean> {
    const r = await db.query('UPDATE web_sessions SET roles = $2, branch = $3, refresh_token_enc = coalesce($4, refresh_token_enc), idp_checked_at = $5 WHERE id_hash = $1', [
      idHash,
      s.roles,
      s.branch,
      s.refreshTokenEnc,
      now,
    ]);
    return r.rowCount === 1;
  },

  /** Ends the matching sessions; returns the id hashes of those it ended. */
  async removeWhere(db: Queryable, f: SignInSessionFilter): Promise<Buffer[]> {
    const [where, params] =
      'idpSid' in f
        ? f.subject !== undefined
          ? ['idp_sid = $1 AND subject = $2', [f.idpSid, f.subject]]
          : ['idp_sid = $1', [f.idpSid]]
        : 'subject' in f
          ? ['subject = $1', [f.subject]]
          : ['username = $1', [f.username]];
    const r = await db.query<{ id_hash: Buffer }>(`DELETE FROM web_sessions WHERE ${where} RETURNING id_hash`, params);
    return r.rows.map((x) => x.id_hash);
  },

  /** Records a logout token's id; false when it was seen before (a replay). */
  async firstUseOfLogoutToken(db: Queryable, jti: string, expiresAt: Date): Promise<boolean> {
    const r = await db.query('INSERT INTO backchannel_logout_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING', [jti, expiresAt]);
    return r.rowCount === 1;
  },

  /** The live session at `now`, or null when unknown, expired or idle too long. */
  async findLive(db: Queryable, idHash: Buffer, idleSeconds: number, now: Date): Promise<StoredSignInSession | null> {
    const r = await db.query<{
      subject: string;
      username: string;
      roles: string[];
      branch: string | null;
      id_token: string | null;
      created_at: Date;
      last_seen_at: Date;
      expires_at: Date;
      idp_sid: string | null;
      refresh_token_enc: Buffer | null;
      idp_checked_at: Date;
    }>(
      `SELECT subject, username, roles, branch, id_token, created_at, last_seen_at, expires_at, idp_sid, refresh_token_enc, idp_checked_at FROM web_sessions
        WHERE id_hash = $1 AND expires_at > $3 AND last_seen_at > $3::timestamptz - make_interval(secs => $2)`,
      [idHash, idleSeconds, now],
    );
    const row = r.rows[0];
    if (!row) return null;
    return {
      subject: row.subject,
      username: row.username,
      roles: row.roles,
      branch: row.branch,
      idToken: row.id_token,
      createdAt: row.created_at,
      lastSeenAt: row.last_seen_at,
      expiresAt: row.expires_at,
      idpSid: row.idp_sid,
      refreshTokenEnc: row.refresh_token_enc,
      idpCheckedAt: row.idp_checked_at,
    };
  },

  async touch(db: Queryable, idHash: Buffer, now: Date): Promise<void> {
    await db.query('UPDATE web_sessions SET last_seen_at = $2 WHERE id_hash = $1', [idHash, now]);
  },

  /** Ends one session; returns its ID token (for the identity provider's sign-out), or null when it was gone. */
  async remove(db: Queryable, idHash: Buffer): Promise<{ idToken: string | null } | null> {
    const r = await db.query<{ id_token: string | null }>('DELETE FROM web_sessions WHERE id_hash = $1 RETURNING id_token', [idHash]);
    const row = r.rows[0];
    return row ? { idToken: row.id_token } : null;
  },

  async removeExpired(db: Queryable, idleSeconds: number): Promise<number> {
    const r = await db.query(`DELETE FROM web_sessions WHERE expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $1)`, [idleSeconds]);
    const s = await db.query('DELETE FROM oidc_login_states WHERE expires_at <= now()');
    const j = await db.query('DELETE FROM backchannel_logout_tokens WHERE expires_at <= now()');
    return (r.rowCount ?? 0) + (s.rowCount ?? 0) + (j.rowCount ?? 0);
  },

  async saveLoginState(db: Queryable, stateHash: Buffer, s: LoginState, ttlSeconds: number): Promise<void> {
    await db.query(
      `INSERT INTO oidc_login_states (state_hash, code_verifier, nonce, return_to, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
      [stateHash, s.codeVerifier, s.nonce, s.returnTo, ttlSeconds],
    );
  },

  /** Takes (deletes and returns) a pending login: each state works once. */
  async takeLoginState(db: Queryable, stateHash: Buffer): Promise<LoginState | null> {
    const r = await db.query<{ code_verifier: string; nonce: string; return_to: string }>(
      `DELETE FROM oidc_login_states WHERE state_hash = $1 AND expires_at > now() RETURNING code_verifier, nonce, return_to`,
      [stateHash],
    );
    const row = r.rows[0];
    return row ? { codeVerifier: row.code_verifier, nonce: row.nonce, returnTo: row.return_to } : null;
  },
};
