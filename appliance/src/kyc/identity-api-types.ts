// The identity evidence of a case as the teller's call console and the auditor's review read it
// (GET /api/cases/:id/identity), and what a capture answers. The web UI imports this file by relative path with
// `import type` (erased: its bundle gains nothing from here).
import { Type, type Static } from 'typebox';
import { CHALLENGE_KINDS } from '../domain/vocabulary.js';
import { Nullable, StringEnum } from '../lib/schema.js';

export const CapturePurposeSchema = Type.Union([Type.Literal('id-front'), Type.Literal('id-back'), Type.Literal('face'), Type.Literal('liveness')]);
export const ChallengeKindSchema = StringEnum(CHALLENGE_KINDS);

/** What the customer's browser is asked to capture (the same message the call's socket sends). */
export const CaptureRequestSchema = Type.Object({
  type: Type.Literal('capture-request'),
  requestId: Type.String(),
  purpose: CapturePurposeSchema,
  frames: Type.Integer(),
  challenge: Type.Optional(Type.Object({ kind: ChallengeKindSchema, position: Type.Integer(), of: Type.Integer(), digits: Type.Optional(Type.String()) })),
});

/** GET /api/sessions/:id/identity/pending: the capture this browser is asked for now, or null. */
export const PendingCaptureSchema = Type.Object({ request: Nullable(CaptureRequestSchema) });
export type PendingCapture = Static<typeof PendingCaptureSchema>;

/** POST /api/sessions/:id/identity/captures/:requestId: what the stills sent gave (the fields of their purpose). */
export const CaptureResultSchema = Type.Object({
  kind: CapturePurposeSchema,
  stillIds: Type.Array(Type.String()),
  idNumberMatches: Type.Optional(Type.Boolean()),
  faceCheckId: Type.Optional(Type.String()),
  score: Type.Optional(Type.Number()),
  decision: Type.Optional(Type.String()),
  livenessId: Type.Optional(Type.String()),
  challenge: Type.Optional(ChallengeKindSchema),
  passed: Type.Optional(Type.Boolean()),
  finished: Type.Optional(Type.Union([Type.Literal('passed'), Type.Literal('failed'), Type.Null()])),
});
export type CaptureResult = Static<typeof CaptureResultSchema>;

/** POST /api/sessions/:id/identity/liveness: the challenges drawn, asked of the customer one after the other. */
export const LivenessStartedSchema = Type.Object({ livenessId: Type.String(), challenges: Type.Array(Type.Object({ kind: ChallengeKindSchema, digits: Nullable(Type.String()) })) });
export type LivenessStarted = Static<typeof LivenessStartedSchema>;

const IdSideSchema = Type.Union([Type.Literal('id-front'), Type.Literal('id-back')]);
const FaceDecisionSchema = Type.Union([Type.Literal('match'), Type.Literal('review'), Type.Literal('no_match')]);

export const IdentityStillViewSchema = Type.Object({
  id: Type.String(),
  side: IdSideSchema,
  sha256: Type.String(),
  width: Type.Integer(),
  height: Type.Integer(),
  at: Type.String(),
  decision: Type.Union([Type.Literal('accepted'), Type.Literal('retake'), Type.Null()]),
  decidedBy: Nullable(Type.String()),
});
export type IdentityStillView = Static<typeof IdentityStillViewSchema>;

export const FaceCheckViewSchema = Type.Object({
  id: Type.String(),
  score: Type.Number(),
  /** the engine's decision */
  decision: FaceDecisionSchema,
  /** the override when there is one, else the engine's decision */
  effectiveDecision: FaceDecisionSchema,
  engine: Type.String(),
  modelVersion: Type.String(),
  thresholds: Type.Object({ match: Type.Number(), review: Type.Number() }),
  referenceStillId: Type.String(),
  probeStillId: Nullable(Type.String()),
  probeCount: Type.Integer(),
  override: Nullable(Type.Object({ decision: Type.Union([Type.Literal('match'), Type.Literal('no_match')]), reason: Type.String(), by: Type.String(), at: Type.String() })),
  at: Type.String(),
});
export type FaceCheckView = Static<typeof FaceCheckViewSchema>;

export const LivenessChallengeViewSchema = Type.Object({
  kind: ChallengeKindSchema,
  digits: Nullable(Type.String()),
  passed: Nullable(Type.Boolean()),
  reason: Nullable(Type.String()),
  sameFace: Nullable(Type.Boolean()),
  answeredAt: Nullable(Type.String()),
});
export type LivenessChallengeView = Static<typeof LivenessChallengeViewSchema>;

export const LivenessViewSchema = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal('running'), Type.Literal('passed'), Type.Literal('failed')]),
  challenges: Type.Array(LivenessChallengeViewSchema),
  at: Type.String(),
  finishedAt: Nullable(Type.String()),
});
export type LivenessView = Static<typeof LivenessViewSchema>;

const SideStillsSchema = Type.Object({ latest: Nullable(IdentityStillViewSchema), accepted: Nullable(IdentityStillViewSchema) });

/** GET /api/cases/:id/identity: a case's identity evidence in detail (its teller, auditors). */
export const IdentityDetailViewSchema = Type.Object({
  sides: Type.Object({ 'id-front': SideStillsSchema, 'id-back': SideStillsSchema }),
  /** the ID number read from the accepted (else the latest) front still, compared with the case's; never the number */
  ocr: Nullable(Type.Object({ stillId: Type.String(), read: Type.Boolean(), checksumValid: Type.Boolean(), idNumberMatches: Type.Boolean() })),
  faceCheck: Nullable(FaceCheckViewSchema),
  liveness: Nullable(LivenessViewSchema),
  /** what the customer's browser has been asked for and not sent yet */
  pending: Nullable(Type.Object({ requestId: Type.String(), purpose: CapturePurposeSchema, at: Type.String() })),
});
export type IdentityDetailView = Static<typeof IdentityDetailViewSchema>;
