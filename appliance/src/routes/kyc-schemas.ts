import { Type } from 'typebox';
import { LocalizedTextSchema, StepKindSchema } from '../kyc/products.js';

// Response schemas of the KYC routes; the shapes are declared as types in kyc/kyc-api-types.ts.
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Party = Type.Union([Type.Literal('teller'), Type.Literal('customer'), Type.Literal('system')]);
const Title = Type.Object({ 'zh-CN': Type.String(), en: Type.String() });
const Still = Nullable(Type.Object({ fileId: Type.String(), sha256: Type.String() }));

export const CaseStepSchema = Type.Object({
  id: Type.String(),
  kind: StepKindSchema,
  required: Type.Boolean(),
  title: Title,
  text: Nullable(LocalizedTextSchema),
  confirm: Type.Boolean(),
  questions: Nullable(Type.Array(Type.Object({ id: Type.String(), text: LocalizedTextSchema }))),
  code: Nullable(Type.String()),
  status: Type.Union([Type.Literal('pending'), Type.Literal('awaiting-confirmation'), Type.Literal('done')]),
  completedAt: Nullable(Type.String({ format: 'date-time' })),
  offsetMs: Nullable(Type.Integer()),
  attempts: Type.Array(
    Type.Object({
      id: Type.String(),
      attempt: Type.Integer(),
      at: Type.String({ format: 'date-time' }),
      party: Party,
      actor: Type.String(),
      result: Type.Record(Type.String(), Type.Unknown()),
      sessionId: Nullable(Type.String()),
    }),
  ),
});

export const CaseKycSchema = Type.Object({
  product: Nullable(Type.Object({ code: Type.String(), version: Type.Integer(), nameZh: Type.String(), nameEn: Type.String() })),
  steps: Type.Array(CaseStepSchema),
  idDocument: Type.Object({ front: Still, back: Still }),
  faceMatch: Nullable(Type.Object({ score: Type.Number(), decision: Type.String(), engine: Type.String(), threshold: Type.Number() })),
  liveness: Nullable(Type.Object({ challenges: Type.Array(Type.Object({ kind: Type.String(), passed: Type.Boolean() })), passed: Type.Boolean() })),
  ocr: Nullable(Type.Object({ idNumberMatches: Type.Boolean() })),
  geolocation: Nullable(
    Type.Object({
      consent: Type.Union([Type.Literal('granted'), Type.Literal('refused'), Type.Literal('unavailable')]),
      latitude: Nullable(Type.Number()),
      longitude: Nullable(Type.Number()),
      accuracyM: Nullable(Type.Number()),
      capturedAt: Nullable(Type.String({ format: 'date-time' })),
      receivedAt: Type.String({ format: 'date-time' }),
    }),
  ),
  missing: Type.Array(Type.Object({ id: Type.String(), kind: Type.String() })),
  recording: Type.Object({
    sealed: Type.Boolean(),
    markers: Type.Array(
      Type.Object({
        stepId: Type.String(),
        attempt: Type.Integer(),
        at: Type.String(),
        offsetMs: Type.Integer(),
        media: Type.Array(Type.Object({ party: Type.Union([Type.Literal('teller'), Type.Literal('customer')]), segment: Type.Integer(), offsetMs: Type.Integer() })),
      }),
    ),
  }),
});

export const StepActionSchema = Type.Object({
  stepId: Type.String(),
  status: Type.Union([Type.Literal('done'), Type.Literal('awaiting-confirmation')]),
  attemptId: Nullable(Type.String()),
  offsetMs: Nullable(Type.Integer()),
  confirmationId: Nullable(Type.String()),
});

export const CustomerKycSchema = Type.Object({
  recording: Type.Boolean(),
  recordingSince: Type.String({ format: 'date-time' }),
  requiresGeolocation: Type.Boolean(),
  prompts: Type.Array(
    Type.Object({ confirmationId: Type.String(), stepId: Type.String(), title: Title, text: Nullable(LocalizedTextSchema), requestedAt: Type.String({ format: 'date-time' }) }),
  ),
  readAloud: Nullable(Type.Object({ stepId: Type.String(), title: Title, code: Nullable(Type.String()) })),
});
