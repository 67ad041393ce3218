// Pure rules of the live session pages (customer join flow and teller console): no DOM, no requests.
import { ApiError, CLIENT_ERROR_CODES, type FieldError, type JoinStep } from './api.js';

/** An invitation link token as the appliance issues it: 32 random bytes, base64url. */
export function isJoinToken(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}

/** How often the waiting room and the teller's console ask for the customer's step. */
export const LIVE_POLL_MS = 1500;
/** How often the call view looks for files the other party sent. */
export const FILE_POLL_MS = 4000;

/** Why the customer's page cannot go on; each has its own plain-language page. */
export type JoinRefusal = 'invalid' | 'in_use' | 'expired' | 'revoked' | 'locked' | 'closed' | 'declined' | 'ended' | 'network' | 'server';

const REFUSAL_BY_CODE: Record<string, JoinRefusal> = {
  KYC_ERR_NOT_FOUND: 'invalid',
  KYC_ERR_INVITATION_IN_USE: 'in_use',
  KYC_ERR_INVITATION_EXPIRED: 'expired',
  KYC_ERR_INVITATION_REVOKED: 'revoked',
  KYC_ERR_INVITATION_LOCKED: 'locked',
  KYC_ERR_INVITATION_CLOSED: 'closed',
};

/** The page for a step where the link has no more use, or null when the customer can go on. */
export function refusalOfStep(step: JoinStep): JoinRefusal | null {
  switch (step) {
    case 'expired':
    case 'revoked':
    case 'locked':
    case 'declined':
    case 'ended':
      return step;
    default:
      return null;
  }
}

/**
 * The page for an error the join API answered, or null when the error belongs next to the form that caused
 * it (a wrong code, a refused body, a step done in another tab).
 */
export function refusalOfError(err: unknown): JoinRefusal | null {
  if (!(err instanceof ApiError)) return 'server';
  const known = REFUSAL_BY_CODE[err.code];
  if (known) return known;
  // A malformed link in the address is, to the customer, a link that does not exist.
  if (err.status === 400 && err.code === 'KYC_ERR_VALIDATION' && err.details.some((d) => d.field === 'token')) return 'invalid';
  if (err.code === CLIENT_ERROR_CODES.network || err.status === 0) return 'network';
  if (err.status >= 500) return 'server';
  return null;
}

/** Attempts left after a wrong code, from the error's `attempts_left:N` detail. */
export function attemptsLeftOf(details: readonly FieldError[]): number | null {
  for (const { field, code } of details) {
    const match = field === 'code' ? /^attempts_left:(\d+)$/.exec(code) : null;
    if (match) return Number(match[1]);
  }
  return null;
}

/** A code as typed (spaces, full-width digits from a Chinese keyboard) reduced to its digits. */
export function normaliseCode(input: string): string {
  return input
    .replace(/[\uFF10-\uFF19]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xff10 + 0x30))
    .replace(/\D/g, '')
    .slice(0, 6);
}

/** The signaling WebSocket of the page's own origin, for the teller (`session`) or the customer (`invitation`). */
export function signalingUrl(origin: string, credential: { session: string } | { invitation: string }): string {
  const url = new URL('/api/signaling', origin);
  url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:';
  if ('session' in credential) url.searchParams.set('session', credential.session);
  else url.searchParams.set('invitation', credential.invitation);
  return url.href;
}

/** What the appliance accepts in a session's file exchange; checked here first to spare a useless upload. */
export const FILE_RULES = {
  maxBytes: 10 * 1024 * 1024,
  mediaTypes: ['image/png', 'image/jpeg', 'image/webp', 'application/pdf'],
  /** for the file picker (`accept`) */
  accept: '.png,.jpg,.jpeg,.webp,.pdf,image/png,image/jpeg,image/webp,application/pdf',
} as const;

export type FileProblem = 'type' | 'size' | 'empty';

export function checkUpload(file: { name: string; type: string; size: number }): FileProblem | null {
  const type = file.type || mediaTypeByName(file.name);
  if (!(FILE_RULES.mediaTypes as readonly string[]).includes(type)) return 'type';
  if (file.size === 0) return 'empty';
  if (file.size > FILE_RULES.maxBytes) return 'size';
  return null;
}

function mediaTypeByName(name: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  switch (ext) {
    case 'png':
      return 'image/png';
    case 'jpg':
    case 'jpeg':
      return 'image/jpeg';
    case 'webp':
      return 'image/webp';
    case 'pdf':
      return 'application/pdf';
    default:
      return '';
  }
}

export function isImage(mediaType: string): boolean {
  return mediaType === 'image/png' || mediaType === 'image/jpeg' || mediaType === 'image/webp';
}

/** 1536 → "1.5 KB", 10485760 → "10 MB"; sizes are shown to people, so one decimal is enough. */
export function formatBytes(bytes: number): string {
  const oneDecimal = (n: number) => n.toFixed(1).replace(/\.0$/, '');
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${oneDecimal(bytes / 1024)} KB`;
  return `${oneDecimal(bytes / (1024 * 1024))} MB`;
}

/** The customer's progress as the teller's console lists it, in order. */
export type ProgressItem = 'opened' | 'code' | 'device' | 'consent' | 'waiting';

export function progressOf(invitation: {
  step: JoinStep;
  opened: boolean;
  deviceChecked: boolean;
  consent: 'accepted' | 'declined' | null;
  sessionId: string | null;
}): Record<ProgressItem, boolean> {
  // The view has no flag of its own for the code: any later step means it was entered.
  const codeDone = invitation.deviceChecked || invitation.consent !== null || ['device', 'consent', 'waiting', 'in_call'].includes(invitation.step);
  return {
    opened: invitation.opened,
    code: codeDone,
    device: invitation.deviceChecked,
    consent: invitation.consent === 'accepted',
    waiting: invitation.step === 'waiting' || invitation.sessionId !== null,
  };
}

/** Steps after which the link is of no more use: the teller may issue a new one. */
export function isFinalStep(step: JoinStep): boolean {
  return step === 'ended' || step === 'declined' || step === 'expired' || step === 'revoked' || step === 'locked';
}

/**
 * A file name as shown on the page: without control and direction-override characters (which could make
 * "invoice‮fdp.exe" read as something else) and no longer than a line.
 */
export function displayName(name: string, max = 80): string {
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\u0000-\u001f\u007f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '').trim() || '—';
  const chars = Array.from(clean);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : clean;
}
