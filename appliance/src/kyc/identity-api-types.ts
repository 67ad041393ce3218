// The identity evidence of a case as the teller's call console and the auditor's review read it
// (GET /api/cases/:id/identity), and what a capture answers. The web UI imports this file by relative path with
// `import type` (erased: its bundle gains nothing from here).
import { Type, type Static } from 'typebox';

export const CapturePurposeSchema = Type.Union([Type.Literal('id-front'), Type.Literal('id-back'), Type.Literal('face'), Type.Literal('liveness')]);
export const ChallengeKindSchema = Type.Union([Type.Literal('turn-left'), Type.Literal('turn-right'), Type.Literal('blink'), Type.Literal('open-mouth'), Type.Literal('read-digits')]);

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

export interface IdentityStillView {
  id: string;
  side: 'id-front' | 'id-back';
  sha256: string;
  width: number;
  height: number;
  at: string;
  decision: 'accepted' | 'retake' | null;
  decidedBy: string | null;
}

export interface FaceCheckView {
  id: string;
  score: number;
  /** the engine's decision */
  decision: 'match' | 'review' | 'no_match';
  /** the override when there is one, else the engine's decision */
  effectiveDecision: 'match' | 'review' | 'no_match';
  engine: string;
  modelVersion: string;
  thresholds: { match: number; review: number };
  referenceStillId: string;
  probeStillId: string | null;
  probeCount: number;
  override: { decision: 'match' | 'no_match'; reason: string; by: string; at: string } | null;
  at: string;
}

export interface LivenessChallengeView {
  kind: 'turn-left' | 'turn-right' | 'blink' | 'open-mouth' | 'read-digits';
  digits: string | null;
  passed: boolean | null;
  reason: string | null;
  sameFace: boolean | null;
  answeredAt: string | null;
}

export interface LivenessView {
  id: string;
  status: 'running' | 'passed' | 'failed';
  challenges: LivenessChallengeView[];
  at: string;
  finishedAt: string | null;
}

export interface IdentityDetailView {
  sides: Record<'id-front' | 'id-back', { latest: IdentityStillView | null; accepted: IdentityStillView | null }>;
  /** the ID number read from the accepted (else the latest) front still, compared with the case's; never the number */
  ocr: { stillId: string; read: boolean; checksumValid: boolean; idNumberMatches: boolean } | null;
  faceCheck: FaceCheckView | null;
  liveness: LivenessView | null;
  /** what the customer's browser has been asked for and not sent yet */
  pending: { requestId: string; purpose: 'id-front' | 'id-back' | 'face' | 'liveness'; at: string } | null;
}
