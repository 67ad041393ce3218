// The auditor's archive API: search, a case's timeline, replay grants, review, reveal; and the audit log's
// checkpoint and proofs the timeline verifies in the browser.
import { ApiError, CLIENT_ERROR_CODES, request, type CaseView } from '$lib/api.js';
import type { ArchiveItem, ArchivePage, CaseQualityView, IntegrityFlag as ArchiveFlag, RecordingStatus, RejectReason } from '../../../appliance/src/api-types.js';
import type { ArchiveQuery, ExportRequested, ExportView, InclusionProof, MaskedField, Replay, Revealed, ReviewInput, Timeline } from '../../../appliance/src/archive-api-types.js';
export type { CaseQualityView } from '../../../appliance/src/api-types.js';
export { CASE_STATUSES, PROMPTING_OBSERVED, RECORDING_STATUSES, REJECT_REASONS } from '../../../appliance/src/domain/vocabulary.js';
export type { ArchiveFlag, ArchiveItem, ArchivePage, RecordingStatus, RejectReason };
export type { ArchiveQuery, ExportView, MaskedField, Replay, Revealed, ReviewInput, Timeline };
export type {
  ArchiveSort,
  ExportStatus,
  RecordingIssue,
  ReplayMarker,
  ReplayParty,
  SessionEvent,
  TimelineAuditEvent,
  TimelineFile,
  TimelineInvitation,
  TimelineRecording,
  TimelineSession,
} from '../../../appliance/src/archive-api-types.js';

type Fetch = typeof fetch;

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

export function reviewCase(caseId: string, review: ReviewInput): Promise<CaseView> {
  return request<CaseView>('POST', caseTail(caseId, '/review'), { body: review });
}

export function revealField(caseId: string, field: MaskedField, reason: string): Promise<Revealed> {
  return request<Revealed>('POST', caseTail(caseId, '/reveal'), { body: { field, reason } });
}

const exportPath = (id: string, tail = '') => `/api/exports/${encodeURIComponent(id)}${tail}`;

export function requestExport(recordingId: string, reason: string): Promise<ExportRequested> {
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

export function getInclusionProof(index: number, size: number): Promise<InclusionProof> {
  return request('GET', `/api/audit/proof/inclusion?index=${index}&size=${size}`);
}
