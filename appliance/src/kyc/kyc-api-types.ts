// The shapes of products, scripts and a case's KYC view, declared once: the appliance builds them and the web UI
// reads them (imported by relative path, like api-types.ts). Pure TypeScript: it imports only the catalogue's
// vocabulary from domain/product.ts, which it re-exports.
import type { LocalizedText, StepKind } from '../domain/product.js';

export { SCRIPT_LOCALES, STEP_KINDS } from '../domain/product.js';
export type { LocalizedText, ProductDefinition, ProductView, ScriptLocale, ScriptStepDefinition, StepKind } from '../domain/product.js';

/** One change between two versions of a product: a field of the product, or a step added/removed/changed. */
export interface ProductDiffEntry {
  change: 'added' | 'removed' | 'changed' | 'moved';
  /** `nameZh`, `retentionYears`, … or `steps.<stepId>` / `steps.<stepId>.<field>` */
  path: string;
  before: unknown;
  after: unknown;
}

export interface ProductDiff {
  code: string;
  from: number;
  to: number;
  changes: ProductDiffEntry[];
}

export type StepStatus = 'pending' | 'awaiting-confirmation' | 'done';

/** The step as drawn for one case, with what happened. */
export interface CaseStepView {
  id: string;
  kind: StepKind;
  required: boolean;
  title: LocalizedText;
  text: LocalizedText | null;
  confirm: boolean;
  /** question: the questions drawn for this case, in the order asked */
  questions: Array<{ id: string; text: LocalizedText }> | null;
  /** read-aloud: the code the customer reads (null when it is the ID serial) */
  code: string | null;
  status: StepStatus;
  /** the latest attempt */
  completedAt: string | null;
  /** ms from the start of the session's recording (time base of the sealed manifest when sealed) */
  offsetMs: number | null;
  attempts: Array<{ id: string; attempt: number; at: string; party: 'teller' | 'customer' | 'system'; actor: string; result: Record<string, unknown>; sessionId: string | null }>;
}

export interface GeolocationView {
  consent: 'granted' | 'refused' | 'unavailable';
  latitude: number | null;
  longitude: number | null;
  accuracyM: number | null;
  capturedAt: string | null;
  receivedAt: string;
}

export interface IdentityEvidenceView {
  idDocument: { front: { fileId: string; sha256: string } | null; back: { fileId: string; sha256: string } | null };
  faceMatch: { score: number; decision: string; engine: string; threshold: number } | null;
  liveness: { challenges: Array<{ kind: string; passed: boolean }>; passed: boolean } | null;
  ocr: { idNumberMatches: boolean } | null;
}

/** GET /api/cases/:id/kyc */
export interface CaseKycView extends IdentityEvidenceView {
  product: { code: string; version: number; nameZh: string; nameEn: string } | null;
  steps: CaseStepView[];
  geolocation: GeolocationView | null;
  /** what still stands between the case and "completed" (the gate) */
  missing: Array<{ id: string; kind: string }>;
  recording: { sealed: boolean; markers: Array<{ stepId: string; attempt: number; at: string; offsetMs: number; media: Array<{ party: 'teller' | 'customer'; segment: number; offsetMs: number }> }> };
}
