import type pg from 'pg';
import { AuditError } from './errors.js';
import { decodeEvent, type AuditEvent } from './event.js';

/** Listing sequenced events by filter, with keyset pagination on the leaf index (the audit API's search). */

export interface EventFilter {
  /** actor.username, exact */
  actor?: string;
  /** exact action, or a prefix ending in `.*` (e.g. `case.*`) */
  action?: string;
  objectType?: string;
  objectId?: string;
  /** any of these object ids (1..1000 of them), in one query */
  objectIds?: readonly string[];
  result?: string;
  /** inclusive lower bound on event time */
  since?: Date | string;
  /** exclusive upper bound on event time */
  until?: Date | string;
  /** newest first (default) or oldest first */
  order?: 'desc' | 'asc';
}

export interface ListedEvent {
  leafIndex: number;
  eventId: number;
  /** the leaf bytes: canonical JSON, to be encoded as UTF-8 */
  leaf: string;
  /** base64 SHA-256(0x00 ‖ leaf) */
  leafHash: string;
  event: AuditEvent;
}

export interface EventPage {
  events: ListedEvent[];
  /** pass back to get the next page; null at the end */
  nextCursor: string | null;
}

const MAX_PAGE = 1000;

function queryError(message: string): never {
  throw new AuditError('KYC_ERR_AUDIT_QUERY_INVALID', message);
}

/**
 * Sequenced events matching the filter, newest first by default, with keyset pagination on the leaf index.
 * Bad filters throw KYC_ERR_AUDIT_QUERY_INVALID.
 */
export async function listEvents(pool: pg.Pool, filter: EventFilter = {}, cursor?: string | null, limit = 50): Promise<EventPage> {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) queryError(`limit must be 1..${MAX_PAGE}`);
  const order = filter.order ?? 'desc';
  if (order !== 'desc' && order !== 'asc') queryError('order must be asc or desc');
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  const str = (name: string, v: unknown): string => {
    if (typeof v !== 'string' || v.length === 0 || v.length > 256) queryError(`${name} must be a non-empty string`);
    return v;
  };
  const time = (name: string, v: Date | string): string => {
    const d = v instanceof Date ? v : new Date(v);
    if (Number.isNaN(d.getTime())) queryError(`${name} must be a date`);
    return d.toISOString();
  };
  if (filter.actor !== undefined) where.push(`e.actor = ${p(str('actor', filter.actor))}`);
  if (filter.action !== undefined) {
    const a = str('action', filter.action);
    if (a.endsWith('.*')) {
      const prefix = a.slice(0, -1);
      if (!/^[a-z0-9_.]+$/.test(prefix)) queryError('action prefix must be dotted lowercase');
      where.push(`e.action LIKE ${p(`${prefix}%`)}`);
    } else where.push(`e.action = ${p(a)}`);
  }
  if (filter.objectType !== undefined) where.push(`e.object_type = ${p(str('objectType', filter.objectType))}`);
  if (filter.objectId !== undefined) where.push(`e.object_id = ${p(str('objectId', filter.objectId))}`);
  if (filter.objectIds !== undefined) {
    if (!Array.isArray(filter.objectIds) || filter.objectIds.length === 0 || filter.objectIds.length > 1000) queryError('objectIds must list 1..1000 ids');
    where.push(`e.object_id = ANY(${p(filter.objectIds.map((id) => str('objectIds', id)))}::text[])`);
  }
  if (filter.result !== undefined) where.push(`e.result = ${p(str('result', filter.result))}`);
  if (filter.since !== undefined) where.push(`e.ev_time >= ${p(time('since', filter.since))}`);
  if (filter.until !== undefined) where.push(`e.ev_time < ${p(time('until', filter.until))}`);
  if (cursor !== undefined && cursor !== null) {
    const m = /^v1:(asc|desc):(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!m || m[1] !== order) queryError('bad cursor');
    where.push(`l.leaf_index ${order === 'desc' ? '<' : '>'} ${p(Number(m[2]))}`);
  }
  const sql = `SELECT l.leaf_index, l.event_id, l.leaf_hash, e.body
                 FROM audit_event e JOIN audit_leaf l ON l.event_id = e.id
                ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                ORDER BY l.leaf_index ${order === 'desc' ? 'DESC' : 'ASC'} LIMIT ${p(limit + 1)}`;
  const r = await pool.query<{ leaf_index: string; event_id: string; leaf_hash: Buffer; body: string }>(sql, params);
  const rows = r.rows.slice(0, limit);
  const events = rows.map((row) => ({
    leafIndex: Number(row.leaf_index),
    eventId: Number(row.event_id),
    leaf: row.body,
    leafHash: row.leaf_hash.toString('base64'),
    event: decodeEvent(row.body),
  }));
  const last = events[events.length - 1];
  const nextCursor = r.rows.length > limit && last ? Buffer.from(`v1:${order}:${last.leafIndex}`).toString('base64url') : null;
  return { events, nextCursor };
}
