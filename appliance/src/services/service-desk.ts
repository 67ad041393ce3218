import { createHash, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/database.js';
import { maskName } from '../domain/customer-identity.js';
import { DomainError } from '../domain/errors.js';
import { DEFAULT_MEDIA_MODE, type MediaMode } from '../domain/vocabulary.js';
import { clockDate, systemClock, type Clock } from '../lib/clock.js';
import type { PiiCipher } from '../lib/pii-cipher.js';
import { productRepository } from '../kyc/product.repository.js';
import { invitationRepository } from '../repositories/invitation.repository.js';
import { serviceRepository, type Lang, type OfferRow, type PresenceRow, type PresenceStatus, type VisitRow, type VisitState } from '../repositories/service.repository.js';
import { auditEvent, type AuditSink } from './audit.js';
import type { CaseService } from './case.service.js';
import type { InvitationService } from './invitation.service.js';
import type { AssistantAnswer, AuditWriter, KnowledgeBase } from './kb.service.js';
import type { CallbackList, CallbackView, Citation, ConversationMessage, OfferView, PresenceView, VisitView } from '../service-api-types.js';
import type { CallbackOutcome } from '../domain/service-report.js';

export type { Citation, ConversationMessage, OfferView, PresenceView, VisitView };

export { VISIT_STATES } from '../domain/service-report.js';
export type { VisitState };

export interface ServiceDeskSettings {
  ticketTtlMinutes: number;
  routing: 'random' | 'longest_idle';
  offerTimeoutSeconds: number;
  /** handling time assumed before any service call has ended */
  defaultHandlingSeconds: number;
  /** most assistant messages one visit may send */
  maxMessages: number;
}

/** The teller's confirmation of the customer's details when accepting (what opening a case needs). */
export interface AcceptInput {
  customerName?: string | undefined;
  customerIdNumber: string;
  customerPhone?: string | undefined;
}

type CaseCreator = Parameters<CaseService['create']>[2];

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();
const same = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);
const OPEN_STATES: readonly VisitState[] = ['assistant', 'queued'];
/** A queued visit whose page has not polled for this long has gone: it leaves the queue (counted as abandoned). */
export const ABANDONED_AFTER_SECONDS = 90;

/**
 * Customer-initiated service: visits (a short-lived ticket bound to the browser by the invitations' device cookie),
 * the assistant conversation, the queue per product and language, routing (one eligible available teller at a time,
 * chosen at random or longest-idle; an offer not answered in time goes to the next), presence and skills, ratings.
 * Routing runs in one process at a time (a transaction-scoped advisory lock), on every change that may route and on
 * a short timer, so offers also move on when another process changed the queue.
 */
export class ServiceDesk {
  private readonly events = new EventEmitter();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private readonly clock: Clock;

  constructor(
    private readonly deps: {
      pool: pg.Pool;
      audit: AuditSink;
      pii: PiiCipher;
      kb: KnowledgeBase;
      cases: CaseService;
      invitations: InvitationService;
      onError: (what: string, err: unknown) => void;
      /** offers expire and presence changes are dated by this clock (default: the system's) */
      clock?: Clock;
    },
    readonly settings: ServiceDeskSettings,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.events.setMaxListeners(0);
  }

  // ---- customer side

  /** What the entry page offers: the catalogue's products, names only. */
  async products(db: Queryable): Promise<{ code: string; nameZh: string; nameEn: string }[]> {
    return (await productRepository.listCurrent(db)).map((p) => ({ code: p.code, nameZh: p.nameZh, nameEn: p.nameEn }));
  }

  async createVisit(
    client: pg.PoolClient,
    audit: AuditWriter,
    input: { productCode: string; lang: Lang; name: string; phone?: string | undefined },
    device: string | undefined,
  ): Promise<{ view: VisitView; ticket: string; newDevice: string | null }> {
    const product = await productRepository.current(client, input.productCode);
    if (!product) throw new DomainError('PRODUCT_UNKNOWN');
    const name = input.name.trim();
    if (name.length === 0) throw new DomainError('VALIDATION', 'Tell us your name.', [{ field: 'name', code: 'required' }]);
    const newDevice = device ? null : randomBytes(32).toString('base64url');
    const ticket = randomBytes(32).toString('base64url');
    const id = randomUUID();
    const row = await serviceRepository.insertVisit(client, {
      id,
      productCode: product.code,
      lang: input.lang,
      ticketHash: sha256(ticket),
      deviceHash: sha256(device ?? newDevice ?? ''),
      nameEnc: this.deps.pii.encryptForCase(id, id, 'visitor_name', name),
      phoneEnc: input.phone ? this.deps.pii.encryptForCase(id, id, 'visitor_phone', input.phone.trim()) : null,
      expiresAt: new Date(Date.now() + this.settings.ticketTtlMinutes * 60_000),
    });
    await audit({ object: { type: 'service_visit', id }, details: { productCode: product.code, lang: input.lang, consent: true } });
    return { view: await this.view(client, row), ticket, newDevice };
  }

  /** The visit a ticket names, presented from the browser it was issued to; refused otherwise or once expired. */
  async visitFor(db: Queryable, id: string, ticket: string | undefined, device: string | undefined, forUpdate = false): Promise<VisitRow> {
    const v = await serviceRepository.findVisit(db, id, forUpdate);
    if (!v || !ticket || !device || !same(v.ticket_hash, sha256(ticket)) || !same(v.device_hash, sha256(device))) throw new DomainError('SERVICE_TICKET_INVALID');
    if (v.expires_at <= new Date() && v.state !== 'accepted') throw new DomainError('SERVICE_TICKET_INVALID');
    return v;
  }

  async view(db: Queryable, v: VisitRow): Promise<VisitView> {
    let position: number | null = null;
    let wait: number | null = null;
    if (v.state === 'queued') {
      position = await serviceRepository.position(db, v);
      wait = await this.estimateWait(db, v, position);
    }
    const joinUrl = v.state === 'accepted' && v.case_id ? ((await this.deps.invitations.current(db, v.case_id))?.url ?? null) : null;
    const rated = v.state === 'accepted' ? await serviceRepository.isRated(db, v.id) : false;
    const callEnded = v.state === 'accepted' && v.case_id ? (await serviceRepository.latestCallOfCase(db, v.case_id))?.state === 'ended' : false;
    return {
      id: v.id,
      state: v.state,
      productCode: v.product_code,
      lang: v.lang,
      createdAt: v.created_at.toISOString(),
      expiresAt: v.expires_at.toISOString(),
      position,
      estimatedWaitSeconds: wait,
      joinUrl,
      callEnded,
      rated,
    };
  }

  /** Rounds of the queue ahead (position over the tellers staffing it) times the recent mean handling time. */
  async estimateWait(db: Queryable, v: VisitRow, position: number): Promise<number> {
    const staffed = await serviceRepository.staffed(db, v.product_code, v.lang);
    const handling = (await serviceRepository.meanHandlingSeconds(db)) ?? this.settings.defaultHandlingSeconds;
    return Math.round(Math.ceil(position / Math.max(1, staffed)) * handling);
  }

  async conversation(db: Queryable, visitId: string): Promise<ConversationMessage[]> {
    return (await serviceRepository.messages(db, visitId)).map((m) => ({
      at: m.at.toISOString(),
      party: m.party,
      text: this.deps.pii.decrypt(visitId, `visit_message:${m.id}`, m.text_enc),
      citation: m.citation,
    }));
  }

  private async addMessage(client: Queryable, visitId: string, party: 'customer' | 'assistant', text: string, citation: Citation | null): Promise<void> {
    const id = await serviceRepository.nextMessageId(client);
    await serviceRepository.insertMessage(client, { id, visitId, party, textEnc: this.deps.pii.encryptForCase(visitId, visitId, `visit_message:${id}`, text), citation });
  }

  async ask(client: pg.PoolClient, audit: AuditWriter, v: VisitRow, text: string): Promise<AssistantAnswer> {
    if (!OPEN_STATES.includes(v.state)) throw new DomainError('SERVICE_VISIT_CLOSED');
    if ((await serviceRepository.countMessages(client, v.id)) >= this.settings.maxMessages * 2) {
      throw new DomainError('CONFLICT', 'This conversation is long enough; talk to a person instead.');
    }
    const question = text.trim();
    if (question.length === 0) throw new DomainError('VALIDATION', 'Type a question.', [{ field: 'text', code: 'required' }]);
    const answer = await this.deps.kb.answer(client, question, { productCode: v.product_code, lang: v.lang });
    await this.addMessage(client, v.id, 'customer', question, null);
    await this.addMessage(client, v.id, 'assistant', answer.text, answer.citation);
    await audit({
      object: { type: 'service_visit', id: v.id },
      details: { citedEntry: answer.citation?.entryId ?? null, citedVersion: answer.citation?.version ?? null, offerTransfer: answer.offerTransfer, source: answer.source },
    });
    return answer;
  }

  /** The customer's page polled: it is still there. */
  async seen(db: Queryable, v: VisitRow): Promise<void> {
    if (v.state === 'queued') await serviceRepository.touch(db, v.id);
  }

  /**
   * Talk to a person: the visit joins its queue. `mediaMode` is how the customer asks to take part (video unless
   * said); asking again while queued changes only the mode.
   */
  async transfer(client: pg.PoolClient, audit: AuditWriter, v: VisitRow, mediaMode: MediaMode = DEFAULT_MEDIA_MODE): Promise<VisitView> {
    if (v.state === 'queued') {
      if (v.media_mode === mediaMode) return this.view(client, v);
      await serviceRepository.updateVisit(client, v.id, { media_mode: mediaMode });
      await audit({ object: { type: 'service_visit', id: v.id }, details: { productCode: v.product_code, lang: v.lang, mediaMode } });
      return this.view(client, { ...v, media_mode: mediaMode });
    }
    if (v.state !== 'assistant') throw new DomainError('SERVICE_VISIT_CLOSED');
    const now = await serviceRepository.enqueue(client, v.id, mediaMode);
    await serviceRepository.touch(client, v.id);
    await audit({ object: { type: 'service_visit', id: v.id }, details: { productCode: v.product_code, lang: v.lang, mediaMode } });
    return this.view(client, { ...v, state: 'queued', queued_at: now, media_mode: mediaMode });
  }

  /** Leaving (or asking to be called back) takes the visit out of the queue and withdraws its offer. */
  async leave(client: pg.PoolClient, audit: AuditWriter, v: VisitRow, to: 'left' | 'callback', phone?: string): Promise<VisitView> {
    if (!OPEN_STATES.includes(v.state)) throw new DomainError('SERVICE_VISIT_CLOSED');
    if (to === 'callback' && !phone && !v.phone_enc) throw new DomainError('VALIDATION', 'Give a phone number to be called back on.', [{ field: 'phone', code: 'required' }]);
    const offer = await serviceRepository.openOfferOfVisit(client, v.id);
    if (offer) await serviceRepository.closeOffer(client, offer.id, 'withdrawn');
    await serviceRepository.updateVisit(client, v.id, { state: to, left_at: new Date() });
    if (to === 'callback' && phone) await serviceRepository.setPhone(client, v.id, this.deps.pii.encryptForCase(v.id, v.id, 'visitor_phone', phone.trim()));
    await audit({ object: { type: 'service_visit', id: v.id }, details: { wasQueued: v.state === 'queued', offerWithdrawn: offer?.id ?? null } });
    if (offer) this.events.emit(`teller:${offer.teller}`);
    return this.view(client, { ...v, state: to });
  }

  async rate(client: pg.PoolClient, audit: AuditWriter, v: VisitRow, score: number, comment: string | undefined): Promise<void> {
    if (v.state !== 'accepted') throw new DomainError('WRONG_STEP', 'A visit is rated after the call.');
    const call = v.case_id ? await serviceRepository.latestCallOfCase(client, v.case_id) : null;
    if (!call || call.state !== 'ended') throw new DomainError('WRONG_STEP', 'A visit is rated after the call.');
    const inserted = await serviceRepository.insertRating(client, {
      visitId: v.id,
      caseId: v.case_id,
      teller: v.accepted_by,
      productCode: v.product_code,
      score,
      commentEnc: comment && comment.trim() ? this.deps.pii.encryptForCase(v.id, v.id, 'rating_comment', comment.trim()) : null,
    });
    if (!inserted) throw new DomainError('CONFLICT', 'This visit was already rated.');
    await audit({ object: { type: 'service_visit', id: v.id }, details: { caseId: v.case_id, teller: v.accepted_by, score, comment: Boolean(comment?.trim()) } });
  }

  // ---- call-backs: a worklist served oldest first for the teller's skills (no picking, as with live offers)

  private async callbackView(db: Queryable, v: VisitRow): Promise<CallbackView> {
    const conversation = await this.conversation(db, v.id);
    return {
      visitId: v.id,
      productCode: v.product_code,
      lang: v.lang,
      customerName: maskName(this.deps.pii.decrypt(v.id, 'visitor_name', v.name_enc)),
      phone: v.phone_enc ? this.deps.pii.decrypt(v.id, 'visitor_phone', v.phone_enc) : '',
      topic: conversation.find((m) => m.party === 'customer')?.text ?? null,
      conversation,
      requestedAt: (v.left_at ?? v.created_at).toISOString(),
      takenAt: (v.callback_taken_at ?? new Date()).toISOString(),
    };
  }

  async callbacks(db: Queryable, teller: string): Promise<CallbackList> {
    const p = await serviceRepository.presence(db, teller);
    const held = await serviceRepository.heldCallback(db, teller);
    return {
      waiting: p ? await serviceRepository.callbacksWaiting(db, p.products, p.languages) : 0,
      mine: held ? await this.callbackView(db, held) : null,
    };
  }

  /** The teller takes the next call-back of their skills; one at a time. */
  async takeCallback(client: pg.PoolClient, audit: AuditWriter, teller: string): Promise<CallbackView> {
    if (await serviceRepository.heldCallback(client, teller)) throw new DomainError('CONFLICT', 'Finish the call-back you hold first.');
    const p = await serviceRepository.presence(client, teller);
    const v = p
      ? await serviceRepository.takeNextCallback(client, teller, p.products, p.languages).catch((err: unknown) => {
          // the same teller taking twice at once: the second meets the one-held-per-teller index
          if ((err as { code?: string }).code === '23505') throw new DomainError('CONFLICT', 'Finish the call-back you hold first.');
          throw err;
        })
      : null;
    if (!v) throw new DomainError('NOT_FOUND', 'No call-back is waiting for your products and languages.');
    await audit({
      object: { type: 'service_visit', id: v.id },
      details: { productCode: v.product_code, lang: v.lang, waitedSeconds: Math.round((Date.now() - (v.left_at ?? v.created_at).getTime()) / 1000) },
    });
    return this.callbackView(client, v);
  }

  async finishCallback(client: pg.PoolClient, audit: AuditWriter, teller: string, visitId: string, outcome: CallbackOutcome): Promise<void> {
    if (!(await serviceRepository.finishCallback(client, visitId, teller, outcome))) throw new DomainError('NOT_FOUND', 'You hold no such call-back.');
    await audit({ object: { type: 'service_visit', id: visitId }, details: { outcome } });
  }

  // ---- teller side

  toPresence(p: PresenceRow | null): PresenceView {
    return p
      ? { status: p.status, products: p.products, languages: p.languages, since: p.since.toISOString() }
      : { status: 'away', products: [], languages: [], since: new Date(0).toISOString() };
  }

  async presence(db: Queryable, username: string): Promise<PresenceView> {
    return this.toPresence(await serviceRepository.presence(db, username));
  }

  async setPresence(
    client: pg.PoolClient,
    audit: AuditWriter,
    username: string,
    status: PresenceStatus,
    skills: { products: string[]; languages: Lang[] } | undefined,
  ): Promise<PresenceView> {
    if (skills) {
      for (const code of skills.products) {
        if (!(await productRepository.current(client, code)))
          throw new DomainError('PRODUCT_UNKNOWN', `No such product in the catalogue: ${code}`, [{ field: 'skills.products', code: 'unknown' }]);
      }
    }
    const row = await serviceRepository.setPresence(
      client,
      username,
      status,
      skills ? { products: [...new Set(skills.products)].sort(), languages: [...new Set(skills.languages)].sort() } : null,
      clockDate(this.clock),
    );
    await audit({ object: { type: 'teller', id: username }, details: { status, products: row.products.join(','), languages: row.languages.join(',') } });
    return this.toPresence(row);
  }

  private async offerView(db: Queryable, o: OfferRow): Promise<OfferView> {
    const v = await serviceRepository.findVisit(db, o.visit_id);
    if (!v) throw new Error('offer without a visit');
    const conversation = await this.conversation(db, v.id);
    return {
      id: o.id,
      visitId: v.id,
      productCode: v.product_code,
      lang: v.lang,
      customerName: maskName(this.deps.pii.decrypt(v.id, 'visitor_name', v.name_enc)),
      topic: conversation.find((m) => m.party === 'customer')?.text ?? null,
      conversation,
      queuedAt: v.queued_at?.toISOString() ?? null,
      offeredAt: o.created_at.toISOString(),
      expiresAt: o.expires_at.toISOString(),
      mediaMode: v.media_mode,
    };
  }

  async offersFor(db: Queryable, teller: string): Promise<OfferView[]> {
    const views: OfferView[] = [];
    for (const o of await serviceRepository.openOffersOf(db, teller, clockDate(this.clock))) views.push(await this.offerView(db, o));
    return views;
  }

  /**
   * The teller's open offers; when there is none, waits up to `waitMs` for one (a long poll: woken at once when this
   * process routes to the teller, and re-checked every second for offers another process made).
   */
  async waitForOffers(db: Queryable, teller: string, waitMs: number, aborted: () => boolean = () => false): Promise<OfferView[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const offers = await this.offersFor(db, teller);
      const left = deadline - Date.now();
      if (offers.length > 0 || left <= 0 || aborted()) return offers;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.events.off(`teller:${teller}`, done);
          resolve();
        };
        const t = setTimeout(done, Math.min(left, 1000));
        this.events.on(`teller:${teller}`, done);
      });
    }
  }

  private async openOfferOf(client: Queryable, teller: string, offerId: string): Promise<{ offer: OfferRow; visit: VisitRow }> {
    const offer = await serviceRepository.findOffer(client, offerId, true);
    if (!offer || offer.teller !== teller) throw new DomainError('NOT_FOUND', 'No such offer.');
    if (offer.state !== 'open' || offer.expires_at.getTime() <= this.clock.now()) throw new DomainError('OFFER_GONE');
    const visit = await serviceRepository.findVisit(client, offer.visit_id, true);
    if (!visit || visit.state !== 'queued') throw new DomainError('OFFER_GONE');
    return { offer, visit };
  }

  /**
   * Accepting opens a case with the customer's details as the teller confirmed them and the case's invitation, bound
   * at once to the customer's browser (the device cookie of the visit) and past its code step (the ticket already
   * proved the browser): the customer continues on the join page exactly as an invited one.
   */
  async accept(
    client: pg.PoolClient,
    audit: AuditWriter,
    teller: CaseCreator,
    offerId: string,
    input: AcceptInput,
  ): Promise<{ caseId: string; invitationId: string; visitId: string; conversation: ConversationMessage[] }> {
    const { offer, visit } = await this.openOfferOf(client, teller.username, offerId);
    const name = input.customerName?.trim() || this.deps.pii.decrypt(visit.id, 'visitor_name', visit.name_enc);
    const phone = input.customerPhone?.trim() || (visit.phone_enc ? this.deps.pii.decrypt(visit.id, 'visitor_phone', visit.phone_enc) : '');
    const c = await this.deps.cases.create(client, (r) => audit({ action: 'case.create', ...r }), teller, {
      customerName: name,
      customerIdNumber: input.customerIdNumber,
      customerPhone: phone,
      product: visit.product_code,
    });
    const inv = await this.deps.invitations.create(client, audit, c.id, teller.username);
    const now = new Date();
    await invitationRepository.update(client, inv.id, { device_hash: visit.device_hash, opened_at: now, code_verified_at: now, media_mode: visit.media_mode });
    await audit({ action: 'invitation.open', object: { type: 'invitation', id: inv.id }, details: { via: 'service_visit', visitId: visit.id, mediaMode: visit.media_mode } });
    await audit({ action: 'invitation.code_verified', object: { type: 'invitation', id: inv.id }, details: { via: 'service_visit', visitId: visit.id } });
    await serviceRepository.closeOffer(client, offer.id, 'accepted');
    await serviceRepository.updateVisit(client, visit.id, { state: 'accepted', accepted_at: now, accepted_by: teller.username, case_id: c.id, invitation_id: inv.id });
    await serviceRepository.setPresence(client, teller.username, 'busy', null, clockDate(this.clock));
    await audit({
      object: { type: 'service_offer', id: offer.id },
      details: { visitId: visit.id, caseId: c.id, waitedSeconds: visit.queued_at ? Math.round((now.getTime() - visit.queued_at.getTime()) / 1000) : null },
    });
    return { caseId: c.id, invitationId: inv.id, visitId: visit.id, conversation: await this.conversation(client, visit.id) };
  }

  async decline(client: pg.PoolClient, audit: AuditWriter, teller: string, offerId: string): Promise<void> {
    const { offer, visit } = await this.openOfferOf(client, teller, offerId);
    await serviceRepository.closeOffer(client, offer.id, 'declined');
    await audit({ object: { type: 'service_offer', id: offer.id }, details: { visitId: visit.id } });
  }

  async report(db: Queryable, days: number) {
    return serviceRepository.report(db, new Date(Date.now() - days * 86_400_000));
  }

  // ---- routing

  /** Starts routing on a timer (offers time out even when nothing else happens). */
  start(): void {
    this.stopped = false;
    this.schedule(1000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), Math.max(10, ms));
    this.timer.unref();
  }

  /** Routes soon: passes never overlap; a kick during a pass runs one more after it. */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.routeNow()
      .catch((err: unknown) => this.deps.onError('service routing', err))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** One routing pass: expire offers past their time, drop visits whose ticket ran out, offer each waiting visit. */
  async routeNow(): Promise<void> {
    const notify: string[] = [];
    const next = await withTransaction(this.deps.pool, async (client) => {
      await serviceRepository.lockRouting(client);
      const system = (record: Parameters<AuditWriter>[0] & { action: string }) => this.deps.audit.appendInTx(client, auditEvent(null, { result: 'success', ...record }));
      for (const o of await serviceRepository.expiredOffers(client, clockDate(this.clock))) {
        await serviceRepository.closeOffer(client, o.id, 'expired');
        // a teller who lets an offer run out is taken as away (not offered again until they say they are back)
        const p = await serviceRepository.presence(client, o.teller);
        if (p?.status === 'available') await serviceRepository.setPresence(client, o.teller, 'away', null, clockDate(this.clock));
        await system({
          action: 'service.offer_expire',
          object: { type: 'service_offer', id: o.id },
          details: { visitId: o.visit_id, teller: o.teller, tellerSetAway: p?.status === 'available' },
        });
        notify.push(o.teller);
      }
      for (const id of await serviceRepository.expireVisits(client)) {
        await system({ action: 'service.visit_expire', object: { type: 'service_visit', id } });
      }
      for (const id of await serviceRepository.abandonUnseen(client, ABANDONED_AFTER_SECONDS)) {
        await system({ action: 'service.visit_abandon', object: { type: 'service_visit', id }, reason: `page not seen for ${ABANDONED_AFTER_SECONDS} s` });
      }
      for (const v of await serviceRepository.unofferedQueue(client)) {
        const eligible = await serviceRepository.eligibleTellers(client, v.product_code, v.lang);
        if (eligible.length === 0) continue;
        // the next teller: one who has not had this visit yet; when all have, the round starts again
        const tried = await serviceRepository.offeredTo(client, v.id);
        const fresh = eligible.filter((p) => !tried.has(p.username));
        const pool = fresh.length > 0 ? fresh : eligible;
        const chosen = this.choose(pool);
        const offer = await serviceRepository.insertOffer(client, {
          id: randomUUID(),
          visitId: v.id,
          teller: chosen.username,
          expiresAt: new Date(this.clock.now() + this.settings.offerTimeoutSeconds * 1000),
        });
        await system({
          action: 'service.offer',
          object: { type: 'service_offer', id: offer.id },
          details: { visitId: v.id, teller: chosen.username, routing: this.settings.routing, eligible: pool.length },
        });
        notify.push(chosen.username);
      }
      return serviceRepository.nextOfferExpiry(client);
    });
    for (const teller of notify) this.events.emit(`teller:${teller}`);
    // the next pass: when the next open offer runs out, and at least every 2 s (changes made by other processes)
    this.schedule(next ? Math.min(2000, next.getTime() - this.clock.now() + 20) : 2000);
  }

  private choose(candidates: PresenceRow[]): PresenceRow {
    if (this.settings.routing === 'longest_idle') {
      return [...candidates].sort((a, b) => a.since.getTime() - b.since.getTime() || a.username.localeCompare(b.username))[0]!;
    }
    return candidates[randomInt(candidates.length)]!;
  }
}
