import type { Queryable } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { callSessionRepository, type CallSessionRow } from '../repositories/call-session.repository.js';
import { caseRepository } from '../repositories/case.repository.js';
import { recordingRepository, type RecordingFileRow, type RecordingRow } from '../repositories/recording.repository.js';
import type { RecordingStatus } from '../domain/vocabulary.js';
import type { Principal } from '../domain/principal.js';
import type { CallListItem, CallRecordingView, PipelineRecording } from '../api-types.js';

function statusOf(session: CallSessionRow, rec: RecordingRow | null): CallRecordingView['status'] {
  if (!rec) return session.state === 'live' ? 'recording' : 'processing';
  return rec.status === 'queued' ? 'processing' : rec.status;
}

export function recordingView(session: CallSessionRow, rec: RecordingRow | null, files: RecordingFileRow[]): CallRecordingView {
  const status = statusOf(session, rec);
  return {
    id: rec?.id ?? null,
    sessionId: session.id,
    caseId: session.case_id,
    status,
    progress: status === 'processing' ? (rec?.progress ?? 0) : null,
    step: status === 'processing' ? (rec?.step ?? 'queued') : null,
    reason: status === 'failed' ? (rec?.failure_reason ?? null) : null,
    willRetry: status === 'failed' ? (rec?.will_retry ?? false) : null,
    attempts: rec?.attempts ?? 0,
    complete: rec?.complete ?? null,
    issues: ((rec?.issues ?? []) as CallRecordingView['issues']).map((i) => ({ code: i.code, severity: i.severity, message: i.message })),
    sealedAt: rec?.sealed_at?.toISOString() ?? null,
    plaintextRemoved: rec?.plaintext_removed_at != null,
    manifestSha256: rec?.manifest_sha256?.toString('hex') ?? null,
    parties: files
      .filter((f) => f.kind === 'media' && f.party !== null)
      .map((f) => ({
        party: f.party!,
        segment: f.segment ?? 1,
        durationMs: f.duration_ms ?? 0,
        bytes: Number(f.plaintext_bytes),
        sha256: f.plaintext_sha256.toString('hex'),
      })),
  };
}

/** A recording in the seal pipeline as the administrator sees it: status fields only, never the wrapped key or its KEK id. */
function pipelineItem(r: RecordingRow): PipelineRecording {
  return {
    id: r.id,
    sessionId: r.session_id,
    caseId: r.case_id,
    status: r.status,
    step: r.step,
    progress: r.progress,
    attempts: r.attempts,
    failureReason: r.failure_reason,
    failedAt: r.failed_at?.toISOString() ?? null,
    willRetry: r.will_retry,
    complete: r.complete,
    issueCount: Array.isArray(r.issues) ? r.issues.length : 0,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** Tellers see their own cases' sessions; auditors and admins see every case. Others get "not found". */
async function checkCaseAccess(db: Queryable, caseId: string, who: Principal): Promise<void> {
  const c = await caseRepository.findById(db, caseId);
  const mayRead = c && (who.roles.includes('auditor') || who.roles.includes('admin') || c.teller === who.username);
  if (!mayRead) throw new DomainError('NOT_FOUND', 'No such case.');
}

export class RecordingService {
  async sessionsOfCase(db: Queryable, caseId: string, who: Principal): Promise<CallListItem[]> {
    await checkCaseAccess(db, caseId, who);
    const sessions = await callSessionRepository.listForCase(db, caseId);
    const recs = new Map(
      (
        await recordingRepository.listForSessions(
          db,
          sessions.map((s) => s.id),
        )
      ).map((r) => [r.session_id, r]),
    );
    return sessions.map((s) => {
      const rec = recs.get(s.id) ?? null;
      return {
        id: s.id,
        state: s.state,
        admittedAt: s.admitted_at.toISOString(),
        endedAt: s.ended_at?.toISOString() ?? null,
        endReason: s.end_reason,
        recording: { id: rec?.id ?? null, status: statusOf(s, rec) },
      };
    });
  }

  async recordingOfSession(db: Queryable, sessionId: string, who: Principal): Promise<CallRecordingView> {
    const session = await callSessionRepository.findById(db, sessionId);
    if (!session) throw new DomainError('NOT_FOUND', 'No such session.');
    await checkCaseAccess(db, session.case_id, who).catch(() => {
      throw new DomainError('NOT_FOUND', 'No such session.');
    });
    const rec = await recordingRepository.findBySession(db, sessionId);
    const files = rec?.status === 'sealed' ? await recordingRepository.files(db, rec.id) : [];
    return recordingView(session, rec, files);
  }

  /** The seal pipeline, newest first: recordings of one status, or by default every one not yet done. */
  async pipeline(db: Queryable, status: Exclude<RecordingStatus, 'sealed'> | null, limit: number): Promise<PipelineRecording[]> {
    return (await recordingRepository.listForStatus(db, status, limit)).map(pipelineItem);
  }
}
