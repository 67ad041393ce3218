import type { Queryable } from '../db/database.js';

export interface StoredSession {
  subject: string;
  username: string;
  roles: string[];
  branch: string | null;
  idToken: string | null;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
}

export interface LoginState {
  codeVerifier: string;
  nonce: string;
  returnTo: string;
}

export const sessionRepository = {
  async create(db: Queryable, idHash: Buffer, s: Omit<StoredSession, 'createdAt' | 'lastSeenAt'>): Promise<void> {
    await db.query(
      `INSERT INTO web_sessions (id_hash, subject, username, roles, branch, id_token, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [idHash, s.subject, s.username, s.roles, s.branch, s.idToken, s.expiresAt],
    );
  },

  /** The live session, or null when unknown, expired or idle too long. */
  async findLive(db: Queryable, idHash: Buffer, idleSeconds: number): Promise<StoredSession | null> {
    const r = await db.query<{
      subject: string;
      username: string;
      roles: string[];
      branch: string | null;
      id_token: string | null;
      created_at: Date;
      last_seen_at: Date;
      expires_at: Date;
    }>(
      `SELECT subject, username, roles, branch, id_token, created_at, last_seen_at, expires_at FROM web_sessions
        WHERE id_hash = $1 AND expires_at > now() AND last_seen_at > now() - make_interval(secs => $2)`,
      [idHash, idleSeconds],
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
    };
  },

  async touch(db: Queryable, idHash: Buffer): Promise<void> {
    await db.query('UPDATE web_sessions SET last_seen_at = now() WHERE id_hash = $1', [idHash]);
  },

  async remove(db: Queryable, idHash: Buffer): Promise<StoredSession | null> {
    const r = await db.query<{ subject: string; username: string; roles: string[]; branch: string | null; id_token: string | null; created_at: Date; last_seen_at: Date; expires_at: Date }>(
      'DELETE FROM web_sessions WHERE id_hash = $1 RETURNING subject, username, roles, branch, id_token, created_at, last_seen_at, expires_at',
      [idHash],
    );
    const row = r.rows[0];
    return row
      ? { subject: row.subject, username: row.username, roles: row.roles, branch: row.branch, idToken: row.id_token, createdAt: row.created_at, lastSeenAt: row.last_seen_at, expiresAt: row.expires_at }
      : null;
  },

  async removeExpired(db: Queryable, idleSeconds: number): Promise<number> {
    const r = await db.query(
      `DELETE FROM web_sessions WHERE expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $1)`,
      [idleSeconds],
    );
    const s = await db.query('DELETE FROM oidc_login_states WHERE expires_at <= now()');
    return (r.rowCount ?? 0) + (s.rowCount ?? 0);
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
