// The customer-initiated service: the customer's visit (no sign-in: a ticket kept in this tab plus the browser's
// device cookie), the teller's presence and offers, the admin's knowledge base and report.
import { ApiError, request, type MediaMode } from './api.js';
import type {
  AcceptedOffer,
  AssistantAnswer,
  CallbackList,
  CallbackView,
  Citation,
  ConversationMessage,
  KbEntry,
  KbEntryEdit,
  KbEntryInput,
  OfferView as Offer,
  PresenceStatus,
  PresenceView as Presence,
  ServiceLang,
  ServiceReport,
  VisitStart,
  VisitState,
  VisitView,
  VisitWithConversation,
} from '../../../appliance/src/service-api-types.js';
export type { CallbackList, CallbackView, Citation, ConversationMessage, KbEntry, Offer, Presence, PresenceStatus, ServiceLang, ServiceReport, VisitState, VisitView };

/** A 204 answer carries no JSON: the request helper reports it as unexpected, which here it is not. */
async function noContent(pending: Promise<unknown>): Promise<void> {
  try {
    await pending;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 204)) throw err;
  }
}

export interface ServiceProduct {
  code: string;
  nameZh: string;
  nameEn: string;
}

/** What this tab holds of its visit: the ticket goes in a header; the device cookie the browser sends itself. */
export interface VisitTicket {
  id: string;
  header: string;
  ticket: string;
}

const STORE = 'kyc.service.visit';

export function savedTicket(): VisitTicket | null {
  try {
    const raw = sessionStorage.getItem(STORE);
    return raw ? (JSON.parse(raw) as VisitTicket) : null;
  } catch {
    return null;
  }
}

export function forgetTicket(): void {
  sessionStorage.removeItem(STORE);
}

export function serviceProducts(): Promise<ServiceProduct[]> {
  return request<ServiceProduct[]>('GET', '/api/service/products');
}

export async function startVisit(input: { productCode: string; lang: ServiceLang; name: string; phone?: string }): Promise<{ ticket: VisitTicket; visit: VisitView }> {
  const res = await request<VisitStart>('POST', '/api/service/visits', { body: { ...input, consent: true } });
  const ticket = { id: res.visit.id, header: res.ticketHeader, ticket: res.ticket };
  sessionStorage.setItem(STORE, JSON.stringify(ticket));
  return { ticket, visit: res.visit };
}

const visitPath = (t: VisitTicket, tail = '') => `/api/service/visits/${encodeURIComponent(t.id)}${tail}`;
const asVisitor = (t: VisitTicket) => ({ [t.header]: t.ticket });

export function getVisit(t: VisitTicket): Promise<VisitWithConversation> {
  return request('GET', visitPath(t), { headers: asVisitor(t) });
}

export function ask(t: VisitTicket, text: string): Promise<AssistantAnswer> {
  return request('POST', visitPath(t, '/messages'), { headers: asVisitor(t), body: { text } });
}

export function visitAction(t: VisitTicket, action: 'transfer' | 'leave' | 'callback', body?: { phone?: string; mediaMode?: MediaMode }): Promise<VisitView> {
  return request('POST', visitPath(t, `/${action}`), { headers: asVisitor(t), body: body ?? {} });
}

export function rate(t: VisitTicket, score: number, comment: string): Promise<void> {
  return noContent(request('POST', visitPath(t, '/rating'), { headers: asVisitor(t), body: comment ? { score, comment } : { score } }));
}

// ---- teller

export function getPresence(): Promise<Presence> {
  return request('GET', '/api/me/presence');
}

export function setPresence(status: PresenceStatus, skills?: { products: string[]; languages: ServiceLang[] }): Promise<Presence> {
  return request('PUT', '/api/me/presence', { body: skills ? { status, skills } : { status } });
}

export function waitForOffers(waitMs: number): Promise<Offer[]> {
  return request('GET', `/api/service/offers?waitMs=${waitMs}`);
}

export function acceptOffer(id: string, details: { customerIdNumber: string; customerPhone?: string }): Promise<AcceptedOffer> {
  return request('POST', `/api/service/offers/${encodeURIComponent(id)}/accept`, { body: details });
}

export function declineOffer(id: string): Promise<void> {
  return noContent(request('POST', `/api/service/offers/${encodeURIComponent(id)}/decline`));
}

// ---- call-backs: the next one for the teller's skills (never a pick from a list)

export function callbacks(): Promise<CallbackList> {
  return request('GET', '/api/service/callbacks');
}

export function takeCallback(): Promise<CallbackView> {
  return request('POST', '/api/service/callbacks/next');
}

export function finishCallback(visitId: string, outcome: 'reached' | 'unreachable'): Promise<void> {
  return noContent(request('POST', `/api/service/callbacks/${encodeURIComponent(visitId)}/done`, { body: { outcome } }));
}

// ---- admin

export function kbEntries(): Promise<KbEntry[]> {
  return request('GET', '/api/admin/kb/entries');
}

export function addKbEntry(e: KbEntryInput): Promise<KbEntry> {
  return request('POST', '/api/admin/kb/entries', { body: e });
}

export function editKbEntry(id: string, e: KbEntryEdit): Promise<KbEntry> {
  return request('PUT', `/api/admin/kb/entries/${encodeURIComponent(id)}`, { body: e });
}

export function retireKbEntry(id: string, reason: string): Promise<KbEntry> {
  return request('POST', `/api/admin/kb/entries/${encodeURIComponent(id)}/retire`, { body: { reason } });
}

export function serviceReport(): Promise<ServiceReport> {
  return request('GET', '/api/admin/service/report');
}
