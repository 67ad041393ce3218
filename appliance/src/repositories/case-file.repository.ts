import type { Queryable } from '../db/database.js';

export interface CaseFileRow {
  id: string;
  case_id: string;
  session_id: string | null;
  party: 'teller' | 'customer';
  name: string;
  media_type: string;
  size: number;
  sha256: Buffer;
  created_at: Date;
}

const COLUMNS = 'id, case_id, session_id, party, name, media_type, size, sha256, created_at';

export const caseFileRepository = {
  /**
   * The session's files so far, counted with the session row locked (FOR UPDATE), so that concurrent uploads into
   * one session are counted one after another within their transactions.
   */
  async usageOfSessionLocked(db: Queryable, sessionId: string): Promise<{ files: number; bytes: number }> {
    await db.query('SELECT 1 FROM call_sessions WHERE id = $1 FOR UPDATE', [sessionId]);
    const r = await db.query<{ files: number; bytes: string }>('SELECT count(*)::int AS files, coalesce(sum(size), 0)::bigint AS bytes FROM case_files WHERE session_id = $1', [sessionId]);
    return { files: r.rows[0]!.files, bytes: Number(r.rows[0]!.bytes) };
  },

  async insert(db: Queryable, f: Omit<CaseFileRow, 'created_at'> & { contentEnc: Buffer }): Promise<CaseFileRow> {
    const r = await db.query<CaseFileRow>(
      `INSERT INTO case_files (id, case_id, session_id, party, name, media_type, size, sha256, content_enc)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
      [f.id, f.case_id, f.session_id, f.party, f.name, f.media_type, f.size, f.sha256, f.contentEnc],
    );
    const row = r.rows[0];
    if (!row) throw new Error('insert returned no row');
    return row;
  },

  async listForCase(db: Queryable, caseId: string): Promise<CaseFileRow[]> {
    return (await db.query<CaseFileRow>(`SELECT ${COLUMNS} FROM case_files WHERE case_id = $1 ORDER BY created_at, id`, [caseId])).rows;
  },

  async listForSession(db: Queryable, sessionId: string): Promise<CaseFileRow[]> {
    return (await db.query<CaseFileRow>(`SELECT ${COLUMNS} FROM case_files WHERE session_id = $1 ORDER BY created_at, id`, [sessionId])).rows;
  },

  /** content_enc is null once the file was shredded */
  async findWithContent(db: Queryable, id: string): Promise<(CaseFileRow & { content_enc: Buffer | null }) | null> {
    const r = await db.query<CaseFileRow & { content_enc: Buffer | null }>(`SELECT ${COLUMNS}, content_enc FROM case_files WHERE id = $1`, [id]);
    return r.rows[0] ?? null;
  },
};
