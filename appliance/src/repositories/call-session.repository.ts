import type { MediaMode } from '../domain/vocabulary.js';
import type { Queryable } from '../db/database.js';

export interface CallSessionRow {
  id: string;
  case_id: string;
  invitation_id: string;
  teller: string;
  state: 'live' | 'ended';
  room_id: string;
  admitted_at: Date;
  ended_at: Date | null;
  end_reason: string | null;
  /** the invitation's media mode at admission */
  media_mode: MediaMode;
}

const COLUMNS = 'id, case_id, invitation_id, teller, state, room_id, admitted_at, ended_at, end_reason, media_mode';

export const callSessionRepository = {
  async insert(db: Queryable, s: { id: string; caseId: string; invitationId: string; teller: string; roomId: number }): Promise<CallSessionRow> {
    const r = await db.query<CallSessionRow>(
      `INSERT INTO call_sessions (id, case_id, invitation_id, teller, state, room_id, media_mode)
       VALUES ($1, $2, $3, $4, 'live', $5, (SELECT media_mode FROM invitations WHERE id = $3)) RETURNING ${COLUMNS}`,
      [s.id, s.caseId, s.invitationId, s.teller, s.roomId],
    );
    const row = r.rows[0];
    if (!row) throw new Error('insert returned no row');
    return row;
  },

  async findById(db: Queryable, id: string): Promise<CallSessionRow | null> {
    const r = await db.query<CallSessionRow>(`SELECT ${COLUMNS} FROM call_sessions WHERE id = $1`, [id]);
    return r.rows[0] ?? null;
  },

  async findByIdForUpdate(db: Queryable, id: string): Promise<CallSessionRow | null> {
    const r = await db.query<CallSessionRow>(`SELECT ${COLUMNS} FROM call_sessions WHERE id = $1 FOR UPDATE`, [id]);
    return r.rows[0] ?? null;
  },

  async latestForInvitation(db: Queryable, invitationId: string): Promise<CallSessionRow | null> {
    const r = await db.query<CallSessionRow>(`SELECT ${COLUMNS} FROM call_sessions WHERE invitation_id = $1 ORDER BY admitted_at DESC LIMIT 1`, [invitationId]);
    return r.rows[0] ?? null;
  },

  async listForCase(db: Queryable, caseId: string): Promise<CallSessionRow[]> {
    const r = await db.query<CallSessionRow>(`SELECT ${COLUMNS} FROM call_sessions WHERE case_id = $1 ORDER BY admitted_at`, [caseId]);
    return r.rows;
  },

  async listLive(db: Queryable): Promise<CallSessionRow[]> {
    const r = await db.query<CallSessionRow>(`SELECT ${COLUMNS} FROM call_sessions WHERE state = 'live'`);
    return r.rows;
  },

  /** Live sessions in which nothing happened (admission or any signaling event) for `seconds`. */
  async listLiveIdle(db: Queryable, seconds: number): Promise<CallSessionRow[]> {
    const r = await db.query<CallSessionRow>(
      `SELECT ${COLUMNS} FROM call_sessions s
        WHERE state = 'live' AND admitted_at < now() - make_interval(secs => $1)
          AND NOT EXISTS (SELECT 1 FROM session_events e WHERE e.session_id = s.id AND e.at >= now() - make_interval(secs => $1))`,
      [seconds],
    );
    return r.rows;
  },

  async end(db: Queryable, id: string, reason: string): Promise<void> {
    await db.query(`UPDATE call_sessions SET state = 'ended', ended_at = now(), end_reason = $2 WHERE id = $1 AND state = 'live'`, [id, reason]);
  },

  async addEvent(
    db: Queryable,
    e: { id?: string; sessionId: string; party: 'teller' | 'customer' | 'system'; kind: string; data?: Record<string, unknown>; textEnc?: Buffer | null },
  ): Promise<string> {
    const r = await db.query<{ id: string }>(
      `INSERT INTO session_events (id, session_id, party, kind, data, text_enc) VALUES (coalesce($6::bigint, nextval('session_events_id_seq')), $1, $2, $3, $4, $5) RETURNING id`,
      [e.sessionId, e.party, e.kind, JSON.stringify(e.data ?? {}), e.textEnc ?? null, e.id ?? null],
    );
    return r.rows[0]?.id ?? '';
  },

  /** An event id drawn before the row is written (so that its encrypted text can be bound to it). */
  async nextEventId(db: Queryable): Promise<string> {
    return (await db.query<{ id: string }>("SELECT nextval('session_events_id_seq')::text AS id")).rows[0]!.id;
  },

  /** A session's chat messages in order: sequence number, sender, time and the encrypted text. */
  async chatMessages(db: Queryable, sessionId: string): Promise<Array<{ id: string; seq: number; party: 'teller' | 'customer'; at: Date; textEnc: Buffer }>> {
    const r = await db.query<{ id: string; seq: number | null; party: 'teller' | 'customer'; at: Date; text_enc: Buffer | null }>(
      `SELECT id::text AS id, (data->>'seq')::int AS seq, party, at, text_enc FROM session_events
        WHERE session_id = $1 AND kind = 'chat' AND party IN ('teller', 'customer') ORDER BY id`,
      [sessionId],
    );
    return r.rows.filter((row) => row.seq !== null && row.text_enc !== null).map((row) => ({ id: row.id, seq: row.seq!, party: row.party, at: row.at, textEnc: row.text_enc! }));
  },
};
