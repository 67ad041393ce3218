import type { Queryable } from '../db/database.js';

/** An encrypted value of a case, as stored, with the (record, field) pairs it may be bound to (the first that opens). */
export interface StoredCaseValue {
  table: 'cases' | 'invitations' | 'case_files' | 'identity_stills' | 'case_geolocations' | 'id_number_checks' | 'session_events';
  column: string;
  rowId: string;
  bindings: Array<[recordId: string, field: string]>;
  blob: Buffer;
}

// Values under the appliance-wide key start with the byte 1 (lib/pii-cipher.ts).
const LEGACY = (column: string) => `(${column} IS NOT NULL AND get_byte(${column}, 0) = 1)`;

/** Where a case's encrypted values live, and what each is bound to. */
const SOURCES: Array<{ table: StoredCaseValue['table']; column: string; sql: string; bindings(row: { id: string; session_id?: string; kind?: string }): Array<[string, string]> }> = [
  ...(['customer_name', 'customer_id', 'customer_phone', 'bank_card'] as const).map((field) => ({
    table: 'cases' as const,
    column: `${field}_enc`,
    sql: `SELECT id, ${field}_enc AS blob FROM cases WHERE id = $1 AND ${LEGACY(`${field}_enc`)}`,
    bindings: (r: { id: string }): Array<[string, string]> => [[r.id, field]],
  })),
  {
    table: 'invitations',
    column: 'code_enc',
    sql: `SELECT id, code_enc AS blob FROM invitations WHERE case_id = $1 AND ${LEGACY('code_enc')}`,
    bindings: (r) => [[r.id, 'invitation_code']],
  },
  {
    table: 'invitations',
    column: 'token_enc',
    sql: `SELECT id, token_enc AS blob FROM invitations WHERE case_id = $1 AND ${LEGACY('token_enc')}`,
    bindings: (r) => [[r.id, 'invitation_token']],
  },
  {
    table: 'case_files',
    column: 'content_enc',
    sql: `SELECT id, content_enc AS blob FROM case_files WHERE case_id = $1 AND ${LEGACY('content_enc')}`,
    bindings: (r) => [[r.id, 'case_file']],
  },
  {
    table: 'identity_stills',
    column: 'content_enc',
    sql: `SELECT id, content_enc AS blob FROM identity_stills WHERE case_id = $1 AND ${LEGACY('content_enc')}`,
    bindings: (r) => [[r.id, 'identity_still']],
  },
  {
    table: 'case_geolocations',
    column: 'coords_enc',
    sql: `SELECT id, coords_enc AS blob FROM case_geolocations WHERE case_id = $1 AND ${LEGACY('coords_enc')}`,
    bindings: (r) => [[r.id, 'geolocation']],
  },
  {
    table: 'id_number_checks',
    column: 'id_number_enc',
    sql: `SELECT id, id_number_enc AS blob FROM id_number_checks WHERE case_id = $1 AND ${LEGACY('id_number_enc')}`,
    bindings: (r) => [[r.id, 'ocr_id_number']],
  },
  {
    table: 'session_events',
    column: 'text_enc',
    sql: `SELECT e.id::text AS id, e.session_id, e.kind, e.text_enc AS blob FROM session_events e JOIN call_sessions s ON s.id = e.session_id WHERE s.case_id = $1 AND ${LEGACY('e.text_enc')}`,
    // chat bound to its row (services/live-media chatTextField), older chat to the session, a location to the session
    bindings: (r) => [
      [r.session_id!, `chat/${r.id}`],
      [r.session_id!, 'chat'],
      [r.session_id!, 'geolocation'],
    ],
  },
];

export const caseKeysRepository = {
  /** Cases that still hold values under the appliance-wide key (written before case keys), oldest first. */
  async casesWithLegacyValues(db: Queryable, limit: number, after: { createdAt: Date; id: string } | null): Promise<Array<{ createdAt: Date; id: string }>> {
    const r = await db.query<{ id: string; created_at: Date }>(
      `SELECT id, created_at FROM cases
        WHERE shredded_at IS NULL AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
          AND (${LEGACY('customer_name_enc')} OR ${LEGACY('customer_id_enc')} OR ${LEGACY('customer_phone_enc')} OR ${LEGACY('bank_card_enc')})
        ORDER BY created_at, id LIMIT $1`,
      [limit, after?.createdAt ?? null, after?.id ?? null],
    );
    return r.rows.map((x) => ({ createdAt: x.created_at, id: x.id }));
  },

  async legacyValuesOfCase(db: Queryable, caseId: string): Promise<StoredCaseValue[]> {
    const out: StoredCaseValue[] = [];
    for (const s of SOURCES) {
      const r = await db.query<{ id: string; session_id?: string; kind?: string; blob: Buffer }>(s.sql, [caseId]);
      for (const row of r.rows) out.push({ table: s.table, column: s.column, rowId: row.id, bindings: s.bindings(row), blob: row.blob });
    }
    return out;
  },

  async replaceValue(db: Queryable, v: StoredCaseValue, blob: Buffer): Promise<void> {
    const id = v.table === 'session_events' ? 'id::text' : 'id';
    await db.query(`UPDATE ${v.table} SET ${v.column} = $2 WHERE ${id} = $1 AND ${v.column} = $3`, [v.rowId, blob, v.blob]);
  },

  /** Finished service visits older than `before` whose key still exists. */
  async visitsPastRetention(db: Queryable, before: Date, limit = 500): Promise<string[]> {
    const r = await db.query<{ id: string }>(
      `SELECT id FROM service_visits
        WHERE key_destroyed_at IS NULL AND state IN ('accepted', 'left', 'callback', 'expired') AND COALESCE(left_at, accepted_at, created_at) < $1
        ORDER BY created_at LIMIT $2`,
      [before, limit],
    );
    return r.rows.map((x) => x.id);
  },

  /** Also closes the visit's call-back, waiting or held, as expired: with the key gone there is no number to call. */
  async markVisitKeyDestroyed(db: Queryable, id: string): Promise<boolean> {
    const r = await db.query(
      `UPDATE service_visits SET key_destroyed_at = now(),
              callback_done_at = CASE WHEN state = 'callback' AND callback_done_at IS NULL THEN now() ELSE callback_done_at END,
              callback_outcome = CASE WHEN state = 'callback' AND callback_done_at IS NULL THEN 'expired' ELSE callback_outcome END
        WHERE id = $1 AND key_destroyed_at IS NULL`,
      [id],
    );
    return (r.rowCount ?? 0) > 0;
  },
};
