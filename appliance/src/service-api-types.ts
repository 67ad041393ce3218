// The customer-initiated service's API answers, typed once (the web UI imports them).
import type { PresenceStatus, ServiceLang, ServiceReportFigures, VisitState } from './domain/service-report.js';

export type { PresenceStatus, ServiceLang, VisitState };

export interface Citation {
  entryId: string;
  title: string;
  version: number;
}

export interface ServiceReport extends ServiceReportFigures {
  days: number;
}

export interface VisitView {
  id: string;
  state: VisitState;
  productCode: string;
  lang: ServiceLang;
  createdAt: string;
  expiresAt: string;
  /** 1-based place in the queue of the product and language; null unless queued */
  position: number | null;
  estimatedWaitSeconds: number | null;
  /** once a teller accepted: the link the customer continues on (the case's invitation, bound to this browser) */
  joinUrl: string | null;
  /** the call of the accepted visit has ended: time to rate it */
  callEnded: boolean;
  rated: boolean;
}

export interface ConversationMessage {
  at: string;
  party: 'customer' | 'assistant';
  text: string;
  citation: Citation | null;
}

export interface OfferView {
  id: string;
  visitId: string;
  productCode: string;
  lang: ServiceLang;
  /** the customer's name, masked as everywhere */
  customerName: string;
  /** the first question the customer asked (the topic), or null */
  topic: string | null;
  conversation: ConversationMessage[];
  queuedAt: string | null;
  offeredAt: string;
  expiresAt: string;
}

export interface PresenceView {
  status: PresenceStatus;
  products: string[];
  languages: string[];
  since: string;
}

/** A call-back the customer asked for, as the teller who took it sees it: the phone in full (to call), the name masked. */
export interface CallbackView {
  visitId: string;
  productCode: string;
  lang: ServiceLang;
  customerName: string;
  phone: string;
  topic: string | null;
  conversation: ConversationMessage[];
  requestedAt: string;
  takenAt: string;
}

/** The teller's call-back worklist: how many wait for their skills, and the one they hold. */
export interface CallbackList {
  waiting: number;
  mine: CallbackView | null;
}
