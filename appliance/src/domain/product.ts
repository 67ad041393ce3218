// The product catalogue's vocabulary, declared once: a product, its script steps and a stored version of it. The
// catalogue's repository stores these; kyc/kyc-api-types.ts (what the web UI reads) re-exports them.

export const STEP_KINDS = ['read', 'question', 'id-capture', 'face-match', 'liveness', 'read-aloud'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export const SCRIPT_LOCALES = ['zh-CN', 'en'] as const;
export type ScriptLocale = (typeof SCRIPT_LOCALES)[number];
export type LocalizedText = Record<ScriptLocale, string>;

/** One step of a product's script as the catalogue defines it. */
export interface ScriptStepDefinition {
  /** unique within the product (a–z, 0–9, '-') */
  id: string;
  kind: StepKind;
  required: boolean;
  title: LocalizedText;
  /** read: what the teller reads; question/read-aloud/identity steps: the instruction */
  text?: LocalizedText;
  /** read: the customer must tap "I understand and confirm" */
  confirm?: boolean;
  /** question: the pool questions are drawn from */
  pool?: Array<{ id: string; text: LocalizedText }>;
  /** question: how many are drawn per case (≤ pool size) */
  draw?: number;
  /** read-aloud: a random code of `digits` digits, or the serial of the customer's ID document */
  source?: 'code' | 'id-serial';
  digits?: number;
}

export interface ProductDefinition {
  code: string;
  nameZh: string;
  nameEn: string;
  retentionYears: number;
  requiresGeolocation: boolean;
  steps: ScriptStepDefinition[];
}

export interface ProductView extends ProductDefinition {
  version: number;
  createdBy: string;
  createdAt: string;
}
