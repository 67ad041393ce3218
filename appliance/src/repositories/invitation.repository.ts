import type { MediaMode } from '../domain/vocabulary.js';
import type { Queryable } from '../db/database.js';

export interface InvitationRow {
  id: string;
  case_id: string;
  code_hash: Buffer;
  code_enc: Buffer;
  token_enc: Buffer;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  device_hash: Buffer | null;
  opened_at: Date | null;
  code_attempts: number;
  code_verified_at: Date | null;
  locked_at: Date | null;
  device_checked_at: Date | null;
  consent: 'accepted' | 'declined' | null;
  consent_at: Date | null;
  waiting_since: Date | null;
  closed_at: Date | null;
  media_mode: MediaMode;
}

const COLUMNS = `id, case_id, code_hash, code_enc, token_enc, created_by, created_at, expires_at, revoked_at, device_hash, opened_at,
  code_attempts, code_verified_at, locked_at, device_checked_at, consent, consent_at, waiting_since, closed_at, media_mode`;

export const invitationRepository = {
  async insert(
    db: Queryable,
    i: { id: string; caseId: string; tokenHash: Buffer; codeHash: Buffer; codeEnc: Buffer; tokenEnc: Buffer; createdBy: string; expiresAt: Date },
  ): Promise<InvitationRow> {
    const r = await db.query<InvitationRow>(
      `INSERT INTO invitations (id, case_id, token_hash, code_hash, code_enc, token_enc, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
      [i.id, i.caseId, i.tokenHash, i.codeHash, i.codeEnc, i.tokenEnc, i.createdBy, i.expiresAt],
    );
    const row = r.rows[0];
    if (!row) throw new Error('insert returned no row');
    return row;
  },

  /** Locks the row for the rest of the transaction: steps of one invitation never interleave. */
  async findByTokenHashForUpdate(db: Queryable, tokenHash: Buffer): Promise<InvitationRow | null> {
    const r = await db.query<InvitationRow>(`SELECT ${COLUMNS} FROM invitations WHERE token_hash = $1 FOR UPDATE`, [tokenHash]);
    return r.rows[0] ?? null;
  },

  async findByTokenHash(db: Queryable, tokenHash: Buffer): Promise<InvitationRow | null> {
    const r = await db.query<InvitationRow>(`SELECT ${COLUMNS} FROM invitations WHERE token_hash = $1`, [tokenHash]);
    return r.rows[0] ?? null;
  },

  async findById(db: Queryable, id: string): Promise<InvitationRow | null> {
    const r = await db.query<InvitationRow>(`SELECT ${COLUMNS} FROM invitations WHERE id = $1`, [id]);
    return r.rows[0] ?? null;
  },

  async latestForCase(db: Queryable, caseId: string): Promise<InvitationRow | null> {
    const r = await db.query<InvitationRow>(`SELECT ${COLUMNS} FROM invitations WHERE case_id = $1 ORDER BY created_at DESC LIMIT 1`, [caseId]);
    return r.rows[0] ?? null;
  },

  /** Earlier invitations of the case that could still be used; a new one replaces them. */
  async revokeOpenForCase(db: Queryable, caseId: string, by: string): Promise<string[]> {
    const r = await db.query<{ id: string }>(
      `UPDATE invitations SET revoked_at = now(), revoked_by = $2
        WHERE case_id = $1 AND revoked_at IS NULL AND closed_at IS NULL AND expires_at > now() RETURNING id`,
      [caseId, by],
    );
    return r.rows.map((x) => x.id);
  },

  async update(
    db: Queryable,
    id: string,
    fields: Partial<
      Record<
        | 'device_hash'
        | 'opened_at'
        | 'code_attempts'
        | 'code_verified_at'
        | 'locked_at'
        | 'device_checked_at'
        | 'consent'
        | 'consent_at'
        | 'consent_text_hash'
        | 'waiting_since'
        | 'closed_at'
        | 'revoked_at'
        | 'revoked_by'
        | 'media_mode',
        unknown
      >
    >,
  ): Promise<void> {
    const keys = Object.keys(fields);
    if (keys.length === 0) return;
    const sets = keys.map((k, i) => `${k} = $${i + 2}`).join(', ');
    await db.query(`UPDATE invitations SET ${sets} WHERE id = $1`, [id, ...keys.map((k) => (fields as Record<string, unknown>)[k])]);
  },
};
