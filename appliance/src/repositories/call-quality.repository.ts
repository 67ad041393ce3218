import type { Queryable } from '../db/database.js';

export interface QualitySampleRow {
  session_id: string;
  at: Date;
  party: 'teller' | 'customer';
  source: 'janus' | 'browser';
  bitrate_kbps: number | null;
  loss_pct: number | null;
  rtt_ms: number | null;
  jitter_ms: number | null;
  available_kbps: number | null;
}

export interface QualityIncidentRow {
  id: string;
  session_id: string;
  at: Date;
  party: 'teller' | 'customer';
  kind: 'slowlink' | 'freeze';
  data: Record<string, unknown>;
}

export type NewQualityIncident = Omit<QualityIncidentRow, 'id'>;

export const callQualityRepository = {
  /** Many samples in one statement (column arrays unnested). */
  async insertSamples(db: Queryable, rows: QualitySampleRow[]): Promise<void> {
    if (rows.length === 0) return;
    const col = <K extends keyof QualitySampleRow>(k: K) => rows.map((r) => r[k]);
    await db.query(
      `INSERT INTO call_quality_samples (session_id, at, party, source, bitrate_kbps, loss_pct, rtt_ms, jitter_ms, available_kbps)
       SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::real[], $6::real[], $7::real[], $8::real[], $9::real[])`,
      [col('session_id'), col('at'), col('party'), col('source'), col('bitrate_kbps'), col('loss_pct'), col('rtt_ms'), col('jitter_ms'), col('available_kbps')],
    );
  },

  async insertIncidents(db: Queryable, rows: NewQualityIncident[]): Promise<void> {
    if (rows.length === 0) return;
    await db.query(
      `INSERT INTO call_quality_incidents (session_id, at, party, kind, data)
       SELECT s, a, p, k, d::jsonb FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[]) AS x(s, a, p, k, d)`,
      [rows.map((r) => r.session_id), rows.map((r) => r.at), rows.map((r) => r.party), rows.map((r) => r.kind), rows.map((r) => JSON.stringify(r.data))],
    );
  },

  /** The samples of the sessions in time order, at most `limit` (one more read to tell whether there are more). */
  async samplesOfSessions(db: Queryable, sessionIds: string[], limit: number): Promise<{ rows: QualitySampleRow[]; truncated: boolean }> {
    if (sessionIds.length === 0) return { rows: [], truncated: false };
    const r = await db.query<QualitySampleRow>(
      `SELECT session_id, at, party, source, bitrate_kbps, loss_pct, rtt_ms, jitter_ms, available_kbps
         FROM call_quality_samples WHERE session_id = ANY($1::uuid[]) ORDER BY at, id LIMIT $2`,
      [sessionIds, limit + 1],
    );
    return { rows: r.rows.slice(0, limit), truncated: r.rows.length > limit };
  },

  /** The incidents of the sessions in time order, bounded like samplesOfSessions. */
  async incidentsOfSessions(db: Queryable, sessionIds: string[], limit: number): Promise<{ rows: QualityIncidentRow[]; truncated: boolean }> {
    if (sessionIds.length === 0) return { rows: [], truncated: false };
    const r = await db.query<QualityIncidentRow>('SELECT id, session_id, at, party, kind, data FROM call_quality_incidents WHERE session_id = ANY($1::uuid[]) ORDER BY at, id LIMIT $2', [
      sessionIds,
      limit + 1,
    ]);
    return { rows: r.rows.slice(0, limit), truncated: r.rows.length > limit };
  },
};

/** Session events that are quality incidents changing the call: reconnects and steps between video, audio and chat. */
export const QUALITY_SESSION_EVENT_KINDS = ['call-mode', 'reconnect', 'disconnect'] as const;

export const callQualityEventsRepository = {
  async eventsOfSessions(
    db: Queryable,
    sessionIds: string[],
    limit: number,
  ): Promise<{ rows: Array<{ session_id: string; at: Date; party: string; kind: string; data: Record<string, unknown> }>; truncated: boolean }> {
    if (sessionIds.length === 0) return { rows: [], truncated: false };
    const r = await db.query<{ session_id: string; at: Date; party: string; kind: string; data: Record<string, unknown> }>(
      'SELECT session_id, at, party, kind, data FROM session_events WHERE session_id = ANY($1::uuid[]) AND kind = ANY($2::text[]) ORDER BY at, id LIMIT $3',
      [sessionIds, [...QUALITY_SESSION_EVENT_KINDS], limit + 1],
    );
    return { rows: r.rows.slice(0, limit), truncated: r.rows.length > limit };
  },
};
