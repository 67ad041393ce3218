// The auditor's archive API: search, a case's timeline, replay grants, review, reveal; and the audit log's
// checkpoint and proofs the timeline verifies in the browser.
import { ApiError, CLIENT_ERROR_CODES, request, type CaseStatus, type CaseView, type SessionFile } from '$lib/api.js';
import type { ArchiveItem, ArchivePage, CaseQualityView, IntegrityFlag as ArchiveFlag, RecordingStatus, RejectReason } from '../../../appliance/src/api-types.js';
export type { CaseQualityView } from '../../../appliance/src/api-types.js';
export { CASE_STATUSES, PROMPTING_OBSERVED, RECORDING_STATUSES, REJECT_REASONS } from '../../../appliance/src/domain/vocabulary.js';
export type { ArchiveFlag, ArchiveItem, ArchivePage, RecordingStatus, RejectReason };

type Fetch = typeof fetch;

export type ArchiveSort = 'created_desc' | 'created_asc';
export type MaskedField = 'customerName' | 'customerIdNumber' | 'customerPhone' | 'bankCard';

export interface ArchiveQuery {
  idNumber?: string;
  name?: string;
  teller?: string;
  branch?: string;
  product?: string;
  status?: CaseStatus;
  recordingStatus?: RecordingStatus;
  flag?: ArchiveFlag;
  /** ISO date-times */
  from?: string;
  to?: string;
  sort?: ArchiveSort;
  cursor?: string;
  limit?: number;
}

export interface RecordingIssue {
  code: string;
  severity: string;
  message: string;
}

export interface TimelineInvitation {
  id: string;
  step: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  openedAt: string | null;
  codeAttempts: number;
  codeVerifiedAt: string | null;
  lockedAt: string | null;
  deviceCheckedAt: string | null;
  consent: string | null;
  consentAt: string | null;
  revokedAt: string | null;
  closedAt: string | null;
}

export interface SessionEvent {
  id: string;
  at: string;
  party: string;
  kind: string;
  data: Record<string, unknown>;
  text: string | null;
}

/** a file exchanged in a session, as the timeline lists it: with the auditor's download link */
export interface TimelineFile extends SessionFile {
  url: string;
}

export interface TimelineRecording {
  id: string;
  status: RecordingStatus;
  complete: boolean | null;
  issues: RecordingIssue[];
  sealedAt: string | null;
  failureReason: string | null;
}

export interface TimelineSession {
  id: string;
  state: string;
  admittedAt: string;
  endedAt: string | null;
  endReason: string | null;
  events: SessionEvent[];
  /** slowlink and freeze reports (reconnects and call-mode steps are among the events) */
  qualityIncidents: { at: string; party: 'teller' | 'customer'; kind: string; data: Record<string, unknown> }[];
  files: TimelineFile[];
  recording: TimelineRecording | null;
}

export interface TimelineAuditEvent {
  leafIndex: number;
  leaf: string;
  leafHash: string;
  action: string;
  time: string;
  actor: string;
  result: string;
  objectType: string | null;
  objectId: string | null;
}

export interface Timeline {
  case: CaseView;
  invitations: TimelineInvitation[];
  sessions: TimelineSession[];
  auditEvents: TimelineAuditEvent[];
  /** where the timeline stops at its bound */
  truncated: { sessionEvents: boolean; auditEvents: boolean; qualityIncidents: boolean };
}

export interface ReplayParty {
  party: 'teller' | 'customer';
  segment: number;
  url: string;
  durationMs: number | null;
  offsetMs: number | null;
  bytes: number;
  sha256: string;
}

export interface ReplayMarker {
  at: string;
  offsetMs: number;
  party: string;
  kind: string;
  data: Record<string, unknown>;
}

export interface Replay {
  recordingId: string;
  grant: string;
  expiresAt: string;
  complete: boolean | null;
  issues: RecordingIssue[];
  parties: ReplayParty[];
  markers: ReplayMarker[];
}

export interface Revealed {
  field: MaskedField;
  value: string;
  expiresAt: string;
}

const caseTail = (id: string, tail: string) => `/api/cases/${encodeURIComponent(id)}${tail}`;

export function searchArchive(query: ArchiveQuery, fetchFn?: Fetch): Promise<ArchivePage> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  return request<ArchivePage>('GET', `/api/archive/search?${params}`, { fetch: fetchFn });
}

export function getTimeline(caseId: string, fetchFn?: Fetch): Promise<Timeline> {
  return request<Timeline>('GET', caseTail(caseId, '/timeline'), { fetch: fetchFn });
}

/** each party's bitrate, loss and RTT per 5 seconds, and the quality incidents (auditor) */
export function getCaseQuality(caseId: string, fetchFn?: Fetch): Promise<CaseQualityView> {
  return request<CaseQualityView>('GET', caseTail(caseId, '/quality'), { fetch: fetchFn });
}

export function openReplay(recordingId: string): Promise<Replay> {
  return request<Replay>('POST', `/api/recordings/${encodeURIComponent(recordingId)}/replay`);
}

/** The media URL that downloads a party's file; the server audits it with the reason. */
export function downloadUrl(mediaUrl: string, reason: string): string {
  return `${mediaUrl}&download=1&reason=${encodeURIComponent(reason)}`;
}

export function completeCase(caseId: string): Promise<CaseView> {
  return request<CaseView>('POST', caseTail(caseId, '/complete'));
}

export interface ReviewInput {
  decision: 'approved' | 'rejected';
  comment: string;
  /** only with a rejection; `prompting_observed` needs `promptingNotes` */
  rejectReasons?: RejectReason[];
  promptingNotes?: string;
}

export function reviewCase(caseId: string, review: ReviewInput): Promise<CaseView> {
  return request<CaseView>('POST', caseTail(caseId, '/review'), { body: review });
}

export function revealField(caseId: string, field: MaskedField, reason: string): Promise<Revealed> {
  return request<Revealed>('POST', caseTail(caseId, '/reveal'), { body: { field, reason } });
}

export type ExportStatus = 'queued' | 'running' | 'done' | 'failed';

export interface ExportView {
  id: string;
  recordingId: string;
  requestedBy: string;
  status: ExportStatus;
  progress: number;
  failureReason: string | null;
  sha256: string | null;
  bytes: number | null;
  createdAt: string;
  finishedAt: string | null;
}

const exportPath = (id: string, tail = '') => `/api/exports/${encodeURIComponent(id)}${tail}`;

export function requestExport(recordingId: string, reason: string): Promise<{ id: string; status: ExportStatus }> {
  return request('POST', `/api/recordings/${encodeURIComponent(recordingId)}/exports`, { body: { reason } });
}

export function getExport(id: string): Promise<ExportView> {
  return request<ExportView>('GET', exportPath(id));
}

/** Download URLs of a finished export (each download is audited by the server). */
export function exportFileUrl(id: string): string {
  return exportPath(id, '/file');
}

export function exportSignatureUrl(id: string): string {
  return exportPath(id, '/signature');
}

/** Plain-text answers (the signed note, the verifier key); a 404 means there is none yet. */
async function getText(path: string): Promise<string | null> {
  let response: Response;
  try {
    response = await fetch(path, { headers: { accept: 'text/plain' }, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, CLIENT_ERROR_CODES.network, `GET ${path}: no response`);
  }
  if (response.status === 404) return null;
  if (!response.ok) {
    let code: string = CLIENT_ERROR_CODES.unexpectedResponse;
    try {
      const body = (await response.json()) as { error?: { code?: unknown } };
      if (typeof body.error?.code === 'string') code = body.error.code;
    } catch {
      // not JSON: keep the generic code
    }
    throw new ApiError(response.status, code, `GET ${path}: HTTP ${response.status}`);
  }
  return response.text();
}

export function getCheckpointNote(): Promise<string | null> {
  return getText('/api/audit/checkpoint');
}

export function getVerifierKey(): Promise<string | null> {
  return getText('/api/audit/verifier-key');
}

export function getInclusionProof(index: number, size: number): Promise<{ hashes: string[]; rootHash: string; leafHash: string }> {
  return request('GET', `/api/audit/proof/inclusion?index=${index}&size=${size}`);
}
