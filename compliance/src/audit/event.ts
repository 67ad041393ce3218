import canonicalize from 'canonicalize';
import { AuditError } from './errors.js';

/**
 * One audit event. Its leaf bytes are its RFC 8785 canonical JSON (UTF-8).
 *
 * No raw PII: callers put user ids / usernames, case ids and HMAC blind-index values here, never names, ID
 * numbers, phone numbers or card numbers. That cannot be checked in general; `details` is limited to flat
 * scalars to keep accidental payload dumps out.
 */
export interface AuditEvent {
  v: 1;
  /** ISO-8601 UTC with milliseconds, e.g. 2026-11-22T10:00:00.000Z */
  time: string;
  actor: AuditActor;
  /** dotted lowercase, e.g. auth.login, case.create, recording.view */
  action: string;
  object: AuditObject | null;
  result: AuditResult;
  reason?: string;
  requestId?: string;
  clientAddress?: string;
  details?: Record<string, string | number | boolean | null>;
}

export type AuditAuth = 'session' | 'bearer' | 'invitation' | 'system' | 'anonymous';
export type AuditResult = 'success' | 'failure' | 'denied';

export interface AuditActor {
  username: string;
  roles: string[];
  auth: AuditAuth;
}

export interface AuditObject {
  type: string;
  id: string;
}

/** What callers pass: `v` and `time` are filled in when absent (time from the log's clock). */
export type AuditEventInput = Omit<AuditEvent, 'v' | 'time'> & { v?: 1; time?: string | Date };

const AUTHS: ReadonlySet<string> = new Set(['session', 'bearer', 'invitation', 'system', 'anonymous']);
const RESULTS: ReadonlySet<string> = new Set(['success', 'failure', 'denied']);
const ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const TYPE = /^[a-z][a-z0-9_]*$/;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TOP_KEYS: ReadonlySet<string> = new Set(['v', 'time', 'actor', 'action', 'object', 'result', 'reason', 'requestId', 'clientAddress', 'details']);
const MAX_TEXT = 512;
const MAX_DETAILS = 32;
const MAX_BYTES = 8192;

/**
 * The one rule for free text an event carries (`reason` and string `details`), in JSON-Schema form so that request
 * schemas use it verbatim (Ajv compiles patterns with the `u` flag and counts maxLength in code points, as here):
 * any Unicode text without control characters other than tab and newline, and without lone surrogates.
 */
export const AUDIT_TEXT_PATTERN = '^(?:[^\\p{Cc}\\p{Cs}]|[\\t\\n])*$';
/** Longest `reason` and longest string detail, in code points. */
export const AUDIT_TEXT_MAX_CHARS = 1024;
const AUDIT_TEXT = new RegExp(AUDIT_TEXT_PATTERN, 'u');

function fail(message: string): never {
  throw new AuditError('KYC_ERR_AUDIT_EVENT_INVALID', `invalid audit event: ${message}`);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && Object.getPrototypeOf(x) === Object.prototype;
}

/** Printable text only: no control characters (they would not survive PostgreSQL's jsonb, nor a log viewer). */
function text(value: unknown, what: string, max = MAX_TEXT, allowEmpty = false): string {
  if (typeof value !== 'string') fail(`${what} must be a string`);
  if (!allowEmpty && value.length === 0) fail(`${what} must not be empty`);
  if (value.length > max) fail(`${what} is longer than ${max} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) fail(`${what} contains control characters`);
  if (/[\uD800-\uDFFF]/u.test(value)) fail(`${what} is not well-formed Unicode`);
  return value;
}

/** Free text (reason, string details): the shared rule above, length in code points like JSON Schema's maxLength. */
function freeText(value: unknown, what: string, allowEmpty: boolean): string {
  if (typeof value !== 'string') fail(`${what} must be a string`);
  if (!allowEmpty && value.length === 0) fail(`${what} must not be empty`);
  if ([...value].length > AUDIT_TEXT_MAX_CHARS) fail(`${what} is longer than ${AUDIT_TEXT_MAX_CHARS} characters`);
  if (!AUDIT_TEXT.test(value)) fail(`${what} contains control characters or is not well-formed Unicode`);
  return value;
}

/** Validates and normalises an event (fills v and time); throws KYC_ERR_AUDIT_EVENT_INVALID. */
export function normalizeEvent(input: AuditEventInput, now: () => Date = () => new Date()): AuditEvent {
  if (!isPlainObject(input)) fail('must be an object');
  for (const key of Object.keys(input)) if (!TOP_KEYS.has(key)) fail(`unknown field ${key}`);
  if (input.v !== undefined && input.v !== 1) fail('v must be 1');
  let time: string;
  if (input.time === undefined) time = now().toISOString();
  else if (input.time instanceof Date) {
    if (Number.isNaN(input.time.getTime())) fail('time is an invalid date');
    time = input.time.toISOString();
  } else {
    time = text(input.time, 'time', 30);
    if (!ISO_MS.test(time) || Number.isNaN(Date.parse(time)) || new Date(time).toISOString() !== time) {
      fail('time must be ISO-8601 UTC with milliseconds (YYYY-MM-DDTHH:MM:SS.sssZ)');
    }
  }
  const actorIn = input.actor as unknown;
  if (!isPlainObject(actorIn)) fail('actor must be an object');
  for (const key of Object.keys(actorIn)) if (!['username', 'roles', 'auth'].includes(key)) fail(`unknown field actor.${key}`);
  const username = text(actorIn.username, 'actor.username', 256);
  if (!Array.isArray(actorIn.roles)) fail('actor.roles must be an array');
  if (actorIn.roles.length > 32) fail('actor.roles has more than 32 entries');
  const roles = actorIn.roles.map((r, i) => text(r, `actor.roles[${i}]`, 64));
  if (typeof actorIn.auth !== 'string' || !AUTHS.has(actorIn.auth)) fail(`actor.auth must be one of ${[...AUTHS].join(', ')}`);
  const action = text(input.action, 'action', 128);
  if (!ACTION.test(action)) fail('action must be dotted lowercase, e.g. case.create');
  let object: AuditObject | null = null;
  const objectIn = input.object as unknown;
  if (objectIn !== null) {
    if (!isPlainObject(objectIn)) fail('object must be {type, id} or null');
    for (const key of Object.keys(objectIn)) if (!['type', 'id'].includes(key)) fail(`unknown field object.${key}`);
    const type = text(objectIn.type, 'object.type', 64);
    if (!TYPE.test(type)) fail('object.type must be lowercase, e.g. case');
    object = { type, id: text(objectIn.id, 'object.id', 256) };
  }
  if (typeof input.result !== 'string' || !RESULTS.has(input.result)) fail(`result must be one of ${[...RESULTS].join(', ')}`);
  const event: AuditEvent = {
    v: 1,
    time,
    actor: { username, roles, auth: actorIn.auth as AuditAuth },
    action,
    object,
    result: input.result,
  };
  if (input.reason !== undefined) event.reason = freeText(input.reason, 'reason', false);
  if (input.requestId !== undefined) event.requestId = text(input.requestId, 'requestId', 128);
  if (input.clientAddress !== undefined) event.clientAddress = text(input.clientAddress, 'clientAddress', 64);
  if (input.details !== undefined) {
    const d = input.details as unknown;
    if (!isPlainObject(d)) fail('details must be a flat object');
    const keys = Object.keys(d);
    if (keys.length > MAX_DETAILS) fail(`details has more than ${MAX_DETAILS} keys`);
    const details: Record<string, string | number | boolean | null> = {};
    for (const key of keys) {
      text(key, 'details key', 64);
      const value = d[key];
      if (typeof value === 'string') details[key] = freeText(value, `details.${key}`, true);
      else if (typeof value === 'number') {
        if (!Number.isFinite(value)) fail(`details.${key} must be a finite number`);
        details[key] = value;
      } else if (typeof value === 'boolean' || value === null) details[key] = value;
      else fail(`details.${key} must be a string, number, boolean or null`);
    }
    event.details = details;
  }
  return event;
}

/** RFC 8785 (JCS) canonical JSON of an event: the exact leaf bytes, as a string. */
export function canonicalJson(value: unknown): string {
  const out = canonicalize(value);
  if (out === undefined) fail('cannot be serialised');
  return out;
}

/** Validates, normalises and serialises an event: returns the event and its canonical JSON (leaf bytes). */
export function encodeEvent(input: AuditEventInput, now?: () => Date): { event: AuditEvent; json: string } {
  const event = normalizeEvent(input, now);
  const json = canonicalJson(event);
  if (Buffer.byteLength(json, 'utf8') > MAX_BYTES) fail(`canonical form is larger than ${MAX_BYTES} bytes`);
  return { event, json };
}

/** Parses leaf bytes back into an event (the verifier and listings use it; it does not re-validate). */
export function decodeEvent(bytes: string | Uint8Array): AuditEvent {
  const s = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  return JSON.parse(s) as AuditEvent;
}
