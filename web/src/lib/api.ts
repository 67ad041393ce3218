// The one place the UI talks to the appliance's API (same origin, session cookie).
// The API's answers are typed once, by the appliance: `Static<>` of the TypeBox schemas in
// appliance/src/api-types.ts. `import type` is erased, so the bundle gains nothing from there.
import type { MediaMode } from '../../../appliance/src/domain/vocabulary.js';
import type {
  CallFile,
  CallFileList,
  CallSessionView,
  CaseRetentionView,
  CaseReview,
  CaseStatus,
  CaseList,
  CaseView,
  InvitationView,
  JoinStep,
  JoinView,
  LiveView,
  Me,
  NewCase,
  OpsSample,
  OpsView,
  PipelineRecording,
  PipelineRecordingList,
  Readiness,
  RetentionOverview,
  RetentionRunQueued,
  Role,
} from '../../../appliance/src/api-types.js';
export type {
  CallSessionView,
  CaseRetentionView,
  CaseReview,
  CaseStatus,
  CaseView,
  InvitationView,
  JoinStep,
  JoinView,
  LiveView,
  Me,
  NewCase,
  OpsSample,
  OpsView,
  PipelineRecording,
  Readiness,
  RetentionOverview,
  Role,
};
export { MEDIA_MODES, SHREDDED_TEXT } from '../../../appliance/src/domain/vocabulary.js';
export type { MediaMode };

/** A file exchanged during a call, as the API lists it. */
export type SessionFile = CallFile;

export type NewCaseField = keyof NewCase;

export type ComponentState = Readiness['components'][string]['status'];

export interface FieldError {
  field: string;
  code: string;
}

/** Codes the client raises itself, when there is no API answer to take one from. */
export const CLIENT_ERROR_CODES = {
  network: 'KYC_ERR_NETWORK',
  unexpectedResponse: 'KYC_ERR_UNEXPECTED_RESPONSE',
} as const;

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    /** HTTP status, 0 when no response arrived. */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldError[] = [],
  ) {
    super(message);
  }
}

type Fetch = typeof fetch;
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

// Set from GET /api/me; the server refuses state-changing requests without it.
let csrfToken: string | null = null;

interface RequestOptions {
  fetch?: Fetch;
  /** sent as JSON, or as multipart when it is a FormData */
  body?: unknown;
  /** Non-2xx statuses whose JSON body is an answer rather than an error (e.g. 503 from /readyz). */
  acceptStatuses?: readonly number[];
  /** extra request headers (the service visit's ticket) */
  headers?: Record<string, string>;
}

/** JSON request to the appliance, with the CSRF header on state-changing methods; throws ApiError. */
export async function request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
  const fetchFn = options.fetch ?? fetch;
  const headers: Record<string, string> = { ...options.headers, accept: 'application/json' };
  const form = options.body instanceof FormData ? options.body : null;
  // A FormData body gets its multipart content type (with the boundary) from fetch itself.
  if (options.body !== undefined && !form) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== null) headers['x-csrf-token'] = csrfToken;

  let response: Response;
  try {
    response = await fetchFn(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: form ?? (options.body === undefined ? null : JSON.stringify(options.body)),
    });
  } catch {
    throw new ApiError(0, CLIENT_ERROR_CODES.network, `${method} ${path}: no response`);
  }

  const payload: unknown = await readJson(response);
  if (response.ok || options.acceptStatuses?.includes(response.status)) {
    if (payload === undefined) {
      throw new ApiError(response.status, CLIENT_ERROR_CODES.unexpectedResponse, `${method} ${path}: no JSON body`);
    }
    return payload as T;
  }
  throw toApiError(response.status, payload, `${method} ${path}`);
}

async function readJson(response: Response): Promise<unknown> {
  if (!(response.headers.get('content-type') ?? '').includes('json')) return undefined;
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

function toApiError(status: number, payload: unknown, what: string): ApiError {
  const error = isRecord(payload) && isRecord(payload['error']) ? payload['error'] : undefined;
  const code = typeof error?.['code'] === 'string' ? error['code'] : CLIENT_ERROR_CODES.unexpectedResponse;
  const message = typeof error?.['message'] === 'string' ? error['message'] : `${what}: HTTP ${status}`;
  const details = Array.isArray(error?.['details']) ? error['details'].filter(isFieldError) : [];
  return new ApiError(status, code, message, details);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFieldError(value: unknown): value is FieldError {
  return isRecord(value) && typeof value['field'] === 'string' && typeof value['code'] === 'string';
}

/** The signed-in user, or null when there is no session (401). */
export async function getMe(fetchFn?: Fetch): Promise<Me | null> {
  try {
    const me = await request<Me>('GET', '/api/me', { fetch: fetchFn });
    csrfToken = me.csrfToken;
    return me;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      csrfToken = null;
      return null;
    }
    throw err;
  }
}

/** Where the browser goes to start the IdP login, coming back to `returnTo` (a same-origin path). */
export function loginUrl(returnTo: string): string {
  return `/auth/login?returnTo=${encodeURIComponent(returnTo)}`;
}

/** Ends the appliance session; the caller then sends the browser to the IdP's logout at `redirectTo`. */
export async function logout(): Promise<{ redirectTo: string }> {
  const result = await request<{ redirectTo: string }>('POST', '/auth/logout');
  csrfToken = null;
  return result;
}

export async function listCases(fetchFn?: Fetch): Promise<CaseView[]> {
  const { items } = await request<CaseList>('GET', '/api/cases', { fetch: fetchFn });
  return items;
}

export function getCase(id: string, fetchFn?: Fetch): Promise<CaseView> {
  return request<CaseView>('GET', `/api/cases/${encodeURIComponent(id)}`, { fetch: fetchFn });
}

export function createCase(input: NewCase): Promise<CaseView> {
  return request<CaseView>('POST', '/api/cases', { body: input });
}

export function getReadiness(fetchFn?: Fetch): Promise<Readiness> {
  return request<Readiness>('GET', '/readyz', { fetch: fetchFn, acceptStatuses: [503] });
}

// ---- the customer's invitation link (no sign-in: the link token and the browser it was first opened on) ----

/** Where the customer stands; the join page shows the screen for it, the teller's console shows it live. */

const joinPath = (token: string, tail = '') => `/api/join/${encodeURIComponent(token)}${tail}`;

/** Opens the link; the first browser to do so gets the device cookie and owns it. */
export function openJoin(token: string): Promise<JoinView> {
  return request<JoinView>('POST', joinPath(token, '/open'));
}

export function getJoin(token: string): Promise<JoinView> {
  return request<JoinView>('GET', joinPath(token));
}

export function submitJoinCode(token: string, code: string): Promise<JoinView> {
  return request<JoinView>('POST', joinPath(token, '/code'), { body: { code } });
}

export function submitDeviceCheck(token: string, result: { camera: boolean; microphone: boolean; mode: MediaMode }): Promise<JoinView> {
  return request<JoinView>('POST', joinPath(token, '/device-check'), { body: result });
}

/** The answer to the consent document shown (its version and SHA-256 come from the server, with its words). */
export function submitConsent(token: string, accept: boolean, shown: { version: string; sha256: string }): Promise<JoinView> {
  return request<JoinView>('POST', joinPath(token, '/consent'), { body: { accept, consentVersion: shown.version, consentTextSha256: shown.sha256 } });
}

// ---- the teller's side of the live session ----

const casePath = (caseId: string, tail: string) => `/api/cases/${encodeURIComponent(caseId)}${tail}`;

/** A new link and code for the case; any older link stops working. */
export function createInvitation(caseId: string): Promise<InvitationView> {
  return request<InvitationView>('POST', casePath(caseId, '/invitations'));
}

export function revokeInvitation(caseId: string, invitationId: string): Promise<InvitationView> {
  return request<InvitationView>('POST', casePath(caseId, `/invitations/${encodeURIComponent(invitationId)}/revoke`));
}

export function getLive(caseId: string): Promise<LiveView> {
  return request<LiveView>('GET', casePath(caseId, '/live'));
}

export function admitCustomer(caseId: string): Promise<CallSessionView> {
  return request<CallSessionView>('POST', casePath(caseId, '/admit'));
}

export function hangUp(sessionId: string): Promise<CallSessionView> {
  return request<CallSessionView>('POST', `/api/sessions/${encodeURIComponent(sessionId)}/hangup`);
}

// ---- files exchanged during a session (stored with the case) ----

/** The teller is known by the session cookie; the customer names the invitation link. */
export type SessionParty = { kind: 'teller' } | { kind: 'customer'; token: string };

export function withParty(path: string, party: SessionParty): string {
  return party.kind === 'customer' ? `${path}?invitation=${encodeURIComponent(party.token)}` : path;
}

export async function listSessionFiles(sessionId: string, party: SessionParty): Promise<SessionFile[]> {
  const { items } = await request<CallFileList>('GET', withParty(`/api/sessions/${encodeURIComponent(sessionId)}/files`, party));
  return items;
}

export function uploadSessionFile(sessionId: string, party: SessionParty, file: File): Promise<SessionFile> {
  const form = new FormData();
  form.append('file', file, file.name);
  return request<SessionFile>('POST', withParty(`/api/sessions/${encodeURIComponent(sessionId)}/files`, party), { body: form });
}

/** Where the browser downloads (or shows) a file. */
export function sessionFileUrl(fileId: string, party: SessionParty): string {
  return withParty(`/api/files/${encodeURIComponent(fileId)}`, party);
}

/** Recordings not yet sealed, or sealed with plaintext still on disk; newest first. */
export async function listPipelineRecordings(fetchFn?: Fetch): Promise<PipelineRecording[]> {
  const { items } = await request<PipelineRecordingList>('GET', '/api/admin/recordings', { fetch: fetchFn });
  return items;
}

/** Retention as auditors and admins see it: a case's expiry, hold and shredding (no personal data). */
export function getCaseRetention(caseId: string, fetchFn?: Fetch): Promise<CaseRetentionView> {
  return request<CaseRetentionView>('GET', `/api/cases/${encodeURIComponent(caseId)}/retention`, { fetch: fetchFn });
}

/** The administrator's retention overview: expiries within 30/90 days, active holds, the last run. */
export function getRetentionOverview(fetchFn?: Fetch): Promise<RetentionOverview> {
  return request<RetentionOverview>('GET', '/api/admin/retention', { fetch: fetchFn });
}

/** Queues a retention run now, with the administrator's reason (the worker runs it). */
export function queueRetentionRun(reason: string): Promise<RetentionRunQueued> {
  return request<RetentionRunQueued>('POST', '/api/admin/retention/run', { body: { reason } });
}

/** The operations dashboard: current figures, the last hour of samples, warnings (admin only). */
export async function getOpsView(fetchFn?: Fetch): Promise<OpsView> {
  return request<OpsView>('GET', '/api/admin/ops', { fetch: fetchFn });
}
