import type { Queryable } from '../db/database.js';

import { CASE_STATUSES, type CaseStatus } from '../domain/vocabulary.js';

export { CASE_STATUSES };
export type { CaseStatus };

export interface CaseRow {
  id: string;
  status: CaseStatus;
  teller: string;
  branch: string;
  product: string;
  product_version: number | null;
  /** null once the case's personal data was shredded (shredded_at) */
  customer_name_enc: Buffer | null;
  customer_id_enc: Buffer | null;
  customer_phone_enc: Buffer | null;
  bank_card_enc: Buffer | null;
  shredded_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface NewCaseRow {
  id: string;
  teller: string;
  branch: string;
  product: string;
  productVersion: number | null;
  customerNameEnc: Buffer;
  customerIdEnc: Buffer;
  customerPhoneEnc: Buffer;
  bankCardEnc: Buffer | null;
  idNumberBidx: Buffer;
  nameBidx: Buffer;
}

const COLUMNS = 'id, status, teller, branch, product, product_version, customer_name_enc, customer_id_enc, customer_phone_enc, bank_card_enc, shredded_at, created_at, updated_at';

export const caseRepository = {
  async insert(db: Queryable, c: NewCaseRow): Promise<CaseRow> {
    const r = await db.query<CaseRow>(
      `INSERT INTO cases (id, teller, branch, product, product_version, customer_name_enc, customer_id_enc, customer_phone_enc, bank_card_enc,
                          id_number_bidx, name_bidx)
       VALUES ($1, $2, $3, $4, $11, $5, $6, $7, $8, $9, $10) RETURNING ${COLUMNS}`,
      [c.id, c.teller, c.branch, c.product, c.customerNameEnc, c.customerIdEnc, c.customerPhoneEnc, c.bankCardEnc, c.idNumberBidx, c.nameBidx, c.productVersion],
    );
    const row = r.rows[0];
    if (!row) throw new Error('insert returned no row');
    return row;
  },

  async findById(db: Queryable, id: string): Promise<CaseRow | null> {
    const r = await db.query<CaseRow>(`SELECT ${COLUMNS} FROM cases WHERE id = $1`, [id]);
    return r.rows[0] ?? null;
  },

  /** Cases whose personal data the retention run shredded and whose key the appliance has not destroyed yet. */
  async shreddedWithKey(db: Queryable, limit = 500): Promise<string[]> {
    const r = await db.query<{ id: string }>('SELECT id FROM cases WHERE shredded_at IS NOT NULL AND case_key_destroyed_at IS NULL ORDER BY shredded_at LIMIT $1', [limit]);
    return r.rows.map((x) => x.id);
  },

  async markKeyDestroyed(db: Queryable, id: string): Promise<boolean> {
    return ((await db.query('UPDATE cases SET case_key_destroyed_at = now() WHERE id = $1 AND case_key_destroyed_at IS NULL', [id])).rowCount ?? 0) > 0;
  },

  /** A teller's cases, newest first, keyset-paginated on (created_at, id). */
  async listByTeller(db: Queryable, teller: string, limit: number, after: { createdAt: Date; id: string } | null): Promise<CaseRow[]> {
    const r = after
      ? await db.query<CaseRow>(
          `SELECT ${COLUMNS} FROM cases WHERE teller = $1 AND (created_at, id) < ($2, $3)
            ORDER BY created_at DESC, id DESC LIMIT $4`,
          [teller, after.createdAt, after.id, limit],
        )
      : await db.query<CaseRow>(`SELECT ${COLUMNS} FROM cases WHERE teller = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, [teller, limit]);
    return r.rows;
  },
};
