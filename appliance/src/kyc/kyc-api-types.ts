// The shapes of products, scripts and a case's KYC view, declared once: the appliance builds them and the web UI
// reads them (imported by relative path with `import type`, like api-types.ts). The catalogue's vocabulary (products
// and their script steps) lives in domain/product.ts and is re-exported here; a case's KYC view is a TypeBox schema
// (the routes answer with it) and its type is `Static<>` of it.
import { Type, type Static } from 'typebox';
import { STEP_KINDS } from '../domain/product.js';
import { DateTime, ItemsOf, LiteralUnion, Nullable } from '../lib/schema.js';

export { SCRIPT_LOCALES, STEP_KINDS } from '../domain/product.js';
export type { LocalizedText, ProductDefinition, ProductView, ScriptLocale, ScriptStepDefinition, StepKind } from '../domain/product.js';

export const StepKindSchema = LiteralUnion(STEP_KINDS);
const ScriptText = Type.String({ minLength: 1, maxLength: 4000 });
export const LocalizedTextSchema = Type.Object({ 'zh-CN': ScriptText, en: ScriptText }, { additionalProperties: false });

/** A step of a product's script, as an admin writes it (the request body) and as the catalogue answers it. */
const StepId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$' });

export const ScriptStepSchema = Type.Object(
  {
    id: StepId,
    kind: StepKindSchema,
    required: Type.Boolean(),
    title: Type.Object({ 'zh-CN': Type.String({ minLength: 1, maxLength: 200 }), en: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
    text: Type.Optional(LocalizedTextSchema),
    confirm: Type.Optional(Type.Boolean()),
    pool: Type.Optional(Type.Array(Type.Object({ id: StepId, text: LocalizedTextSchema }, { additionalProperties: false }), { minItems: 1, maxItems: 100 })),
    draw: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    source: Type.Optional(Type.Union([Type.Literal('code'), Type.Literal('id-serial')])),
    digits: Type.Optional(Type.Integer({ minimum: 4, maximum: 6 })),
  },
  { additionalProperties: false },
);

/** A product at one version, as the catalogue answers it. */
export const ProductViewSchema = Type.Object({
  code: Type.String(),
  version: Type.Integer(),
  nameZh: Type.String(),
  nameEn: Type.String(),
  retentionYears: Type.Integer(),
  requiresGeolocation: Type.Boolean(),
  steps: Type.Array(ScriptStepSchema),
  createdBy: Type.String(),
  createdAt: DateTime,
});

/** GET /api/products and /api/products/:code/versions: products, each at one version. */
export const ProductListSchema = ItemsOf(ProductViewSchema);
export type ProductList = Static<typeof ProductListSchema>;

/** One change between two versions of a product: a field of the product, or a step added/removed/changed. */
export const ProductDiffEntrySchema = Type.Object({
  change: Type.Union([Type.Literal('added'), Type.Literal('removed'), Type.Literal('changed'), Type.Literal('moved')]),
  /** `nameZh`, `retentionYears`, … or `steps.<stepId>` / `steps.<stepId>.<field>` */
  path: Type.String(),
  before: Type.Unknown(),
  after: Type.Unknown(),
});
export type ProductDiffEntry = Static<typeof ProductDiffEntrySchema>;

export const ProductDiffSchema = Type.Object({ code: Type.String(), from: Type.Integer(), to: Type.Integer(), changes: Type.Array(ProductDiffEntrySchema) });
export type ProductDiff = Static<typeof ProductDiffSchema>;

/** PUT /api/admin/products/:code: the new version, and what changed from the one before. */
export const ProductUpdatedSchema = Type.Object({ product: ProductViewSchema, diff: ProductDiffSchema });
export type ProductUpdated = Static<typeof ProductUpdatedSchema>;

const StepParty = Type.Union([Type.Literal('teller'), Type.Literal('customer'), Type.Literal('system')]);
const Title = Type.Object({ 'zh-CN': Type.String(), en: Type.String() });
const Still = Nullable(Type.Object({ fileId: Type.String(), sha256: Type.String() }));

const StepStatusSchema = Type.Union([Type.Literal('pending'), Type.Literal('awaiting-confirmation'), Type.Literal('done')]);
export type StepStatus = Static<typeof StepStatusSchema>;

/** The step as drawn for one case, with what happened. */
export const CaseStepViewSchema = Type.Object({
  id: Type.String(),
  kind: StepKindSchema,
  required: Type.Boolean(),
  title: Title,
  text: Nullable(LocalizedTextSchema),
  confirm: Type.Boolean(),
  /** question: the questions drawn for this case, in the order asked */
  questions: Nullable(Type.Array(Type.Object({ id: Type.String(), text: LocalizedTextSchema }))),
  /** read-aloud: the code the customer reads (null when it is the ID serial) */
  code: Nullable(Type.String()),
  status: StepStatusSchema,
  /** the latest attempt */
  completedAt: Nullable(DateTime),
  /** ms from the start of the call's recording (time base of the sealed manifest when sealed) */
  offsetMs: Nullable(Type.Integer()),
  attempts: Type.Array(
    Type.Object({
      id: Type.String(),
      attempt: Type.Integer(),
      at: DateTime,
      party: StepParty,
      actor: Type.String(),
      result: Type.Record(Type.String(), Type.Unknown()),
      sessionId: Nullable(Type.String()),
    }),
  ),
});
export type CaseStepView = Static<typeof CaseStepViewSchema>;

export const GeolocationViewSchema = Type.Object({
  consent: Type.Union([Type.Literal('granted'), Type.Literal('refused'), Type.Literal('unavailable')]),
  latitude: Nullable(Type.Number()),
  longitude: Nullable(Type.Number()),
  accuracyM: Nullable(Type.Number()),
  capturedAt: Nullable(DateTime),
  receivedAt: DateTime,
});
export type GeolocationView = Static<typeof GeolocationViewSchema>;

/** POST /api/sessions/:id/geolocation: when the appliance stored the customer's answer. */
export const GeolocationReceivedSchema = Type.Object({ receivedAt: DateTime });
export type GeolocationReceived = Static<typeof GeolocationReceivedSchema>;

const identityEvidence = {
  idDocument: Type.Object({ front: Still, back: Still }),
  faceMatch: Nullable(Type.Object({ score: Type.Number(), decision: Type.String(), engine: Type.String(), threshold: Type.Number() })),
  liveness: Nullable(Type.Object({ challenges: Type.Array(Type.Object({ kind: Type.String(), passed: Type.Boolean() })), passed: Type.Boolean() })),
  ocr: Nullable(Type.Object({ idNumberMatches: Type.Boolean() })),
};
/** A case's identity evidence in short (the KYC view carries it). */
export const IdentityEvidenceViewSchema = Type.Object(identityEvidence);
export type IdentityEvidenceView = Static<typeof IdentityEvidenceViewSchema>;

/** GET /api/cases/:id/kyc */
export const CaseKycViewSchema = Type.Object({
  product: Nullable(Type.Object({ code: Type.String(), version: Type.Integer(), nameZh: Type.String(), nameEn: Type.String() })),
  steps: Type.Array(CaseStepViewSchema),
  ...identityEvidence,
  geolocation: Nullable(GeolocationViewSchema),
  /** what still stands between the case and "completed" (the gate) */
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
export type CaseKycView = Static<typeof CaseKycViewSchema>;

/** What a step action (complete, confirm) answers. */
export const StepActionSchema = Type.Object({
  stepId: Type.String(),
  status: Type.Union([Type.Literal('done'), Type.Literal('awaiting-confirmation')]),
  attemptId: Nullable(Type.String()),
  offsetMs: Nullable(Type.Integer()),
  confirmationId: Nullable(Type.String()),
});
export type StepAction = Static<typeof StepActionSchema>;

/** What the customer's screen shows of the script. */
export const CustomerScriptViewSchema = Type.Object({
  recording: Type.Boolean(),
  recordingSince: DateTime,
  requiresGeolocation: Type.Boolean(),
  prompts: Type.Array(Type.Object({ confirmationId: Type.String(), stepId: Type.String(), title: Title, text: Nullable(LocalizedTextSchema), requestedAt: DateTime })),
  readAloud: Nullable(Type.Object({ stepId: Type.String(), title: Title, code: Nullable(Type.String()) })),
});
export type CustomerScriptView = Static<typeof CustomerScriptViewSchema>;
