import type { Queryable } from '../db/database.js';

export interface KbEntryRow {
  id: string;
  product_code: string;
  lang: 'zh-CN' | 'en';
  kind: 'article' | 'qa';
  version: number;
  title: string;
  body: string;
  retired_at: Date | null;
  created_by: string;
  updated_at: Date;
}

const CURRENT = `SELECT e.id, e.product_code, e.lang, e.kind, v.version, v.title, v.body, e.retired_at, v.created_by, e.updated_at
  FROM kb_entries e JOIN kb_entry_versions v ON v.entry_id = e.id AND v.version = e.current_version`;

/** The knowledge base: entries and their append-only versions. */
export const kbRepository = {
  async listCurrent(db: Queryable, filter: { productCode?: string | undefined; includeRetired?: boolean } = {}): Promise<KbEntryRow[]> {
    const r = await db.query<KbEntryRow>(`${CURRENT} WHERE ($1::text IS NULL OR e.product_code = $1) AND ($2 OR e.retired_at IS NULL) ORDER BY e.product_code, e.lang, e.created_at, e.id`, [
      filter.productCode ?? null,
      filter.includeRetired ?? false,
    ]);
    return r.rows;
  },

  async find(db: Queryable, id: string, forUpdate = false): Promise<KbEntryRow | null> {
    const r = await db.query<KbEntryRow>(`${CURRENT} WHERE e.id = $1${forUpdate ? ' FOR UPDATE OF e' : ''}`, [id]);
    return r.rows[0] ?? null;
  },

  async versions(db: Queryable, id: string): Promise<{ version: number; title: string; body: string; created_by: string; created_at: Date }[]> {
    const r = await db.query<{ version: number; title: string; body: string; created_by: string; created_at: Date }>(
      'SELECT version, title, body, created_by, created_at FROM kb_entry_versions WHERE entry_id = $1 ORDER BY version',
      [id],
    );
    return r.rows;
  },

  async insert(db: Queryable, e: { id: string; productCode: string; lang: string; kind: string; title: string; body: string; by: string }): Promise<void> {
    await db.query(`INSERT INTO kb_entries (id, product_code, lang, kind, current_version, created_by) VALUES ($1, $2, $3, $4, 1, $5)`, [e.id, e.productCode, e.lang, e.kind, e.by]);
    await db.query(`INSERT INTO kb_entry_versions (entry_id, version, title, body, created_by) VALUES ($1, 1, $2, $3, $4)`, [e.id, e.title, e.body, e.by]);
  },

  async addVersion(db: Queryable, id: string, version: number, e: { title: string; body: string; by: string }): Promise<void> {
    await db.query(`INSERT INTO kb_entry_versions (entry_id, version, title, body, created_by) VALUES ($1, $2, $3, $4, $5)`, [id, version, e.title, e.body, e.by]);
    await db.query(`UPDATE kb_entries SET current_version = $2, updated_at = now() WHERE id = $1`, [id, version]);
  },

  async retire(db: Queryable, id: string): Promise<void> {
    await db.query(`UPDATE kb_entries SET retired_at = now(), updated_at = now() WHERE id = $1 AND retired_at IS NULL`, [id]);
  },

  /** Changes whenever an entry is added, edited or retired: the assistant's index is rebuilt when it moves. */
  async generation(db: Queryable): Promise<string> {
    const r = await db.query<{ g: string }>(`SELECT count(*)::text || ':' || coalesce(max(updated_at)::text, '') AS g FROM kb_entries`);
    return r.rows[0]?.g ?? '';
  },
};
