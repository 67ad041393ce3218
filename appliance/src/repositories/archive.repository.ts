import type { Queryable } from '../db/database.js';
import type { CaseRow, CaseStatus } from './case.repository.js';
import type { InvitationRow } from './invitation.repository.js';
import type { RecordingStatus } from './recording.repository.js';

import { INTEGRITY_FLAGS, type IntegrityFlag, type RejectReason } from '../domain/vocabulary.js';

export { INTEGRITY_FLAGS };
export type { IntegrityFlag };

/** What an auditor searches by. Personal data only ever arrives as blind indexes. */
export interface ArchiveFilter {
  idNumberBidx?: Buffer | undefined;
  nameBidx?: Buffer | undefined;
  teller?: string | undefined;
  branch?: string | undefined;
  product?: string | undefined;
  status?: CaseStatus | undefined;
  /** inclusive */
  from?: Date | undefined;
  /** exclusive */
  to?: Date | undefined;
  /** any of the case's recordings has this status */
  recordingStatus?: RecordingStatus | undefined;
  /** any of the case's recordings carries this integrity flag */
  flag?: IntegrityFlag | undefined;
}

export type ArchiveSort = 'created_desc' | 'created_asc';

/** Keyset position: created_at as text with microseconds (a JS Date would lose them and skip or repeat rows). */
export interface ArchiveKey {
  createdKey: string;
  id: string;
}

export interface ArchiveRow extends CaseRow {
  created_key: string;
  session_id: string | null;
  session_state: 'live' | 'ended' | null;
  recording_id: string | null;
  recording_status: RecordingStatus | null;
  recording_complete: boolean | null;
  recording_issue_count: number | null;
}

const REVIEW_COLUMNS = 'case_id, decision, comment, reject_reasons, prompting_notes, reviewer, at';

export interface CaseReviewRow {
  case_id: string;
  decision: 'approved' | 'rejected';
  comment: string;
  reject_reasons: RejectReason[];
  prompting_notes: string | null;
  reviewer: string;
  at: Date;
}

export interface SessionEventRow {
  id: string;
  session_id: string;
  at: Date;
  /** `at` to the microsecond (UTC), for keyset pages */
  at_key: string;
  party: 'teller' | 'customer' | 'system';
  kind: string;
  data: Record<string, unknown>;
  text_enc: Buffer | null;
}

/** Where a page of session events ended: its last event's time (to the microsecond) and id. */
export interface SessionEventKey {
  atKey: string;
  id: string;
}

function whereOf(f: ArchiveFilter, params: unknown[]): string[] {
  const p = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  const where: string[] = [];
  if (f.idNumberBidx) where.push(`c.id_number_bidx = ${p(f.idNumberBidx)}`);
  if (f.nameBidx) where.push(`c.name_bidx = ${p(f.nameBidx)}`);
  if (f.teller !== undefined) where.push(`c.teller = ${p(f.teller)}`);
  if (f.branch !== undefined) where.push(`c.branch = ${p(f.branch)}`);
  if (f.product !== undefined) where.push(`c.product = ${p(f.product)}`);
  if (f.status !== undefined) where.push(`c.status = ${p(f.status)}`);
  if (f.from !== undefined) where.push(`c.created_at >= ${p(f.from)}`);
  if (f.to !== undefined) where.push(`c.created_at < ${p(f.to)}`);
  if (f.recordingStatus !== undefined) where.push(`EXISTS (SELECT 1 FROM recordings r WHERE r.case_id = c.id AND r.status = ${p(f.recordingStatus)})`);
  if (f.flag === 'incomplete') where.push(`EXISTS (SELECT 1 FROM recordings r WHERE r.case_id = c.id AND r.complete = false)`);
  if (f.flag === 'issues') where.push(`EXISTS (SELECT 1 FROM recordings r WHERE r.case_id = c.id AND r.issues <> '[]'::jsonb)`);
  return where;
}

const CASE_COLUMNS =
  'c.id, c.status, c.teller, c.branch, c.product, c.customer_name_enc, c.customer_id_enc, c.customer_phone_enc, c.bank_card_enc, c.shredded_at, c.created_at, c.updated_at';

export const archiveRepository = {
  /** One page of cases matching the filter, each with its latest session and that session's recording. */
  async search(db: Queryable, f: ArchiveFilter, sort: ArchiveSort, after: ArchiveKey | null, limit: number): Promise<ArchiveRow[]> {
    const params: unknown[] = [];
    const where = whereOf(f, params);
    const desc = sort === 'created_desc';
    if (after) {
      params.push(after.createdKey, after.id);
      where.push(`(c.created_at, c.id) ${desc ? '<' : '>'} ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(limit);
    const order = desc ? 'DESC' : 'ASC';
    // The page is cut first; the latest session and recording are looked up for its rows only.
    const r = await db.query<ArchiveRow>(
      `WITH page AS (
         SELECT ${CASE_COLUMNS} FROM cases c
          ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY c.created_at ${order}, c.id ${order} LIMIT $${params.length})
       SELECT page.*, to_char(page.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key,
              ls.id AS session_id, ls.state AS session_state, lr.id AS recording_id, lr.status AS recording_status,
              lr.complete AS recording_complete, jsonb_array_length(lr.issues) AS recording_issue_count
         FROM page
         LEFT JOIN LATERAL (SELECT s.id, s.state FROM call_sessions s WHERE s.case_id = page.id ORDER BY s.admitted_at DESC LIMIT 1) ls ON true
         LEFT JOIN recordings lr ON lr.session_id = ls.id
        ORDER BY page.created_at ${order}, page.id ${order}`,
      params,
    );
    return r.rows;
  },

  /**
   * How many cases match, counted exactly up to `cap`; beyond it the answer is "more than cap". Counting a broad
   * filter (every case awaiting review) exactly would cost a scan of everything it matches on every search.
   */
  async count(db: Queryable, f: ArchiveFilter, cap: number): Promise<{ total: number; exact: boolean }> {
    const params: unknown[] = [];
    const where = whereOf(f, params);
    params.push(cap + 1);
    const r = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT 1 FROM cases c ${where.length ? `WHERE ${where.join(' AND ')}` : ''} LIMIT $${params.length}) matching`,
      params,
    );
    const n = Number(r.rows[0]?.n ?? 0);
    return n > cap ? { total: cap, exact: false } : { total: n, exact: true };
  },

  async invitationsOfCase(db: Queryable, caseId: string): Promise<InvitationRow[]> {
    const r = await db.query<InvitationRow>('SELECT * FROM invitations WHERE case_id = $1 ORDER BY created_at, id', [caseId]);
    return r.rows;
  },

  /**
   * The first `limit` events of the sessions in time order, or the next ones after a page's last (`after`, keyset on
   * time and id); one more is read to tell whether there are more.
   */
  async eventsOfSessions(db: Queryable, sessionIds: string[], limit: number, after: SessionEventKey | null = null): Promise<{ rows: SessionEventRow[]; truncated: boolean }> {
    if (sessionIds.length === 0) return { rows: [], truncated: false };
    const r = await db.query<SessionEventRow>(
      `SELECT id, session_id, at, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at_key, party, kind, data, text_enc
         FROM session_events
        WHERE session_id = ANY($1::uuid[]) ${after ? 'AND (at, id) > ($3::timestamptz, $4::bigint)' : ''}
        ORDER BY at, id LIMIT $2`,
      after ? [sessionIds, limit + 1, after.atKey, after.id] : [sessionIds, limit + 1],
    );
    return { rows: r.rows.slice(0, limit), truncated: r.rows.length > limit };
  },

  /** The teller marks the case done: only from an active status, once no session is live and one has ended. */
  async complete(db: Queryable, caseId: string): Promise<boolean> {
    const r = await db.query(
      `UPDATE cases c SET status = 'completed', completed_at = now(), updated_at = now()
        WHERE c.id = $1 AND c.status IN ('invited', 'in_session')
          AND EXISTS (SELECT 1 FROM call_sessions s WHERE s.case_id = c.id AND s.state = 'ended')
          AND NOT EXISTS (SELECT 1 FROM call_sessions s WHERE s.case_id = c.id AND s.state = 'live')`,
      [caseId],
    );
    return (r.rowCount ?? 0) === 1;
  },

  /** Records the decision and moves the case on; false when the case is not (or no longer) awaiting review. */
  async review(
    db: Queryable,
    r: { caseId: string; decision: 'approved' | 'rejected'; comment: string; rejectReasons: RejectReason[]; promptingNotes: string | null; reviewer: string },
  ): Promise<CaseReviewRow | null> {
    const moved = await db.query(`UPDATE cases SET status = $2, updated_at = now() WHERE id = $1 AND status = 'completed'`, [r.caseId, r.decision]);
    if ((moved.rowCount ?? 0) !== 1) return null;
    const ins = await db.query<CaseReviewRow>(
      `INSERT INTO case_reviews (case_id, decision, comment, reject_reasons, prompting_notes, reviewer) VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING ${REVIEW_COLUMNS}`,
      [r.caseId, r.decision, r.comment, r.rejectReasons, r.promptingNotes, r.reviewer],
    );
    return ins.rows[0] ?? null;
  },

  async reviewsOf(db: Queryable, caseIds: string[]): Promise<Map<string, CaseReviewRow>> {
    if (caseIds.length === 0) return new Map();
    const r = await db.query<CaseReviewRow>(`SELECT ${REVIEW_COLUMNS} FROM case_reviews WHERE case_id = ANY($1::uuid[])`, [caseIds]);
    return new Map(r.rows.map((row) => [row.case_id, row]));
  },
};
