import type { ConsentDocument } from './domain/consent.js';
import type { CaseStatus, IntegrityFlag, RecordingStatus, RejectReason } from './domain/case-status.js';
// The shapes the API answers with, declared once: the appliance's services build them and the web UI reads them
// (it imports this file by relative path, like the signaling protocol). Pure TypeScript: it imports only the
// domain's vocabularies, which it re-exports.

export { CASE_STATUSES, INTEGRITY_FLAGS, PROMPTING_OBSERVED, REJECT_REASONS } from './domain/case-status.js';
export type { CaseStatus, IntegrityFlag, RecordingStatus, RejectReason } from './domain/case-status.js';

/** The auditor's decision on a completed case (maker-checker). */
export interface CaseReview {
  decision: 'approved' | 'rejected';
  comment: string;
  /** empty on an approval */
  rejectReasons: RejectReason[];
  /** what was observed, present exactly when `rejectReasons` holds `prompting_observed` */
  promptingNotes: string | null;
  reviewer: string;
  at: string;
}

/** A case as the API shows it: personal data masked for the caller's role. */
export interface CaseView {
  id: string;
  status: CaseStatus;
  customerName: string;
  customerIdNumber: string;
  customerPhone: string;
  bankCard: string | null;
  product: string;
  /** the catalogue version the case keeps (null for cases opened before the catalogue) */
  productVersion: number | null;
  branch: string;
  teller: string;
  createdAt: string;
  updatedAt: string;
  /** the auditor's decision once the case was reviewed: the teller sees outcome and comment */
  review: CaseReview | null;
  /** one case's retention (GET /api/cases/:id): when it expires, whether a legal hold keeps it, when it was shredded */
  retention?: { expiresAt: string | null; held: boolean; shreddedAt: string | null };
}

/** Where the customer stands. The join page shows the screen for the step; the teller's console shows it live. */
export const JOIN_STEPS = ['code', 'device', 'consent', 'waiting', 'in_call', 'ended', 'declined', 'expired', 'revoked', 'locked'] as const;
export type JoinStep = (typeof JOIN_STEPS)[number];

export interface JoinView {
  step: JoinStep;
  expiresAt: string;
  product: string;
  branch: string;
  attemptsLeft: number;
  /** set while the customer is admitted to a live session */
  sessionId: string | null;
  /** at the consent step: the text to show, one document per language (the answer names the one shown) */
  consentTexts: ConsentDocument[] | null;
}

export interface InvitationView {
  id: string;
  caseId: string;
  url: string;
  code: string;
  createdAt: string;
  expiresAt: string;
  step: JoinStep;
  opened: boolean;
  deviceChecked: boolean;
  consent: 'accepted' | 'declined' | null;
  codeAttempts: number;
  sessionId: string | null;
}

export interface CallSessionView {
  id: string;
  caseId: string;
  state: 'live' | 'ended';
  admittedAt: string;
  endedAt: string | null;
  endReason: string | null;
}

/** One archive search result. */
export interface ArchiveItem {
  caseId: string;
  status: CaseStatus;
  customerName: string;
  customerIdNumber: string;
  teller: string;
  branch: string;
  product: string;
  createdAt: string;
  session: { id: string; state: 'live' | 'ended' } | null;
  recording: { id: string; status: RecordingStatus; complete: boolean | null; issueCount: number } | null;
  flags: IntegrityFlag[];
}

export interface ArchivePage {
  items: ArchiveItem[];
  nextCursor: string | null;
  total: number;
  /** false when more cases match than are counted exactly: `total` is then the cap ("more than total") */
  totalExact: boolean;
}

/** What a case shows in place of personal data that was shredded when its retention ended. */
export const SHREDDED_TEXT = '(shredded)';

/** Retention (GET /api/cases/:id/retention, /api/admin/retention, holds): no personal data, no media. */
export type RetentionAnchorKind = 'case_completed' | 'contract_end';
export type RetentionItemKind = 'recording' | 'export' | 'file' | 'still' | 'pii';

export interface PolicyView {
  productCode: string;
  retentionDays: number;
  anchor: RetentionAnchorKind;
  updatedBy: string;
  updatedAt: string;
}

export interface HoldView {
  id: string;
  caseId: string;
  reason: string;
  placedBy: string;
  placedAt: string;
  releasedBy: string | null;
  releasedAt: string | null;
  releaseReason: string | null;
}

export type RetentionItemState = 'retained' | 'held' | 'shredded';

export interface CaseRetentionView {
  caseId: string;
  policy: { productCode: string; retentionDays: number; anchor: RetentionAnchorKind } | null;
  anchorAt: string | null;
  contractEnd: string | null;
  expiresAt: string | null;
  /** why expiresAt is null: no policy for the product, or the anchor event has not happened yet */
  reason: 'no_policy' | 'not_completed' | 'no_contract_end' | null;
  hold: HoldView | null;
  shredded: { at: string; auditSeq: number | null } | null;
  items: Array<{ kind: RetentionItemKind; id: string; expiresAt: string | null; state: RetentionItemState; shreddedAt: string | null }>;
}

/** A case's summary as the case view carries it ("shredded on … per policy"). */
export interface CaseRetentionSummary {
  expiresAt: string | null;
  held: boolean;
  shreddedAt: string | null;
}

export interface RunView {
  id: string;
  startedAt: string;
  finishedAt: string | null;
  asOf: string;
  dryRun: boolean;
  shredded: Record<string, number>;
}

export interface RetentionOverview {
  upcoming: { within30: number; within90: number; items: Array<{ caseId: string; product: string; expiresAt: string }> };
  holds: HoldView[];
  lastRun: RunView | null;
}

/** One 10-second sample of the operations dashboard's history (GET /api/admin/ops). */
export interface OpsSample {
  /** epoch ms */
  at: number;
  sessionsActive: number;
  recordingsInProgress: number;
  sealQueueDepth: number;
  sealFailures: number;
  /** joins that reached recording_started / sockets that joined, since the previous sample (null: none joined) */
  joinSuccessRate: number | null;
  /** latest media figures of the current calls (Janus's view, both parties' uplinks) */
  lossRatio: number | null;
  rttMs: number | null;
  bitrateBps: number | null;
  diskDaysLeft: number | null;
}

export interface OpsWarning {
  code: 'disk_low' | 'certificate_expiring' | 'seal_failing' | 'checkpoint_late';
  /** the volume or certificate concerned; '' for the others */
  subject: string;
  /** days left (disk, certificate), failed attempts (seals), checkpoint age in seconds */
  value: number;
  /** the same in English, for logs and API users */
  message: string;
}

export interface OpsThresholds {
  diskDays: number;
  certificateDays: number;
  checkpointEverySeconds: number;
}

/** The latest media figures of one party, direction and medium of the current calls. */
export interface OpsMediaSample {
  party: 'teller' | 'customer';
  direction: 'up' | 'down';
  media: 'audio' | 'video';
  rttMs: number | null;
  jitterMs: number | null;
  lossRatio: number | null;
  bitrateBps: number | null;
  linkQuality: number | null;
  at: number;
}

/** GET /api/admin/ops: current figures, the history and the warnings (no case, customer or media data). */
export interface OpsView {
  current: {
    sessionsActive: number;
    recordingsInProgress: number;
    sealQueueDepth: number;
    sealFailures: number;
    auditLogSize: number;
    checkpointAgeSeconds: number | null;
    checkpointUnsealedEvents: number;
    /** days left null: nothing sealed in the last day (no ingest) */
    disk: Record<'recordings' | 'archive', { freeBytes: number; daysLeft: number | null }>;
    /** seconds until expiry by certificate */
    certificates: Record<string, number>;
    pool: { total: number; idle: number; waiting: number };
    /** join funnel counts of this process by `stage/result` */
    joins: Record<string, number>;
    media: OpsMediaSample[];
  };
  history: OpsSample[];
  warnings: OpsWarning[];
  thresholds: OpsThresholds;
}

/** One party's link over 5 seconds: `janus` measures its uplink, `browser` is what its browser receives. */
export interface QualitySampleView {
  sessionId: string;
  /** epoch milliseconds (the start of the 5-second bucket): the chart's axis, the recording's wall clock */
  t: number;
  party: 'teller' | 'customer';
  source: 'janus' | 'browser';
  bitrateKbps: number | null;
  lossPct: number | null;
  rttMs: number | null;
  jitterMs: number | null;
  availableKbps: number | null;
}

/** A quality incident beside the recording: slowlink, freeze, reconnect, disconnect, call-mode (a degrade step). */
export interface QualityIncidentView {
  sessionId: string;
  t: number;
  party: 'teller' | 'customer' | 'system';
  kind: string;
  /** call-mode: from, to, reason; slowlink: uplink, lost */
  data: Record<string, string | number | boolean | null>;
}

export interface CaseQualityView {
  samples: QualitySampleView[];
  incidents: QualityIncidentView[];
  truncated: { samples: boolean; incidents: boolean };
}
