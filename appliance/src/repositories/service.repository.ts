import type { Queryable } from '../db/database.js';
import type { MediaMode } from '../domain/vocabulary.js';
import type { CallbackOutcome, PresenceStatus, ServiceLang as Lang, ServiceReportFigures, VisitState } from '../domain/service-report.js';

export type { Lang, PresenceStatus, VisitState };

export interface VisitRow {
  id: string;
  product_code: string;
  lang: Lang;
  ticket_hash: Buffer;
  device_hash: Buffer;
  name_enc: Buffer;
  phone_enc: Buffer | null;
  state: VisitState;
  created_at: Date;
  expires_at: Date;
  queued_at: Date | null;
  accepted_at: Date | null;
  accepted_by: string | null;
  left_at: Date | null;
  case_id: string | null;
  invitation_id: string | null;
  callback_teller: string | null;
  callback_taken_at: Date | null;
  /** how the customer asked to talk to a person (copied to the invitation when a teller accepts) */
  media_mode: MediaMode;
}

export interface MessageRow {
  id: string;
  at: Date;
  party: 'customer' | 'assistant';
  text_enc: Buffer;
  citation: { entryId: string; title: string; version: number } | null;
}

export interface OfferRow {
  id: string;
  visit_id: string;
  teller: string;
  state: 'open' | 'accepted' | 'declined' | 'expired' | 'withdrawn';
  created_at: Date;
  expires_at: Date;
  answered_at: Date | null;
}

export interface PresenceRow {
  username: string;
  status: PresenceStatus;
  products: string[];
  languages: string[];
  since: Date;
}

const VISIT = `id, product_code, lang, ticket_hash, device_hash, name_enc, phone_enc, state, created_at, expires_at, queued_at, accepted_at,
  accepted_by, left_at, case_id, invitation_id, callback_teller, callback_taken_at, media_mode`;
const OFFER = 'id, visit_id, teller, state, created_at, expires_at, answered_at';

async function one<T extends object>(db: Queryable, sql: string, params: unknown[]): Promise<T | null> {
  const r = await db.query<T>(sql, params);
  return r.rows[0] ?? null;
}

export const serviceRepository = {
  async insertVisit(
    db: Queryable,
    v: { id: string; productCode: string; lang: Lang; ticketHash: Buffer; deviceHash: Buffer; nameEnc: Buffer; phoneEnc: Buffer | null; expiresAt: Date },
  ): Promise<VisitRow> {
    const row = await one<VisitRow>(
      db,
      `INSERT INTO service_visits (id, product_code, lang, ticket_hash, device_hash, name_enc, phone_enc, state, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'assistant', $8) RETURNING ${VISIT}`,
      [v.id, v.productCode, v.lang, v.ticketHash, v.deviceHash, v.nameEnc, v.phoneEnc, v.expiresAt],
    );
    if (!row) throw new Error('insert returned no row');
    return row;
  },

  findVisit(db: Queryable, id: string, forUpdate = false): Promise<VisitRow | null> {
    return one<VisitRow>(db, `SELECT ${VISIT} FROM service_visits WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  },

  async updateVisit(
    db: Queryable,
    id: string,
    fields: Partial<Record<'state' | 'queued_at' | 'accepted_at' | 'accepted_by' | 'left_at' | 'case_id' | 'invitation_id' | 'media_mode', unknown>>,
  ): Promise<void> {
    const keys = Object.keys(fields);
    if (keys.length === 0) return;
    const sets = keys.map((k, i) => `${k} = $${i + 2}`).join(', ');
    await db.query(`UPDATE service_visits SET ${sets} WHERE id = $1`, [id, ...keys.map((k) => (fields as Record<string, unknown>)[k])]);
  },

  /**
   * The visit joins its queue now: the database's clock (microseconds), so that visits transferred within one
   * millisecond still queue in the order they came.
   */
  async enqueue(db: Queryable, id: string, mediaMode: MediaMode): Promise<Date> {
    const r = await db.query<{ queued_at: Date }>(`UPDATE service_visits SET state = 'queued', queued_at = clock_timestamp(), media_mode = $2 WHERE id = $1 RETURNING queued_at`, [
      id,
      mediaMode,
    ]);
    const at = r.rows[0]?.queued_at;
    if (!at) throw new Error(`no visit ${id}`);
    return at;
  },

  /** 1-based place of a queued visit among the queued visits of its product and language. */
  async position(db: Queryable, v: VisitRow): Promise<number> {
    // 1 + the visits still queued ahead (one statement: one snapshot, whatever happens to this visit meanwhile)
    const r = await db.query<{ n: string }>(
      `SELECT 1 + count(*) AS n FROM service_visits
        WHERE state = 'queued' AND product_code = $1 AND lang = $2
          AND (queued_at, id) < (SELECT queued_at, id FROM service_visits WHERE id = $3)`,
      // the visit's own queued_at as stored (microseconds), not as read back into a millisecond Date
      [v.product_code, v.lang, v.id],
    );
    return Number(r.rows[0]?.n ?? 1);
  },

  /** One routing pass at a time across processes: held until the transaction ends. */
  async lockRouting(db: Queryable): Promise<void> {
    await db.query(`SELECT pg_advisory_xact_lock(hashtext('kyc.service.routing'))`);
  },

  /** Messages are encrypted with their id in the context: the id is reserved first. */
  async nextMessageId(db: Queryable): Promise<string> {
    const r = await db.query<{ id: string }>(`SELECT nextval('service_messages_id_seq')::text AS id`);
    const id = r.rows[0]?.id;
    if (!id) throw new Error('no message id');
    return id;
  },

  async insertMessage(db: Queryable, m: { id: string; visitId: string; party: 'customer' | 'assistant'; textEnc: Buffer; citation: object | null }): Promise<void> {
    await db.query('INSERT INTO service_messages (id, visit_id, party, text_enc, citation) VALUES ($1, $2, $3, $4, $5)', [
      m.id,
      m.visitId,
      m.party,
      m.textEnc,
      m.citation === null ? null : JSON.stringify(m.citation),
    ]);
  },

  async setPhone(db: Queryable, visitId: string, phoneEnc: Buffer): Promise<void> {
    await db.query('UPDATE service_visits SET phone_enc = $2 WHERE id = $1', [visitId, phoneEnc]);
  },

  async isRated(db: Queryable, visitId: string): Promise<boolean> {
    return (await db.query('SELECT 1 FROM service_ratings WHERE visit_id = $1', [visitId])).rowCount === 1;
  },

  /** The customer's page is still there (its poll). */
  async touch(db: Queryable, visitId: string): Promise<void> {
    await db.query('UPDATE service_visits SET last_seen_at = now() WHERE id = $1', [visitId]);
  },

  /** Queued visits whose page stopped polling this many seconds ago have gone; their open offers are withdrawn. */
  async abandonUnseen(db: Queryable, seconds: number): Promise<string[]> {
    const r = await db.query<{ id: string }>(
      `UPDATE service_visits SET state = 'left', left_at = now() WHERE state = 'queued' AND last_seen_at < now() - make_interval(secs => $1) RETURNING id`,
      [seconds],
    );
    const ids = r.rows.map((x) => x.id);
    if (ids.length > 0) await db.query(`UPDATE service_offers SET state = 'withdrawn', answered_at = now() WHERE visit_id = ANY ($1) AND state = 'open'`, [ids]);
    return ids;
  },

  /** Visits whose ticket ran out before a teller took them leave the queue; their open offers are withdrawn. */
  async expireVisits(db: Queryable): Promise<string[]> {
    const r = await db.query<{ id: string }>(`UPDATE service_visits SET state = 'expired', left_at = now() WHERE state IN ('assistant', 'queued') AND expires_at <= now() RETURNING id`);
    const ids = r.rows.map((x) => x.id);
    if (ids.length > 0) await db.query(`UPDATE service_offers SET state = 'withdrawn', answered_at = now() WHERE visit_id = ANY ($1) AND state = 'open'`, [ids]);
    return ids;
  },

  async messages(db: Queryable, visitId: string): Promise<MessageRow[]> {
    const r = await db.query<MessageRow>('SELECT id, at, party, text_enc, citation FROM service_messages WHERE visit_id = $1 ORDER BY id', [visitId]);
    return r.rows;
  },

  async countMessages(db: Queryable, visitId: string): Promise<number> {
    const r = await db.query<{ n: string }>('SELECT count(*) AS n FROM service_messages WHERE visit_id = $1', [visitId]);
    return Number(r.rows[0]?.n ?? 0);
  },

  // presence

  presence(db: Queryable, username: string): Promise<PresenceRow | null> {
    return one<PresenceRow>(db, 'SELECT username, status, products, languages, since FROM teller_presence WHERE username = $1', [username]);
  },

  /** Sets a teller's status and skills; `since` (what longest-idle routing orders by) becomes `now` when the status changes. */
  async setPresence(db: Queryable, username: string, status: PresenceStatus, skills: { products: string[]; languages: string[] } | null, now: Date): Promise<PresenceRow> {
    const row = await one<PresenceRow>(
      db,
      `INSERT INTO teller_presence (username, status, products, languages, since) VALUES ($1, $2, coalesce($3, '{}'::text[]), coalesce($4, '{}'::text[]), $5)
       ON CONFLICT (username) DO UPDATE SET
         since = CASE WHEN teller_presence.status = EXCLUDED.status THEN teller_presence.since ELSE EXCLUDED.since END,
         status = EXCLUDED.status,
         products = coalesce($3, teller_presence.products),
         languages = coalesce($4, teller_presence.languages),
         updated_at = now()
       RETURNING username, status, products, languages, since`,
      [username, status, skills?.products ?? null, skills?.languages ?? null, now],
    );
    if (!row) throw new Error('upsert returned no row');
    return row;
  },

  /** Tellers who could take a visit of this product and language now: available, skilled, no open offer. */
  async eligibleTellers(db: Queryable, productCode: string, lang: Lang): Promise<PresenceRow[]> {
    const r = await db.query<PresenceRow>(
      `SELECT p.username, p.status, p.products, p.languages, p.since FROM teller_presence p
        WHERE p.status = 'available' AND $1 = ANY (p.products) AND $2 = ANY (p.languages)
          AND NOT EXISTS (SELECT 1 FROM service_offers o WHERE o.teller = p.username AND o.state = 'open')
        ORDER BY p.username`,
      [productCode, lang],
    );
    return r.rows;
  },

  /** Tellers staffing a queue (available or busy with its skill): the divisor of the wait estimate. */
  async staffed(db: Queryable, productCode: string, lang: Lang): Promise<number> {
    const r = await db.query<{ n: string }>(`SELECT count(*) AS n FROM teller_presence WHERE status IN ('available', 'busy') AND $1 = ANY (products) AND $2 = ANY (languages)`, [
      productCode,
      lang,
    ]);
    return Number(r.rows[0]?.n ?? 0);
  },

  /** Queued visits without an open offer, oldest first (routing's work list). */
  async unofferedQueue(db: Queryable): Promise<VisitRow[]> {
    const r = await db.query<VisitRow>(
      `SELECT ${VISIT} FROM service_visits v
        WHERE v.state = 'queued' AND NOT EXISTS (SELECT 1 FROM service_offers o WHERE o.visit_id = v.id AND o.state = 'open')
        ORDER BY v.queued_at, v.id`,
    );
    return r.rows;
  },

  /** Tellers who already had (and let go) an offer of this visit. */
  async offeredTo(db: Queryable, visitId: string): Promise<Set<string>> {
    const r = await db.query<{ teller: string }>(`SELECT DISTINCT teller FROM service_offers WHERE visit_id = $1 AND state <> 'open'`, [visitId]);
    return new Set(r.rows.map((x) => x.teller));
  },

  async insertOffer(db: Queryable, o: { id: string; visitId: string; teller: string; expiresAt: Date }): Promise<OfferRow> {
    const row = await one<OfferRow>(db, `INSERT INTO service_offers (id, visit_id, teller, state, expires_at) VALUES ($1, $2, $3, 'open', $4) RETURNING ${OFFER}`, [
      o.id,
      o.visitId,
      o.teller,
      o.expiresAt,
    ]);
    if (!row) throw new Error('insert returned no row');
    return row;
  },

  findOffer(db: Queryable, id: string, forUpdate = false): Promise<OfferRow | null> {
    return one<OfferRow>(db, `SELECT ${OFFER} FROM service_offers WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  },

  /** The teller's offers still open at `now`. */
  async openOffersOf(db: Queryable, teller: string, now: Date): Promise<OfferRow[]> {
    const r = await db.query<OfferRow>(`SELECT ${OFFER} FROM service_offers WHERE teller = $1 AND state = 'open' AND expires_at > $2 ORDER BY created_at`, [teller, now]);
    return r.rows;
  },

  async openOfferOfVisit(db: Queryable, visitId: string): Promise<OfferRow | null> {
    return one<OfferRow>(db, `SELECT ${OFFER} FROM service_offers WHERE visit_id = $1 AND state = 'open' FOR UPDATE`, [visitId]);
  },

  async closeOffer(db: Queryable, id: string, state: 'accepted' | 'declined' | 'expired' | 'withdrawn'): Promise<void> {
    await db.query(`UPDATE service_offers SET state = $2, answered_at = now() WHERE id = $1 AND state = 'open'`, [id, state]);
  },

  /** Open offers past their time at `now`, locked (skipping ones another process is closing). */
  async expiredOffers(db: Queryable, now: Date): Promise<OfferRow[]> {
    const r = await db.query<OfferRow>(`SELECT ${OFFER} FROM service_offers WHERE state = 'open' AND expires_at <= $1 ORDER BY expires_at FOR UPDATE SKIP LOCKED`, [now]);
    return r.rows;
  },

  async nextOfferExpiry(db: Queryable): Promise<Date | null> {
    const r = await db.query<{ at: Date | null }>(`SELECT min(expires_at) AS at FROM service_offers WHERE state = 'open'`);
    return r.rows[0]?.at ?? null;
  },

  /** Mean handling seconds of the last 50 service calls that ended (null when none yet). */
  async meanHandlingSeconds(db: Queryable): Promise<number | null> {
    const r = await db.query<{ s: number | null }>(
      `SELECT avg(extract(epoch FROM s.ended_at - s.admitted_at))::float8 AS s FROM (
         SELECT cs.ended_at, cs.admitted_at FROM call_sessions cs JOIN service_visits v ON v.case_id = cs.case_id
          WHERE cs.state = 'ended' AND cs.ended_at IS NOT NULL ORDER BY cs.ended_at DESC LIMIT 50) s`,
    );
    return r.rows[0]?.s ?? null;
  },

  async insertRating(db: Queryable, r: { visitId: string; caseId: string | null; teller: string | null; productCode: string; score: number; commentEnc: Buffer | null }): Promise<boolean> {
    const res = await db.query(
      `INSERT INTO service_ratings (visit_id, case_id, teller, product_code, score, comment_enc) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (visit_id) DO NOTHING`,
      [r.visitId, r.caseId, r.teller, r.productCode, r.score, r.commentEnc],
    );
    return (res.rowCount ?? 0) > 0;
  },

  async latestCallOfCase(db: Queryable, caseId: string): Promise<{ state: string } | null> {
    return one<{ state: string }>(db, 'SELECT state FROM call_sessions WHERE case_id = $1 ORDER BY admitted_at DESC LIMIT 1', [caseId]);
  },

  // the admin report: figures only, no personal data

  /** Call-backs nobody has taken yet, for these products and languages (a destroyed visit key has nothing to call). */
  async callbacksWaiting(db: Queryable, products: string[], languages: string[]): Promise<number> {
    const r = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM service_visits
        WHERE state = 'callback' AND callback_teller IS NULL AND key_destroyed_at IS NULL AND product_code = ANY ($1) AND lang = ANY ($2)`,
      [products, languages],
    );
    return Number(r.rows[0]?.n ?? 0);
  },

  heldCallback(db: Queryable, teller: string): Promise<VisitRow | null> {
    return one<VisitRow>(db, `SELECT ${VISIT} FROM service_visits WHERE callback_teller = $1 AND callback_done_at IS NULL`, [teller]);
  },

  /** The oldest waiting call-back of these skills goes to the teller; two tellers taking at once get two different ones. */
  takeNextCallback(db: Queryable, teller: string, products: string[], languages: string[]): Promise<VisitRow | null> {
    return one<VisitRow>(
      db,
      `UPDATE service_visits SET callback_teller = $1, callback_taken_at = now()
        WHERE id = (SELECT id FROM service_visits
                     WHERE state = 'callback' AND callback_teller IS NULL AND key_destroyed_at IS NULL AND product_code = ANY ($2) AND lang = ANY ($3)
                     ORDER BY left_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING ${VISIT}`,
      [teller, products, languages],
    );
  },

  async finishCallback(db: Queryable, visitId: string, teller: string, outcome: CallbackOutcome): Promise<boolean> {
    const r = await db.query(`UPDATE service_visits SET callback_done_at = now(), callback_outcome = $3 WHERE id = $1 AND callback_teller = $2 AND callback_done_at IS NULL`, [
      visitId,
      teller,
      outcome,
    ]);
    return (r.rowCount ?? 0) > 0;
  },

  async report(db: Queryable, since: Date): Promise<ServiceReportFigures> {
    const waiting = await db.query<{ product_code: string; lang: string; n: string }>(
      `SELECT product_code, lang, count(*) AS n FROM service_visits WHERE state = 'queued' GROUP BY product_code, lang ORDER BY product_code, lang`,
    );
    const waits = await db.query<{ avg: number | null; p90: number | null; handled: string; abandoned: string; callbacks: string }>(
      `SELECT avg(extract(epoch FROM accepted_at - queued_at)) FILTER (WHERE state = 'accepted')::float8 AS avg,
              percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM accepted_at - queued_at)) FILTER (WHERE state = 'accepted')::float8 AS p90,
              count(*) FILTER (WHERE state = 'accepted') AS handled,
              count(*) FILTER (WHERE state = 'left' AND queued_at IS NOT NULL) AS abandoned,
              count(*) FILTER (WHERE state = 'callback') AS callbacks
         FROM service_visits WHERE queued_at IS NOT NULL AND created_at >= $1`,
      [since],
    );
    const perTeller = await db.query<{ teller: string; handled: string; avg_wait: number | null }>(
      `SELECT accepted_by AS teller, count(*) AS handled, avg(extract(epoch FROM accepted_at - queued_at))::float8 AS avg_wait
         FROM service_visits WHERE state = 'accepted' AND created_at >= $1 GROUP BY accepted_by ORDER BY accepted_by`,
      [since],
    );
    const ratings = await db.query<{ teller: string | null; product_code: string; day: string; n: string; avg: number }>(
      `SELECT teller, product_code, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS n, avg(score)::float8 AS avg
         FROM service_ratings WHERE created_at >= $1 GROUP BY teller, product_code, day ORDER BY day, product_code, teller`,
      [since],
    );
    const open = await db.query<{ n: string }>(`SELECT count(*) AS n FROM service_visits WHERE state = 'callback' AND callback_done_at IS NULL`);
    const w = waits.rows[0];
    return {
      waiting: waiting.rows.map((x) => ({ productCode: x.product_code, lang: x.lang, count: Number(x.n) })),
      avgWaitSeconds: w?.avg ?? null,
      p90WaitSeconds: w?.p90 ?? null,
      handled: Number(w?.handled ?? 0),
      abandoned: Number(w?.abandoned ?? 0),
      callbacks: Number(w?.callbacks ?? 0),
      callbacksOpen: Number(open.rows[0]?.n ?? 0),
      perTeller: perTeller.rows.map((x) => ({ teller: x.teller, handled: Number(x.handled), avgWaitSeconds: x.avg_wait })),
      ratings: ratings.rows.map((x) => ({ teller: x.teller, productCode: x.product_code, day: x.day, count: Number(x.n), average: x.avg })),
    };
  },
};
