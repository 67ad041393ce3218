import type { Queryable } from '../db/database.js';

/**
 * Retention policies, legal holds and the expiry of a case's items. Every expiry comes from the `case_retention`
 * view (migration 0012): one definition in SQL, read here and by the shredder.
 */

export type RetentionAnchor = 'case_completed' | 'contract_end';
export type ShredKind = 'recording' | 'export' | 'file' | 'still' | 'pii';
/** the order a case's items are shredded in: media and files first, its personal data last */
export const SHRED_KINDS: readonly ShredKind[] = ['recording', 'export', 'file', 'still', 'pii'];

export interface PolicyRow {
  product_code: string;
  retention_days: number;
  anchor: RetentionAnchor;
  updated_by: string;
  updated_at: Date;
}

export interface CaseRetentionRow {
  case_id: string;
  product: string;
  product_code: string | null;
  retention_days: number | null;
  anchor: RetentionAnchor | null;
  anchor_at: Date | null;
  expires_at: Date | null;
  held: boolean;
  shredded_at: Date | null;
  contract_end: string | null;
  completed_at: Date | null;
}

export interface HoldRow {
  id: string;
  case_id: string;
  reason: string;
  placed_by: string;
  placed_at: Date;
  released_by: string | null;
  released_at: Date | null;
  release_reason: string | null;
}

export interface RetentionItemRow {
  kind: ShredKind;
  id: string;
  shredded_at: Date | null;
}

export interface ShredRecordRow {
  kind: ShredKind;
  item_id: string;
  case_id: string;
  step: 'started' | 'keys' | 'ciphertext' | 'done';
  destroyed: Record<string, unknown>;
  finished_at: Date | null;
  audit_event_id: string | null;
}

export interface RunRow {
  id: string;
  dry_run: boolean;
  as_of: Date;
  requested_by: string;
  started_at: Date;
  finished_at: Date | null;
  shredded: Record<string, number>;
}

const HOLD_COLUMNS = 'id, case_id, reason, placed_by, placed_at, released_by, released_at, release_reason';

/** Items of a case that retention covers, in shredding order (SHRED_KINDS). */
const ITEMS_OF_CASE = `
  SELECT 'recording' AS kind, r.id, r.shredded_at, 1 AS o, r.created_at FROM recordings r WHERE r.case_id = $1
  UNION ALL SELECT 'export', e.id, e.shredded_at, 2, e.created_at FROM recording_exports e JOIN recordings r ON r.id = e.recording_id WHERE r.case_id = $1
  UNION ALL SELECT 'file', f.id, f.shredded_at, 3, f.created_at FROM case_files f WHERE f.case_id = $1
  UNION ALL SELECT 'still', s.id, s.shredded_at, 4, s.created_at FROM identity_stills s WHERE s.case_id = $1
  UNION ALL SELECT 'pii', c.id, c.shredded_at, 5, c.created_at FROM cases c WHERE c.id = $1
  ORDER BY o, created_at, id`;

export const retentionRepository = {
  async policies(db: Queryable): Promise<PolicyRow[]> {
    return (await db.query<PolicyRow>('SELECT product_code, retention_days, anchor, updated_by, updated_at FROM retention_policies ORDER BY product_code')).rows;
  },

  async policyForUpdate(db: Queryable, code: string): Promise<PolicyRow | null> {
    const r = await db.query<PolicyRow>('SELECT product_code, retention_days, anchor, updated_by, updated_at FROM retention_policies WHERE product_code = $1 FOR UPDATE', [code]);
    return r.rows[0] ?? null;
  },

  async upsertPolicy(db: Queryable, p: { code: string; retentionDays: number; anchor: RetentionAnchor; by: string }): Promise<PolicyRow> {
    const r = await db.query<PolicyRow>(
      `INSERT INTO retention_policies (product_code, retention_days, anchor, updated_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (product_code) DO UPDATE SET retention_days = $2, anchor = $3, updated_by = $4, updated_at = now()
       RETURNING product_code, retention_days, anchor, updated_by, updated_at`,
      [p.code, p.retentionDays, p.anchor, p.by],
    );
    return r.rows[0]!;
  },

  async ofCase(db: Queryable, caseId: string): Promise<CaseRetentionRow | null> {
    const r = await db.query<CaseRetentionRow>(
      `SELECT v.case_id, c.product, v.product_code, v.retention_days, v.anchor, v.anchor_at, v.expires_at, v.held, v.shredded_at,
              to_char(c.contract_end, 'YYYY-MM-DD') AS contract_end, c.completed_at
         FROM case_retention v JOIN cases c ON c.id = v.case_id WHERE v.case_id = $1`,
      [caseId],
    );
    return r.rows[0] ?? null;
  },

  /** Locks the case row (contract end, holds and shredding of one case do not interleave). */
  async lockCase(db: Queryable, caseId: string): Promise<{ contract_end: string | null; shredded_at: Date | null } | null> {
    const r = await db.query<{ contract_end: string | null; shredded_at: Date | null }>(
      `SELECT to_char(contract_end, 'YYYY-MM-DD') AS contract_end, shredded_at FROM cases WHERE id = $1 FOR UPDATE`,
      [caseId],
    );
    return r.rows[0] ?? null;
  },

  async setContractEnd(db: Queryable, caseId: string, date: string): Promise<void> {
    await db.query('UPDATE cases SET contract_end = $2::date, updated_at = now() WHERE id = $1', [caseId, date]);
  },

  async items(db: Queryable, caseId: string): Promise<RetentionItemRow[]> {
    return (await db.query<RetentionItemRow>(`SELECT kind, id, shredded_at FROM (${ITEMS_OF_CASE}) i`, [caseId])).rows;
  },

  async insertHold(db: Queryable, h: { id: string; caseId: string; reason: string; by: string }): Promise<HoldRow> {
    const r = await db.query<HoldRow>(`INSERT INTO legal_holds (id, case_id, reason, placed_by) VALUES ($1, $2, $3, $4) RETURNING ${HOLD_COLUMNS}`, [h.id, h.caseId, h.reason, h.by]);
    return r.rows[0]!;
  },

  async holdForUpdate(db: Queryable, id: string): Promise<HoldRow | null> {
    return (await db.query<HoldRow>(`SELECT ${HOLD_COLUMNS} FROM legal_holds WHERE id = $1 FOR UPDATE`, [id])).rows[0] ?? null;
  },

  async releaseHold(db: Queryable, id: string, by: string, reason: string): Promise<HoldRow> {
    const r = await db.query<HoldRow>(`UPDATE legal_holds SET released_by = $2, released_at = now(), release_reason = $3 WHERE id = $1 AND released_at IS NULL RETURNING ${HOLD_COLUMNS}`, [
      id,
      by,
      reason,
    ]);
    return r.rows[0]!;
  },

  async activeHoldOf(db: Queryable, caseId: string): Promise<HoldRow | null> {
    return (await db.query<HoldRow>(`SELECT ${HOLD_COLUMNS} FROM legal_holds WHERE case_id = $1 AND released_at IS NULL ORDER BY placed_at LIMIT 1`, [caseId])).rows[0] ?? null;
  },

  /** Holds, newest first: active ones (released_at null) or released ones; at most `limit`. */
  async holds(db: Queryable, active: boolean | null, limit: number): Promise<HoldRow[]> {
    const where = active === null ? '' : active ? 'WHERE released_at IS NULL' : 'WHERE released_at IS NOT NULL';
    return (await db.query<HoldRow>(`SELECT ${HOLD_COLUMNS} FROM legal_holds ${where} ORDER BY placed_at DESC, id LIMIT $1`, [limit])).rows;
  },

  /** Cases whose expiry falls before `until` (already expired included), not held and not yet shredded, soonest first. */
  async expiringBefore(db: Queryable, until: Date, limit: number): Promise<Array<{ case_id: string; product: string; expires_at: Date }>> {
    const r = await db.query<{ case_id: string; product: string; expires_at: Date }>(
      `SELECT case_id, product_code AS product, expires_at FROM case_retention
        WHERE expires_at <= $1 AND NOT held AND shredded_at IS NULL ORDER BY expires_at, case_id LIMIT $2`,
      [until, limit],
    );
    return r.rows;
  },

  async countExpiringBefore(db: Queryable, until: Date): Promise<number> {
    const r = await db.query<{ n: string }>(`SELECT count(*) AS n FROM case_retention WHERE expires_at <= $1 AND NOT held AND shredded_at IS NULL`, [until]);
    return Number(r.rows[0]!.n);
  },

  /** What the shredder has to do as of `asOf`: expired unheld cases, and cases with a shredding left half done. */
  async casesToShred(db: Queryable, asOf: Date): Promise<string[]> {
    const r = await db.query<{ case_id: string }>(
      `SELECT case_id FROM (
         SELECT case_id, expires_at FROM case_retention WHERE expires_at <= $1 AND NOT held AND shredded_at IS NULL
         UNION SELECT DISTINCT case_id, NULL::timestamptz FROM shred_items WHERE step <> 'done') x
       GROUP BY case_id ORDER BY min(expires_at) NULLS FIRST, case_id`,
      [asOf],
    );
    return r.rows.map((x) => x.case_id);
  },

  async unshreddedItems(db: Queryable, caseId: string): Promise<RetentionItemRow[]> {
    return (await retentionRepository.items(db, caseId)).filter((i) => i.shredded_at === null);
  },

  async shredRecord(db: Queryable, kind: ShredKind, itemId: string): Promise<ShredRecordRow | null> {
    const r = await db.query<ShredRecordRow>('SELECT kind, item_id, case_id, step, destroyed, finished_at, audit_event_id FROM shred_items WHERE kind = $1 AND item_id = $2', [kind, itemId]);
    return r.rows[0] ?? null;
  },

  /** Records the plan of an item's shredding (what will be destroyed) once; a resumed run keeps the first plan. */
  async startShred(db: Queryable, s: { kind: ShredKind; itemId: string; caseId: string; runId: string; destroyed: Record<string, unknown> }): Promise<ShredRecordRow> {
    await db.query(`INSERT INTO shred_items (kind, item_id, case_id, run_id, step, destroyed) VALUES ($1, $2, $3, $4, 'started', $5) ON CONFLICT (kind, item_id) DO NOTHING`, [
      s.kind,
      s.itemId,
      s.caseId,
      s.runId,
      JSON.stringify(s.destroyed),
    ]);
    return (await retentionRepository.shredRecord(db, s.kind, s.itemId))!;
  },

  async shredStep(db: Queryable, kind: ShredKind, itemId: string, step: 'keys' | 'ciphertext'): Promise<void> {
    await db.query(`UPDATE shred_items SET step = $3 WHERE kind = $1 AND item_id = $2 AND step <> 'done'`, [kind, itemId, step]);
  },

  /** The case's shredding: when its personal data went and the leaf index of that audit event (null until sequenced). */
  async caseShredded(db: Queryable, caseId: string): Promise<{ at: Date; audit_seq: string | null } | null> {
    const r = await db.query<{ at: Date; audit_seq: string | null }>(
      `SELECT s.finished_at AS at, l.leaf_index AS audit_seq FROM shred_items s LEFT JOIN audit_leaf l ON l.event_id = s.audit_event_id
        WHERE s.kind = 'pii' AND s.item_id = $1 AND s.step = 'done'`,
      [caseId],
    );
    return r.rows[0] ?? null;
  },

  async insertRun(db: Queryable, r: { id: string; dryRun: boolean; asOf: Date; by: string }): Promise<void> {
    await db.query('INSERT INTO retention_runs (id, dry_run, as_of, requested_by) VALUES ($1, $2, $3, $4)', [r.id, r.dryRun, r.asOf, r.by]);
  },

  async finishRun(db: Queryable, id: string, shredded: Record<string, number>): Promise<void> {
    await db.query('UPDATE retention_runs SET finished_at = now(), shredded = $2 WHERE id = $1', [id, JSON.stringify(shredded)]);
  },

  async lastRun(db: Queryable): Promise<RunRow | null> {
    const r = await db.query<RunRow>('SELECT id, dry_run, as_of, requested_by, started_at, finished_at, shredded FROM retention_runs ORDER BY started_at DESC LIMIT 1');
    return r.rows[0] ?? null;
  },

  /** When the last real run started (the daily schedule enqueues a run when none started in the last day). */
  async lastRunStartedAt(db: Queryable): Promise<Date | null> {
    const r = await db.query<{ started_at: Date }>('SELECT started_at FROM retention_runs WHERE NOT dry_run ORDER BY started_at DESC LIMIT 1');
    return r.rows[0]?.started_at ?? null;
  },
  /** True once a shredding of the case has begun (a hold placed then could not keep what is already destroyed). */
  async shreddingStarted(db: Queryable, caseId: string): Promise<boolean> {
    return ((await db.query('SELECT 1 FROM shred_items WHERE case_id = $1 LIMIT 1', [caseId])).rowCount ?? 0) > 0;
  },

  async openShreds(db: Queryable, caseId: string): Promise<ShredRecordRow[]> {
    const r = await db.query<ShredRecordRow>(
      `SELECT kind, item_id, case_id, step, destroyed, finished_at, audit_event_id FROM shred_items WHERE case_id = $1 AND step <> 'done'
        ORDER BY array_position(ARRAY['recording', 'export', 'file', 'still', 'pii'], kind), started_at, item_id`,
      [caseId],
    );
    return r.rows;
  },
};

/**
 * The destructive statements of crypto-shredding, one per step. Each is idempotent: a step repeated after a crash
 * changes nothing more.
 */
export const shredRepository = {
  /** What a recording's shredding destroys: its KEK id and its sealed files (names, sizes, ciphertext hashes). */
  async recordingPlan(db: Queryable, id: string): Promise<{ session_id: string; kek_id: string | null; files: Array<{ name: string; bytes: string; sha256: string }> }> {
    const rec = (await db.query<{ session_id: string; kek_id: string | null }>('SELECT session_id, kek_id FROM recordings WHERE id = $1', [id])).rows[0]!;
    const files = await db.query<{ name: string; bytes: string; sha256: string }>(
      `SELECT name, ciphertext_bytes::text AS bytes, encode(ciphertext_sha256, 'hex') AS sha256 FROM recording_files WHERE recording_id = $1 ORDER BY name`,
      [id],
    );
    return { ...rec, files: files.rows };
  },

  async exportPlan(db: Queryable, id: string): Promise<{ kek_id: string | null; sha256: string | null; bytes: string | null }> {
    return (
      await db.query<{ kek_id: string | null; sha256: string | null; bytes: string | null }>(
        `SELECT kek_id, encode(sha256, 'hex') AS sha256, bytes::text AS bytes FROM recording_exports WHERE id = $1`,
        [id],
      )
    ).rows[0]!;
  },

  async contentPlan(db: Queryable, table: 'case_files' | 'identity_stills', id: string): Promise<{ sha256: string; size: number }> {
    return (await db.query<{ sha256: string; size: number }>(`SELECT encode(sha256, 'hex') AS sha256, size FROM ${table} WHERE id = $1`, [id])).rows[0]!;
  },

  /** Which personal-data fields a case still holds, and how many related encrypted values (no values). */
  async piiPlan(db: Queryable, caseId: string): Promise<{ fields: string[]; geolocations: number; idNumberChecks: number; chatMessages: number }> {
    const c = (
      await db.query<Record<string, boolean>>(
        `SELECT customer_name_enc IS NOT NULL AS customer_name, customer_id_enc IS NOT NULL AS customer_id, customer_phone_enc IS NOT NULL AS customer_phone,
              bank_card_enc IS NOT NULL AS bank_card, id_number_bidx IS NOT NULL AS id_number_bidx, name_bidx IS NOT NULL AS name_bidx
         FROM cases WHERE id = $1`,
        [caseId],
      )
    ).rows[0]!;
    const n = (
      await db.query<{ geo: string; ocr: string; chat: string }>(
        `SELECT (SELECT count(*) FROM case_geolocations WHERE case_id = $1 AND coords_enc IS NOT NULL) AS geo,
              (SELECT count(*) FROM id_number_checks WHERE case_id = $1 AND id_number_enc IS NOT NULL) AS ocr,
              (SELECT count(*) FROM session_events e JOIN call_sessions s ON s.id = e.session_id WHERE s.case_id = $1 AND e.text_enc IS NOT NULL) AS chat`,
        [caseId],
      )
    ).rows[0]!;
    return { fields: Object.keys(c).filter((k) => c[k]), geolocations: Number(n.geo), idNumberChecks: Number(n.ocr), chatMessages: Number(n.chat) };
  },

  async destroyWrappedKey(db: Queryable, table: 'recordings' | 'recording_exports', id: string): Promise<void> {
    await db.query(`UPDATE ${table} SET wrapped_key = NULL, kek_id = NULL, shredded_at = COALESCE(shredded_at, now()) WHERE id = $1`, [id]);
  },

  async destroyContent(db: Queryable, table: 'case_files' | 'identity_stills', id: string): Promise<void> {
    await db.query(`UPDATE ${table} SET content_enc = NULL, shredded_at = COALESCE(shredded_at, now()) WHERE id = $1`, [id]);
  },

  /** NULLs the case's personal data, its blind indexes and the encrypted values that belong to it. */
  async destroyPii(db: Queryable, caseId: string): Promise<void> {
    await db.query(
      `UPDATE cases SET customer_name_enc = NULL, customer_id_enc = NULL, customer_phone_enc = NULL, bank_card_enc = NULL,
              id_number_bidx = NULL, name_bidx = NULL, shredded_at = COALESCE(shredded_at, now()), updated_at = now() WHERE id = $1`,
      [caseId],
    );
    await db.query('UPDATE case_geolocations SET coords_enc = NULL, shredded_at = COALESCE(shredded_at, now()) WHERE case_id = $1', [caseId]);
    await db.query('UPDATE id_number_checks SET id_number_enc = NULL WHERE case_id = $1 AND id_number_enc IS NOT NULL', [caseId]);
    await db.query('UPDATE session_events SET text_enc = NULL WHERE text_enc IS NOT NULL AND session_id IN (SELECT id FROM call_sessions WHERE case_id = $1)', [caseId]);
  },

  /** Marks an item done, once: false when it already was (its audit event exists). */
  async markDone(db: Queryable, kind: ShredKind, itemId: string): Promise<boolean> {
    const r = await db.query(`UPDATE shred_items SET step = 'done', finished_at = now() WHERE kind = $1 AND item_id = $2 AND step <> 'done'`, [kind, itemId]);
    return (r.rowCount ?? 0) === 1;
  },

  async setAuditEvent(db: Queryable, kind: ShredKind, itemId: string, eventId: number): Promise<void> {
    await db.query('UPDATE shred_items SET audit_event_id = $3 WHERE kind = $1 AND item_id = $2', [kind, itemId, eventId]);
  },
};
