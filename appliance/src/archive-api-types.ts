// The auditor's archive API, declared once: search query, a case's timeline, replay, review, reveal and exports. Each
// shape is a TypeBox schema (the routes validate and answer with it) and its type is `Static<>` of that schema; the
// web UI imports the types by relative path with `import type`, like api-types.ts.
import { Type, type Static } from 'typebox';
import { CaseStatusSchema, CaseViewSchema, IntegrityFlagSchema, PartySchema, RecordingIssueSchema, RecordingStatusSchema, RejectReasonSchema, REJECT_REASONS } from './api-types.js';
import { AuditText, DateTime, Nullable, Uuid } from './lib/schema.js';

export { PartySchema, RecordingIssueSchema } from './api-types.js';
export type { RecordingIssue } from './api-types.js';

const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });

export const ArchiveSortSchema = Type.Union([Type.Literal('created_desc'), Type.Literal('created_asc')]);
export type ArchiveSort = Static<typeof ArchiveSortSchema>;

/** GET /api/archive/search: the filters, the order and the page. */
export const ArchiveQuerySchema = Type.Object(
  {
    idNumber: Type.Optional(Type.String({ minLength: 15, maxLength: 20 })),
    name: Type.Optional(Text(100)),
    teller: Type.Optional(Text(100)),
    branch: Type.Optional(Text(100)),
    product: Type.Optional(Text(100)),
    status: Type.Optional(CaseStatusSchema),
    recordingStatus: Type.Optional(RecordingStatusSchema),
    flag: Type.Optional(IntegrityFlagSchema),
    from: Type.Optional(DateTime),
    to: Type.Optional(DateTime),
    sort: Type.Optional(ArchiveSortSchema),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,300}$' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  },
  { additionalProperties: false },
);
export type ArchiveQuery = Static<typeof ArchiveQuerySchema>;

export const TimelineInvitationSchema = Type.Object({
  id: Uuid,
  step: Type.String(),
  createdBy: Type.String(),
  createdAt: DateTime,
  expiresAt: DateTime,
  openedAt: Nullable(DateTime),
  codeAttempts: Type.Integer(),
  codeVerifiedAt: Nullable(DateTime),
  lockedAt: Nullable(DateTime),
  deviceCheckedAt: Nullable(DateTime),
  consent: Nullable(Type.String()),
  consentAt: Nullable(DateTime),
  revokedAt: Nullable(DateTime),
  closedAt: Nullable(DateTime),
});
export type TimelineInvitation = Static<typeof TimelineInvitationSchema>;

export const SessionEventSchema = Type.Object({
  id: Type.String(),
  at: DateTime,
  party: Type.String(),
  kind: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
  text: Nullable(Type.String()),
});
export type SessionEvent = Static<typeof SessionEventSchema>;

/** A file exchanged in a session, as the timeline lists it: with the auditor's download link. */
export const TimelineFileSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  mediaType: Type.String(),
  size: Type.Integer(),
  sha256: Type.String(),
  from: PartySchema,
  at: DateTime,
  url: Type.String(),
});
export type TimelineFile = Static<typeof TimelineFileSchema>;

export const TimelineRecordingSchema = Type.Object({
  id: Uuid,
  status: RecordingStatusSchema,
  complete: Nullable(Type.Boolean()),
  issues: Type.Array(RecordingIssueSchema),
  sealedAt: Nullable(DateTime),
  failureReason: Nullable(Type.String()),
});
export type TimelineRecording = Static<typeof TimelineRecordingSchema>;

export const TimelineSessionSchema = Type.Object({
  id: Uuid,
  state: Type.String(),
  admittedAt: DateTime,
  endedAt: Nullable(DateTime),
  endReason: Nullable(Type.String()),
  events: Type.Array(SessionEventSchema),
  /** slowlink and freeze reports (reconnects and call-mode steps are session events) */
  qualityIncidents: Type.Array(Type.Object({ at: DateTime, party: PartySchema, kind: Type.String(), data: Type.Record(Type.String(), Type.Unknown()) })),
  files: Type.Array(TimelineFileSchema),
  recording: Nullable(TimelineRecordingSchema),
});
export type TimelineSession = Static<typeof TimelineSessionSchema>;

export const TimelineAuditEventSchema = Type.Object({
  leafIndex: Type.Integer({ minimum: 0 }),
  leaf: Type.String({ description: 'the leaf bytes (canonical JSON, UTF-8): hash 0x00 ‖ leaf to check the inclusion proof' }),
  leafHash: Type.String(),
  action: Type.String(),
  time: Type.String(),
  actor: Type.String(),
  result: Type.String(),
  objectType: Nullable(Type.String()),
  objectId: Nullable(Type.String()),
});
export type TimelineAuditEvent = Static<typeof TimelineAuditEventSchema>;

/** GET /api/cases/:id/timeline (auditor). */
export const TimelineSchema = Type.Object({
  case: CaseViewSchema,
  /** true where the timeline stops at its bound (the audit log search and the session's own views page through the rest) */
  truncated: Type.Object({ sessionEvents: Type.Boolean(), auditEvents: Type.Boolean(), qualityIncidents: Type.Boolean() }),
  invitations: Type.Array(TimelineInvitationSchema),
  sessions: Type.Array(TimelineSessionSchema),
  auditEvents: Type.Array(TimelineAuditEventSchema),
  /** where the next page starts; only on an answer asked for a page (`limit` or `after`), null on the last */
  nextCursor: Type.Optional(Nullable(Type.String())),
});
export type Timeline = Static<typeof TimelineSchema>;

/** One party segment of a sealed recording, with its media URL (the grant in it). */
export const ReplayPartySchema = Type.Object({
  party: PartySchema,
  segment: Type.Integer({ minimum: 1 }),
  url: Type.String(),
  durationMs: Nullable(Type.Integer()),
  offsetMs: Nullable(Type.Integer()),
  bytes: Type.Integer(),
  sha256: Type.String(),
});
export type ReplayParty = Static<typeof ReplayPartySchema>;

export const ReplayMarkerSchema = Type.Object({ at: Type.String(), offsetMs: Type.Integer(), party: Type.String(), kind: Type.String(), data: Type.Record(Type.String(), Type.Unknown()) });
export type ReplayMarker = Static<typeof ReplayMarkerSchema>;

/** POST /api/recordings/:id/replay: a short-lived grant, the media URLs and the manifest's markers. */
export const ReplaySchema = Type.Object({
  recordingId: Uuid,
  grant: Type.String(),
  expiresAt: DateTime,
  complete: Nullable(Type.Boolean()),
  issues: Type.Array(RecordingIssueSchema),
  parties: Type.Array(ReplayPartySchema),
  markers: Type.Array(ReplayMarkerSchema),
});
export type Replay = Static<typeof ReplaySchema>;

/** Longest prompting notes: with the longest comment and every reason the `case.reject` event stays within its size. */
const PROMPTING_NOTES_MAX = 500;

/** POST /api/cases/:id/review: the auditor's decision; `prompting_observed` needs `promptingNotes`. */
export const ReviewInputSchema = Type.Object(
  {
    decision: Type.Union([Type.Literal('approved'), Type.Literal('rejected')]),
    comment: AuditText(1),
    /** only with a rejection */
    rejectReasons: Type.Optional(Type.Array(RejectReasonSchema, { minItems: 1, maxItems: REJECT_REASONS.length, uniqueItems: true })),
    promptingNotes: Type.Optional(AuditText(1, PROMPTING_NOTES_MAX)),
  },
  { additionalProperties: false },
);
export type ReviewInput = Static<typeof ReviewInputSchema>;

/** The masked fields of a case an auditor may reveal. */
export const MaskedFieldSchema = Type.Union([Type.Literal('customerName'), Type.Literal('customerIdNumber'), Type.Literal('customerPhone'), Type.Literal('bankCard')]);
export type MaskedField = Static<typeof MaskedFieldSchema>;

/** POST /api/cases/:id/reveal: one field in clear until `expiresAt`. */
export const RevealedSchema = Type.Object({ field: MaskedFieldSchema, value: Type.String(), expiresAt: DateTime });
export type Revealed = Static<typeof RevealedSchema>;

export const ExportStatusSchema = Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]);
export type ExportStatus = Static<typeof ExportStatusSchema>;

/** GET /api/exports/:id: an export's status and progress (the requester's own). */
export const ExportViewSchema = Type.Object({
  id: Uuid,
  recordingId: Uuid,
  requestedBy: Type.String(),
  status: ExportStatusSchema,
  progress: Type.Number({ minimum: 0, maximum: 1 }),
  failureReason: Nullable(Type.String()),
  sha256: Nullable(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  bytes: Nullable(Type.Integer()),
  createdAt: DateTime,
  finishedAt: Nullable(DateTime),
});
export type ExportView = Static<typeof ExportViewSchema>;

/** POST /api/recordings/:id/exports: the queued job. */
export const ExportRequestedSchema = Type.Object({ id: Uuid, status: ExportStatusSchema });
export type ExportRequested = Static<typeof ExportRequestedSchema>;

/** GET /api/audit/proof/inclusion: RFC 9162 inclusion proof of one leaf in the tree of `treeSize` leaves (hashes base64). */
export const InclusionProofSchema = Type.Object({
  leafIndex: Type.Integer(),
  treeSize: Type.Integer(),
  leafHash: Type.String(),
  rootHash: Type.String(),
  /** the audit path, leaf side first */
  hashes: Type.Array(Type.String()),
});
export type InclusionProof = Static<typeof InclusionProofSchema>;
