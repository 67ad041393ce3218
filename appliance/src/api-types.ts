import { Type, type Static } from 'typebox';
import type { ConsentDocument } from './domain/consent.js';
import { ROLES } from './domain/principal.js';
import { CASE_STATUSES, INTEGRITY_FLAGS, JOIN_STEPS, MEDIA_MODES, RECORDING_STATUSES, REJECT_REASONS, SESSION_RECORDING_STATUSES } from './domain/vocabulary.js';
import { DateTime, ItemsOf, LiteralUnion, Nullable, StringEnum, Uuid } from './lib/schema.js';
// The shapes the API answers with, declared once: each is a TypeBox schema (the routes validate and document with
// it) and its type is `Static<>` of that schema (the services build it). The web UI imports the types by relative
// path with `import type`, which is erased: its bundle gains nothing from here. Values the UI needs at run time live
// in domain/vocabulary.ts, re-exported below.

export {
  CASE_STATUSES,
  INTEGRITY_FLAGS,
  JOIN_STEPS,
  MEDIA_MODES,
  PROMPTING_OBSERVED,
  RECORDING_STATUSES,
  REJECT_REASONS,
  SESSION_RECORDING_STATUSES,
  SHREDDED_TEXT,
} from './domain/vocabulary.js';
export type { CaseStatus, IntegrityFlag, JoinStep, MediaMode, RecordingStatus, RejectReason, SessionRecordingStatus } from './domain/vocabulary.js';

const LiveOrEnded = Type.Union([Type.Literal('live'), Type.Literal('ended')]);
/** The two parties of a call. */
export const PartySchema = Type.Union([Type.Literal('teller'), Type.Literal('customer')]);

/** What the recording pipeline found wrong with a recording (a missing segment, a gap…). */
export const RecordingIssueSchema = Type.Object({ code: Type.String(), severity: Type.String(), message: Type.String() });
export type RecordingIssue = Static<typeof RecordingIssueSchema>;

export const RoleSchema = LiteralUnion(ROLES);
export type { Role } from './domain/principal.js';

export const CaseStatusSchema = LiteralUnion(CASE_STATUSES);
export const RejectReasonSchema = StringEnum(REJECT_REASONS);
export const RecordingStatusSchema = LiteralUnion(RECORDING_STATUSES);
export const IntegrityFlagSchema = LiteralUnion(INTEGRITY_FLAGS);
export const SessionRecordingStatusSchema = LiteralUnion(SESSION_RECORDING_STATUSES);

/** GET /api/me: who is calling; the CSRF token is there for browser sessions. */
export const MeSchema = Type.Object({
  username: Type.String(),
  roles: Type.Array(RoleSchema),
  /** from the identity provider (Keycloak user attribute); a teller's new cases take it */
  branch: Nullable(Type.String()),
  csrfToken: Nullable(Type.String()),
});
export type Me = Static<typeof MeSchema>;

/** The auditor's decision on a completed case (maker-checker). */
export const CaseReviewSchema = Type.Object({
  decision: Type.Union([Type.Literal('approved'), Type.Literal('rejected')]),
  comment: Type.String(),
  /** empty on an approval */
  rejectReasons: Type.Array(RejectReasonSchema),
  /** what was observed, present exactly when `rejectReasons` holds `prompting_observed` */
  promptingNotes: Nullable(Type.String()),
  reviewer: Type.String(),
  at: DateTime,
});
export type CaseReview = Static<typeof CaseReviewSchema>;

/** A case's summary as the case view carries it ("shredded on … per policy"). */
export const CaseRetentionSummarySchema = Type.Object({ expiresAt: Nullable(DateTime), held: Type.Boolean(), shreddedAt: Nullable(DateTime) });
export type CaseRetentionSummary = Static<typeof CaseRetentionSummarySchema>;

/** A case as the API shows it: personal data masked for the caller's role. */
export const CaseViewSchema = Type.Object({
  id: Uuid,
  status: CaseStatusSchema,
  customerName: Type.String(),
  customerIdNumber: Type.String(),
  customerPhone: Type.String(),
  bankCard: Nullable(Type.String()),
  product: Type.String(),
  /** the catalogue version the case keeps (null for cases opened before the catalogue) */
  productVersion: Nullable(Type.Integer()),
  branch: Type.String(),
  teller: Type.String(),
  createdAt: DateTime,
  updatedAt: DateTime,
  /** the auditor's decision once the case was reviewed: the teller sees outcome and comment */
  review: Nullable(CaseReviewSchema),
  /** one case's retention (GET /api/cases/:id): when it expires, whether a legal hold keeps it, when it was shredded */
  retention: Type.Optional(CaseRetentionSummarySchema),
});
export type CaseView = Static<typeof CaseViewSchema>;

/** GET /api/cases: the signed-in teller's cases, newest first, and the cursor of the next page (null on the last). */
export const CaseListSchema = Type.Object({ items: Type.Array(CaseViewSchema), nextCursor: Nullable(Type.String()) });
export type CaseList = Static<typeof CaseListSchema>;

/** POST /api/cases: a teller opens a case. */
export const NewCaseSchema = Type.Object(
  {
    customerName: Type.String({ minLength: 1, maxLength: 100 }),
    customerIdNumber: Type.String({ minLength: 15, maxLength: 20 }),
    customerPhone: Type.String({ minLength: 11, maxLength: 20 }),
    bankCard: Type.Optional(Nullable(Type.String({ maxLength: 30 }))),
    product: Type.String({ minLength: 1, maxLength: 100, description: 'a product code of the catalogue (GET /api/products); other text opens a case without a script' }),
    branch: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "used only when the teller's identity carries no branch: the branch comes from the identity" })),
  },
  { additionalProperties: false },
);
export type NewCase = Static<typeof NewCaseSchema>;

const ConsentDocumentSchema = Type.Unsafe<ConsentDocument>(
  Type.Object({
    version: Type.String(),
    language: Type.String(),
    title: Type.String(),
    intro: Type.String(),
    sections: Type.Array(Type.Object({ title: Type.String(), body: Type.String() })),
    note: Type.String(),
    sha256: Type.String(),
  }),
);

/** How the customer takes part: camera and microphone, voice only, or text only. */
export const MediaModeSchema = StringEnum(MEDIA_MODES);

export const JoinViewSchema = Type.Object({
  step: StringEnum(JOIN_STEPS),
  expiresAt: Type.String(),
  product: Type.String(),
  branch: Type.String(),
  attemptsLeft: Type.Integer(),
  /** set while the customer is admitted to a live call */
  sessionId: Nullable(Type.String()),
  /** at the consent step: the text to show, one document per language (the answer names the one shown) */
  consentTexts: Nullable(Type.Array(ConsentDocumentSchema)),
  /** how the customer takes part: chosen at the device check (a service visit's transfer proposes it) */
  mediaMode: MediaModeSchema,
});
export type JoinView = Static<typeof JoinViewSchema>;

export const InvitationViewSchema = Type.Object({
  id: Type.String(),
  caseId: Type.String(),
  url: Type.String(),
  code: Type.String(),
  createdAt: Type.String(),
  expiresAt: Type.String(),
  step: StringEnum(JOIN_STEPS),
  opened: Type.Boolean(),
  deviceChecked: Type.Boolean(),
  consent: Type.Union([Type.Literal('accepted'), Type.Literal('declined'), Type.Null()]),
  codeAttempts: Type.Integer(),
  sessionId: Nullable(Type.String()),
  /** how the customer takes part (video until the device check says otherwise) */
  mediaMode: MediaModeSchema,
});
export type InvitationView = Static<typeof InvitationViewSchema>;

export const CallSessionViewSchema = Type.Object({
  id: Type.String(),
  caseId: Type.String(),
  state: LiveOrEnded,
  admittedAt: Type.String(),
  endedAt: Nullable(Type.String()),
  endReason: Nullable(Type.String()),
});
export type CallSessionView = Static<typeof CallSessionViewSchema>;

/** GET /api/cases/:id/live: the case's current invitation (the customer's step) and call. */
export const LiveViewSchema = Type.Object({ invitation: Nullable(InvitationViewSchema), session: Nullable(CallSessionViewSchema) });
export type LiveView = Static<typeof LiveViewSchema>;

/** A file exchanged during a call (stored with the case). */
export const CallFileSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  mediaType: Type.String(),
  size: Type.Integer(),
  /** hex SHA-256 of the content as stored */
  sha256: Type.String(),
  from: PartySchema,
  at: Type.String(),
});
export type CallFile = Static<typeof CallFileSchema>;

/** GET /api/sessions/:id/files: the files exchanged during the call. */
export const CallFileListSchema = ItemsOf(CallFileSchema);
export type CallFileList = Static<typeof CallFileListSchema>;

/** GET /readyz: one component's state; `required` false: the appliance reports ready without it. */
export const ComponentStatusSchema = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('not_configured')]),
  required: Type.Boolean(),
  detail: Type.Optional(Type.String()),
});
export const ReadinessSchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  components: Type.Record(Type.String(), ComponentStatusSchema),
});
export type Readiness = Static<typeof ReadinessSchema>;

/** One archive search result. */
export const ArchiveItemSchema = Type.Object({
  caseId: Uuid,
  status: CaseStatusSchema,
  customerName: Type.String(),
  customerIdNumber: Type.String(),
  teller: Type.String(),
  branch: Type.String(),
  product: Type.String(),
  createdAt: DateTime,
  session: Nullable(Type.Object({ id: Uuid, state: LiveOrEnded })),
  recording: Nullable(Type.Object({ id: Uuid, status: RecordingStatusSchema, complete: Nullable(Type.Boolean()), issueCount: Type.Integer() })),
  flags: Type.Array(IntegrityFlagSchema),
});
export type ArchiveItem = Static<typeof ArchiveItemSchema>;

export const ArchivePageSchema = Type.Object({
  items: Type.Array(ArchiveItemSchema),
  nextCursor: Nullable(Type.String()),
  total: Type.Integer(),
  /** false when more cases match than are counted exactly: `total` is then the cap ("more than total") */
  totalExact: Type.Boolean(),
});
export type ArchivePage = Static<typeof ArchivePageSchema>;

/** A call of a case and the state of its recording (status page, case timeline). */
export const CallListItemSchema = Type.Object({
  id: Uuid,
  state: LiveOrEnded,
  admittedAt: DateTime,
  endedAt: Nullable(DateTime),
  endReason: Nullable(Type.String()),
  recording: Type.Object({ id: Nullable(Uuid), status: SessionRecordingStatusSchema }),
});
export type CallListItem = Static<typeof CallListItemSchema>;

/** What the API says about a call's recording. Never key material, never archive paths. */
export const CallRecordingViewSchema = Type.Object({
  /** the recording's id; null while the call is still being recorded */
  id: Nullable(Uuid),
  sessionId: Uuid,
  caseId: Uuid,
  status: SessionRecordingStatusSchema,
  /** 0..1 while processing */
  progress: Nullable(Type.Number({ minimum: 0, maximum: 1 })),
  step: Nullable(Type.String()),
  /** why the last attempt failed (status failed) */
  reason: Nullable(Type.String()),
  willRetry: Nullable(Type.Boolean()),
  attempts: Type.Integer(),
  complete: Nullable(Type.Boolean()),
  issues: Type.Array(RecordingIssueSchema),
  sealedAt: Nullable(DateTime),
  plaintextRemoved: Type.Boolean(),
  manifestSha256: Nullable(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  parties: Type.Array(
    Type.Object({
      party: PartySchema,
      segment: Type.Integer({ minimum: 1 }),
      durationMs: Type.Integer({ minimum: 0 }),
      bytes: Type.Integer({ minimum: 0 }),
      sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    }),
  ),
});
export type CallRecordingView = Static<typeof CallRecordingViewSchema>;

/** A recording in the seal pipeline, as the admin status page lists it (status fields only, no key material). */
export const PipelineRecordingSchema = Type.Object({
  id: Uuid,
  sessionId: Uuid,
  caseId: Uuid,
  status: RecordingStatusSchema,
  step: Type.String(),
  progress: Type.Number({ minimum: 0, maximum: 1 }),
  attempts: Type.Integer({ minimum: 0 }),
  failureReason: Nullable(Type.String()),
  failedAt: Nullable(DateTime),
  willRetry: Type.Boolean(),
  complete: Nullable(Type.Boolean()),
  issueCount: Type.Integer({ minimum: 0 }),
  createdAt: DateTime,
  updatedAt: DateTime,
});
export type PipelineRecording = Static<typeof PipelineRecordingSchema>;

/** GET /api/admin/recordings: the recordings in the seal pipeline, newest first. */
export const PipelineRecordingListSchema = ItemsOf(PipelineRecordingSchema);
export type PipelineRecordingList = Static<typeof PipelineRecordingListSchema>;

/** Retention (GET /api/cases/:id/retention, /api/admin/retention, holds): no personal data, no media. */
const RetentionAnchorSchema = Type.Union([Type.Literal('case_completed'), Type.Literal('contract_end')]);
export type RetentionAnchorKind = Static<typeof RetentionAnchorSchema>;
export const RetentionItemKindSchema = Type.Union([Type.Literal('recording'), Type.Literal('export'), Type.Literal('file'), Type.Literal('still'), Type.Literal('pii')]);
export type RetentionItemKind = Static<typeof RetentionItemKindSchema>;
const RetentionItemStateSchema = Type.Union([Type.Literal('retained'), Type.Literal('held'), Type.Literal('shredded')]);
export type RetentionItemState = Static<typeof RetentionItemStateSchema>;

export const PolicyViewSchema = Type.Object({ productCode: Type.String(), retentionDays: Type.Integer(), anchor: RetentionAnchorSchema, updatedBy: Type.String(), updatedAt: DateTime });
export type PolicyView = Static<typeof PolicyViewSchema>;

export const HoldViewSchema = Type.Object({
  id: Uuid,
  caseId: Uuid,
  reason: Type.String(),
  placedBy: Type.String(),
  placedAt: DateTime,
  releasedBy: Nullable(Type.String()),
  releasedAt: Nullable(DateTime),
  releaseReason: Nullable(Type.String()),
});
export type HoldView = Static<typeof HoldViewSchema>;

export const CaseRetentionViewSchema = Type.Object({
  caseId: Uuid,
  policy: Nullable(Type.Object({ productCode: Type.String(), retentionDays: Type.Integer(), anchor: RetentionAnchorSchema })),
  anchorAt: Nullable(DateTime),
  contractEnd: Nullable(Type.String({ format: 'date' })),
  expiresAt: Nullable(DateTime),
  /** why expiresAt is null: no policy for the product, or the anchor event has not happened yet */
  reason: Nullable(Type.Union([Type.Literal('no_policy'), Type.Literal('not_completed'), Type.Literal('no_contract_end')])),
  hold: Nullable(HoldViewSchema),
  shredded: Nullable(Type.Object({ at: DateTime, auditSeq: Nullable(Type.Integer({ minimum: 0 })) })),
  items: Type.Array(
    Type.Object({
      kind: RetentionItemKindSchema,
      id: Uuid,
      expiresAt: Nullable(DateTime),
      state: RetentionItemStateSchema,
      shreddedAt: Nullable(DateTime),
    }),
  ),
});
export type CaseRetentionView = Static<typeof CaseRetentionViewSchema>;

export const RunViewSchema = Type.Object({
  id: Uuid,
  startedAt: DateTime,
  finishedAt: Nullable(DateTime),
  asOf: DateTime,
  dryRun: Type.Boolean(),
  shredded: Type.Record(Type.String(), Type.Integer()),
});
export type RunView = Static<typeof RunViewSchema>;

export const RetentionOverviewSchema = Type.Object({
  upcoming: Type.Object({
    within30: Type.Integer(),
    within90: Type.Integer(),
    items: Type.Array(Type.Object({ caseId: Uuid, product: Type.String(), expiresAt: DateTime })),
  }),
  holds: Type.Array(HoldViewSchema),
  lastRun: Nullable(RunViewSchema),
});
export type RetentionOverview = Static<typeof RetentionOverviewSchema>;

/** POST /api/admin/retention/run: whether a run was queued for the worker. */
export const RetentionRunQueuedSchema = Type.Object({ queued: Type.Boolean() });
export type RetentionRunQueued = Static<typeof RetentionRunQueuedSchema>;

// The operations dashboard. Party, direction, medium and warning code are declared as plain strings in the API
// document (as they always were); the types name their values.
const NumOrNull = Nullable(Type.Number());

/** One 10-second sample of the operations dashboard's history (GET /api/admin/ops). */
export const OpsSampleSchema = Type.Object({
  /** epoch ms */
  at: Type.Number(),
  sessionsActive: Type.Integer(),
  recordingsInProgress: Type.Integer(),
  sealQueueDepth: Type.Integer(),
  sealFailures: Type.Integer(),
  /** joins that reached recording_started / sockets that joined, since the previous sample (null: none joined) */
  joinSuccessRate: NumOrNull,
  /** latest media figures of the current calls (Janus's view, both parties' uplinks) */
  lossRatio: NumOrNull,
  rttMs: NumOrNull,
  bitrateBps: NumOrNull,
  diskDaysLeft: NumOrNull,
});
export type OpsSample = Static<typeof OpsSampleSchema>;

export const OpsWarningSchema = Type.Object({
  code: Type.Unsafe<'disk_low' | 'certificate_expiring' | 'seal_failing' | 'checkpoint_late'>(Type.String()),
  /** the volume or certificate concerned; '' for the others */
  subject: Type.String(),
  /** days left (disk, certificate), failed attempts (seals), checkpoint age in seconds */
  value: Type.Number(),
  /** the same in English, for logs and API users */
  message: Type.String(),
});
export type OpsWarning = Static<typeof OpsWarningSchema>;

export const OpsThresholdsSchema = Type.Object({ diskDays: Type.Number(), certificateDays: Type.Number(), checkpointEverySeconds: Type.Number() });
export type OpsThresholds = Static<typeof OpsThresholdsSchema>;

/** The latest media figures of one party, direction and medium of the current calls. */
export const OpsMediaSampleSchema = Type.Object({
  party: Type.Unsafe<'teller' | 'customer'>(Type.String()),
  direction: Type.Unsafe<'up' | 'down'>(Type.String()),
  media: Type.Unsafe<'audio' | 'video'>(Type.String()),
  rttMs: NumOrNull,
  jitterMs: NumOrNull,
  lossRatio: NumOrNull,
  bitrateBps: NumOrNull,
  linkQuality: NumOrNull,
  at: Type.Number(),
});
export type OpsMediaSample = Static<typeof OpsMediaSampleSchema>;

/** GET /api/admin/ops: current figures, the history and the warnings (no case, customer or media data). */
export const OpsViewSchema = Type.Object({
  current: Type.Object({
    sessionsActive: Type.Integer(),
    recordingsInProgress: Type.Integer(),
    sealQueueDepth: Type.Integer(),
    sealFailures: Type.Integer(),
    auditLogSize: Type.Integer(),
    checkpointAgeSeconds: NumOrNull,
    checkpointUnsealedEvents: Type.Integer(),
    /** days left null: nothing sealed in the last day (no ingest) */
    disk: Type.Unsafe<Record<'recordings' | 'archive', { freeBytes: number; daysLeft: number | null }>>(
      Type.Record(Type.String(), Type.Object({ freeBytes: Type.Number(), daysLeft: NumOrNull })),
    ),
    /** seconds until expiry by certificate */
    certificates: Type.Record(Type.String(), Type.Number()),
    pool: Type.Object({ total: Type.Integer(), idle: Type.Integer(), waiting: Type.Integer() }),
    /** join funnel counts of this process by `stage/result` */
    joins: Type.Record(Type.String(), Type.Integer()),
    media: Type.Array(OpsMediaSampleSchema),
  }),
  history: Type.Array(OpsSampleSchema),
  warnings: Type.Array(OpsWarningSchema),
  thresholds: OpsThresholdsSchema,
});
export type OpsView = Static<typeof OpsViewSchema>;

/** One party's link over 5 seconds: `janus` measures its uplink, `browser` is what its browser receives. */
export const QualitySampleViewSchema = Type.Object({
  sessionId: Uuid,
  /** epoch milliseconds (the start of the 5-second bucket): the chart's axis, the recording's wall clock */
  t: Type.Number(),
  party: PartySchema,
  source: Type.Union([Type.Literal('janus'), Type.Literal('browser')]),
  bitrateKbps: NumOrNull,
  lossPct: NumOrNull,
  rttMs: NumOrNull,
  jitterMs: NumOrNull,
  availableKbps: NumOrNull,
});
export type QualitySampleView = Static<typeof QualitySampleViewSchema>;

/** A quality incident beside the recording: slowlink, freeze, reconnect, disconnect, call-mode (a degrade step). */
export const QualityIncidentViewSchema = Type.Object({
  sessionId: Uuid,
  t: Type.Number(),
  party: Type.Union([PartySchema, Type.Literal('system')]),
  kind: Type.String(),
  /** call-mode: from, to, reason; slowlink: uplink, lost */
  data: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])),
});
export type QualityIncidentView = Static<typeof QualityIncidentViewSchema>;

export const CaseQualityViewSchema = Type.Object({
  samples: Type.Array(QualitySampleViewSchema),
  incidents: Type.Array(QualityIncidentViewSchema),
  truncated: Type.Object({ samples: Type.Boolean(), incidents: Type.Boolean() }),
});
export type CaseQualityView = Static<typeof CaseQualityViewSchema>;
