// The customer-initiated service's API answers, declared once: TypeBox schemas (the routes answer with them) and their
// `Static<>` types (the web UI imports them with `import type`).
import { Type, type Static } from 'typebox';
import { VISIT_STATES, type PresenceStatus, type ServiceLang, type ServiceReportFigures, type VisitState } from './domain/service-report.js';
import { MediaModeSchema } from './api-types.js';
import { NO_NUL, Nullable, StringEnum } from './lib/schema.js';

export type { PresenceStatus, ServiceLang, VisitState };

export const ServiceLangSchema = Type.Union([Type.Literal('zh-CN'), Type.Literal('en')]);

export const CitationSchema = Type.Object({ entryId: Type.String(), title: Type.String(), version: Type.Integer() });
export type Citation = Static<typeof CitationSchema>;

export interface ServiceReport extends ServiceReportFigures {
  days: number;
}

export const VisitViewSchema = Type.Object({
  id: Type.String(),
  state: StringEnum(VISIT_STATES),
  productCode: Type.String(),
  lang: ServiceLangSchema,
  createdAt: Type.String(),
  expiresAt: Type.String(),
  /** 1-based place in the queue of the product and language; null unless queued */
  position: Nullable(Type.Integer()),
  estimatedWaitSeconds: Nullable(Type.Integer()),
  /** once a teller accepted: the link the customer continues on (the case's invitation, bound to this browser) */
  joinUrl: Nullable(Type.String()),
  /** the call of the accepted visit has ended: time to rate it */
  callEnded: Type.Boolean(),
  rated: Type.Boolean(),
});
export type VisitView = Static<typeof VisitViewSchema>;

export const ConversationMessageSchema = Type.Object({
  at: Type.String(),
  party: Type.Union([Type.Literal('customer'), Type.Literal('assistant')]),
  text: Type.String(),
  citation: Nullable(CitationSchema),
});
export type ConversationMessage = Static<typeof ConversationMessageSchema>;

/** POST /api/service/visits: the visit, and the ticket the customer's tab sends in the named header. */
export const VisitStartSchema = Type.Object({ ticket: Type.String(), ticketHeader: Type.String(), visit: VisitViewSchema });
export type VisitStart = Static<typeof VisitStartSchema>;

/** GET /api/service/visits/:id: the visit and its conversation with the assistant so far. */
export const VisitWithConversationSchema = Type.Object({ visit: VisitViewSchema, conversation: Type.Array(ConversationMessageSchema) });
export type VisitWithConversation = Static<typeof VisitWithConversationSchema>;

/** POST /api/service/visits/:id/messages: the assistant's answer, the entry it cites, and whether it offers a person. */
export const AssistantAnswerSchema = Type.Object({ text: Type.String(), citation: Nullable(CitationSchema), offerTransfer: Type.Boolean() });
export type AssistantAnswer = Static<typeof AssistantAnswerSchema>;

export const OfferViewSchema = Type.Object({
  id: Type.String(),
  visitId: Type.String(),
  productCode: Type.String(),
  lang: ServiceLangSchema,
  /** the customer's name, masked as everywhere */
  customerName: Type.String(),
  /** the first question the customer asked (the topic), or null */
  topic: Nullable(Type.String()),
  conversation: Type.Array(ConversationMessageSchema),
  queuedAt: Nullable(Type.String()),
  offeredAt: Type.String(),
  expiresAt: Type.String(),
  /** how the customer asked to take part: video, voice only or text only */
  mediaMode: MediaModeSchema,
});
export type OfferView = Static<typeof OfferViewSchema>;

/** POST /api/service/offers/:id/accept: the case and invitation opened for the visit, and its conversation. */
export const AcceptedOfferSchema = Type.Object({
  caseId: Type.String(),
  invitationId: Type.String(),
  visitId: Type.String(),
  conversation: Type.Array(ConversationMessageSchema),
});
export type AcceptedOffer = Static<typeof AcceptedOfferSchema>;

export const PresenceViewSchema = Type.Object({
  status: Type.Unsafe<PresenceStatus>(Type.Union([Type.Literal('available'), Type.Literal('busy'), Type.Literal('away')])),
  products: Type.Array(Type.String()),
  languages: Type.Array(Type.String()),
  since: Type.String(),
});
export type PresenceView = Static<typeof PresenceViewSchema>;

/** A call-back the customer asked for, as the teller who took it sees it: the phone in full (to call), the name masked. */
export const CallbackViewSchema = Type.Object({
  visitId: Type.String(),
  productCode: Type.String(),
  lang: ServiceLangSchema,
  customerName: Type.String(),
  phone: Type.String(),
  topic: Nullable(Type.String()),
  conversation: Type.Array(ConversationMessageSchema),
  requestedAt: Type.String(),
  takenAt: Type.String(),
});
export type CallbackView = Static<typeof CallbackViewSchema>;

/** The teller's call-back worklist: how many wait for their skills, and the one they hold. */
export const CallbackListSchema = Type.Object({
  waiting: Type.Integer(),
  mine: Nullable(CallbackViewSchema),
});
export type CallbackList = Static<typeof CallbackListSchema>;

export const KbKindSchema = Type.Union([Type.Literal('article'), Type.Literal('qa')]);

/** A knowledge-base entry's current version, as the admin's list shows it. */
export const KbEntrySchema = Type.Object({
  id: Type.String(),
  productCode: Type.String(),
  lang: ServiceLangSchema,
  kind: KbKindSchema,
  version: Type.Integer(),
  title: Type.String(),
  body: Type.String(),
  retired: Type.Boolean(),
  updatedBy: Type.String(),
  updatedAt: Type.String(),
});
export type KbEntry = Static<typeof KbEntrySchema>;

/** Not blank, and no NUL (PostgreSQL text cannot hold it); anchored, so the check is one linear pass. */
const NOT_BLANK_NO_NUL = '^(?=[\\s\\S]*\\S)[^\\u0000]*$';
const KbText = { title: Type.String({ minLength: 1, maxLength: 200, pattern: NOT_BLANK_NO_NUL }), body: Type.String({ minLength: 1, maxLength: 20000, pattern: NOT_BLANK_NO_NUL }) };

/** PUT /api/admin/kb/entries/:id: the new version's text. */
export const KbEntryEditSchema = Type.Object(KbText, { additionalProperties: false });
export type KbEntryEdit = Static<typeof KbEntryEditSchema>;

/** POST /api/admin/kb/entries: an article, or a Q&A pair (title = question, body = answer). */
export const KbEntryInputSchema = Type.Object(
  { productCode: Type.String({ minLength: 1, maxLength: 40, pattern: NO_NUL }), lang: ServiceLangSchema, kind: KbKindSchema, ...KbText },
  { additionalProperties: false },
);
export type KbEntryInput = Static<typeof KbEntryInputSchema>;
