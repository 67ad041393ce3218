import { isAuditError, type AuditLog, type ListedEvent } from '@kyc/compliance';
import type { RecordingIssue, Timeline, TimelineAuditEvent, TimelineInvitation, TimelineSession } from '../archive-api-types.js';
import { DomainError } from '../domain/errors.js';
import { revealSessionEvent } from '../kyc/geolocation.js';
import type { PiiCipher } from '../lib/pii-cipher.js';
import type { Queryable } from '../db/database.js';
import { archiveRepository, type SessionEventKey, type SessionEventRow } from '../repositories/archive.repository.js';
import { callSessionRepository, type CallSessionRow } from '../repositories/call-session.repository.js';
import { caseFileRepository, type CaseFileRow } from '../repositories/case-file.repository.js';
import type { CaseRow } from '../repositories/case.repository.js';
import type { InvitationRow } from '../repositories/invitation.repository.js';
import { recordingRepository, type RecordingRow } from '../repositories/recording.repository.js';
import { qualityIncidentsOfSessions, qualityOfSessions } from './call-quality.js';
import type { CaseService } from './case.service.js';
import { stepOf } from './invitation.service.js';

/** A case's timeline is bounded: at most this many session events (chat, markers…) and audit events. */
export const TIMELINE_MAX_SESSION_EVENTS = 5000;
export const TIMELINE_MAX_AUDIT_EVENTS = 5000;
/** the audit log's own page size: the timeline reads its audit events in at most limit / this many queries */
const AUDIT_PAGE = 1000;

/** Which part of a timeline to load: the default is the whole timeline up to its bounds. */
export interface TimelinePage {
  /** at most this many session events and this many audit events (default: the bounds above) */
  limit?: number | undefined;
  /** where the previous page stopped (its `nextCursor`) */
  after?: string | undefined;
}

/**
 * Where a page stopped, for each of the two lists that page: the last session event, and the audit log's own cursor.
 * A list absent from the cursor is complete (a later page lists none of it).
 */
interface TimelineCursor {
  events: SessionEventKey | null;
  audit: string | null;
}

function encodeCursor(c: TimelineCursor): string {
  return Buffer.from(JSON.stringify({ v: 1, ...(c.events ? { e: [c.events.atKey, c.events.id] } : {}), ...(c.audit ? { a: c.audit } : {}) })).toString('base64url');
}

function badCursor(): DomainError {
  return new DomainError('BAD_PARAMETER', 'The cursor is not valid.', [{ field: 'after', code: 'cursor' }]);
}

function decodeCursor(cursor: string): TimelineCursor {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  if (typeof v !== 'object' || v === null || (v as { v?: unknown }).v !== 1) throw badCursor();
  const { e, a } = v as { e?: unknown; a?: unknown };
  let events: SessionEventKey | null = null;
  if (e !== undefined) {
    if (!Array.isArray(e) || e.length !== 2) throw badCursor();
    const [atKey, id] = e as [unknown, unknown];
    if (typeof atKey !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(atKey) || typeof id !== 'string' || !/^[1-9]\d{0,17}$/.test(id)) throw badCursor();
    // a real instant since 1970 (no 30 February, no year 0), so the database is never asked to read a bad one
    const at = new Date(`${atKey.slice(0, 23)}Z`);
    if (!(at.getTime() >= 0) || at.toISOString().slice(0, 23) !== atKey.slice(0, 23)) throw badCursor();
    events = { atKey, id };
  }
  if (a !== undefined && (typeof a !== 'string' || !/^[A-Za-z0-9_-]{1,100}$/.test(a))) throw badCursor();
  return { events, audit: (a as string | undefined) ?? null };
}

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

/** Groups rows by a key, in their order: one pass instead of a filter per session. */
function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}

/**
 * The case's audit events in leaf order from `cursor`, at most `limit` of them, and the audit log's cursor after the
 * last one (null: no more). Pages of the log's own size: a fixed number of queries for a given limit.
 */
async function auditEventsOf(auditLog: AuditLog, objectIds: string[], cursor: string | null, limit: number): Promise<{ events: ListedEvent[]; next: string | null }> {
  const events: ListedEvent[] = [];
  let next = cursor;
  try {
    do {
      const page = await auditLog.listEvents({ objectIds, order: 'asc' }, next, Math.min(AUDIT_PAGE, limit - events.length));
      events.push(...page.events);
      next = page.nextCursor;
    } while (next && events.length < limit);
  } catch (err) {
    // a cursor the log does not accept came from outside (the timeline's own cursor is not signed)
    if (cursor !== null && isAuditError(err, 'KYC_ERR_AUDIT_QUERY_INVALID')) throw badCursor();
    throw err;
  }
  return { events, next };
}

export interface TimelineDeps {
  pii: PiiCipher;
  cases: CaseService;
  /** the log's read side */
  auditLog: AuditLog;
}

/**
 * A case's timeline for the auditor: invitations, sessions with their events, chat, files, quality incidents and
 * recordings, and the case's audit events with leaf indexes. Read with a fixed number of queries whatever the case
 * holds: one per kind of record, and the audit events in pages of the log's size.
 *
 * Pages: every page carries the case, its invitations and sessions (files, recording, quality incidents); the
 * session events and the audit events are what pages, `limit` of each, from where `after` says. Without either the
 * answer is the whole timeline up to its bounds, without `nextCursor`.
 *
 * `recordView` writes the caller's own audit event; it runs before the audit events are read, so the opening of
 * this timeline is part of it once sequenced.
 */
export async function caseTimeline(db: Queryable, deps: TimelineDeps, row: CaseRow, page: TimelinePage, recordView: () => Promise<void>): Promise<Timeline> {
  const paged = page.limit !== undefined || page.after !== undefined;
  const eventLimit = page.limit ?? TIMELINE_MAX_SESSION_EVENTS;
  const auditLimit = page.limit ?? TIMELINE_MAX_AUDIT_EVENTS;
  const from = page.after !== undefined ? decodeCursor(page.after) : null;
  const [invitations, sessions, files, reviews] = await Promise.all([
    archiveRepository.invitationsOfCase(db, row.id),
    callSessionRepository.listForCase(db, row.id),
    caseFileRepository.listForCase(db, row.id),
    archiveRepository.reviewsOf(db, [row.id]),
  ]);
  sessions.sort((a, b) => a.admitted_at.getTime() - b.admitted_at.getTime());
  const sessionIds = sessions.map((s) => s.id);
  // a list a previous page finished is not read again
  const eventsDone = from !== null && from.events === null;
  const [events, recordings, incidents] = await Promise.all([
    eventsDone ? { rows: [], truncated: false } : archiveRepository.eventsOfSessions(db, sessionIds, eventLimit, from?.events ?? null),
    recordingRepository.listForSessions(db, sessionIds),
    qualityIncidentsOfSessions(db, sessionIds, TIMELINE_MAX_SESSION_EVENTS),
  ]);
  await recordView();

  // Every object of the case that audit events name, in one query per page of the log (in leaf order).
  const objectIds = [row.id, ...invitations.map((i) => i.id), ...sessionIds, ...recordings.map((x) => x.id), ...files.map((f) => f.id)];
  const audit = from !== null && from.audit === null ? { events: [], next: null } : await auditEventsOf(deps.auditLog, objectIds, from?.audit ?? null, auditLimit);

  const lastEvent = events.rows[events.rows.length - 1];
  const cursor: TimelineCursor = { events: events.truncated && lastEvent ? { atKey: lastEvent.at_key, id: String(lastEvent.id) } : null, audit: audit.next };
  return {
    case: deps.cases.toView(row, reviews.get(row.id) ?? null),
    invitations: invitationViews(invitations, sessions),
    sessions: sessionViews(deps.pii, sessions, { events: events.rows, incidents: incidents.rows, files, recordings }),
    auditEvents: audit.events.map(auditEventView),
    truncated: { sessionEvents: events.truncated, auditEvents: audit.next !== null, qualityIncidents: incidents.truncated },
    ...(paged ? { nextCursor: cursor.events || cursor.audit ? encodeCursor(cursor) : null } : {}),
  };
}

type QualityIncident = Awaited<ReturnType<typeof qualityIncidentsOfSessions>>['rows'][number];

function invitationViews(invitations: InvitationRow[], sessions: CallSessionRow[]): TimelineInvitation[] {
  // sessions are in admission order: the last one of an invitation is its latest
  const latest = new Map<string, CallSessionRow>();
  for (const s of sessions) latest.set(s.invitation_id, s);
  return invitations.map((i) => ({
    id: i.id,
    step: stepOf(i, latest.get(i.id) ?? null),
    createdBy: i.created_by,
    createdAt: i.created_at.toISOString(),
    expiresAt: i.expires_at.toISOString(),
    openedAt: iso(i.opened_at),
    codeAttempts: i.code_attempts,
    codeVerifiedAt: iso(i.code_verified_at),
    lockedAt: iso(i.locked_at),
    deviceCheckedAt: iso(i.device_checked_at),
    consent: i.consent,
    consentAt: iso(i.consent_at),
    revokedAt: iso(i.revoked_at),
    closedAt: iso(i.closed_at),
  }));
}

function sessionViews(
  pii: PiiCipher,
  sessions: CallSessionRow[],
  of: { events: SessionEventRow[]; incidents: QualityIncident[]; files: CaseFileRow[]; recordings: RecordingRow[] },
): TimelineSession[] {
  const events = groupBy(of.events, (e) => e.session_id);
  const incidents = groupBy(of.incidents, (x) => x.sessionId);
  // files of no session (uploaded outside a call) are in no session's list
  const files = groupBy(of.files, (f) => f.session_id ?? '');
  const recordings = new Map<string, RecordingRow>();
  // the first recording of a session, as a search from the start would find it
  for (const r of of.recordings) if (!recordings.has(r.session_id)) recordings.set(r.session_id, r);
  return sessions.map((s) => {
    const rec = recordings.get(s.id) ?? null;
    return {
      id: s.id,
      state: s.state,
      admittedAt: s.admitted_at.toISOString(),
      endedAt: iso(s.ended_at),
      endReason: s.end_reason,
      events: (events.get(s.id) ?? []).map((e) => ({
        id: String(e.id),
        at: e.at.toISOString(),
        party: e.party,
        kind: e.kind,
        // chat and the customer's location are part of the evidence the auditor reviews
        ...revealSessionEvent(pii, s.id, { id: String(e.id), kind: e.kind, data: e.data, textEnc: e.text_enc }),
      })),
      qualityIncidents: (incidents.get(s.id) ?? [])
        .filter((x) => x.party !== 'system')
        .map((x) => ({ at: new Date(x.t).toISOString(), party: x.party as 'teller' | 'customer', kind: x.kind, data: x.data })),
      files: (files.get(s.id) ?? []).map((f) => ({
        id: f.id,
        name: f.name,
        mediaType: f.media_type,
        size: f.size,
        sha256: f.sha256.toString('hex'),
        from: f.party,
        at: f.created_at.toISOString(),
        url: `/api/files/${f.id}`,
      })),
      recording: rec
        ? {
            id: rec.id,
            status: rec.status,
            complete: rec.complete,
            issues: rec.issues as RecordingIssue[],
            sealedAt: iso(rec.sealed_at),
            failureReason: rec.failure_reason,
          }
        : null,
    };
  });
}

function auditEventView(e: ListedEvent): TimelineAuditEvent {
  return {
    leafIndex: e.leafIndex,
    leaf: e.leaf,
    leafHash: e.leafHash,
    action: e.event.action,
    time: e.event.time,
    actor: e.event.actor.username,
    result: e.event.result,
    objectType: e.event.object?.type ?? null,
    objectId: e.event.object?.id ?? null,
  };
}

/** A case's call quality: its sessions' samples and incidents (the caller has checked the case is visible). */
export async function caseQuality(db: Queryable, caseId: string) {
  const sessions = await callSessionRepository.listForCase(db, caseId);
  return qualityOfSessions(
    db,
    sessions.map((s) => s.id),
  );
}
