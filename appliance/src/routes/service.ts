import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { deviceCookieOptions } from '../http/device-cookie.js';
import { AppError } from '../http/errors.js';
import { MediaModeSchema } from '../api-types.js';
import { DEVICE_COOKIE } from '../services/invitation.service.js';
import type { ServiceDesk } from '../services/service-desk.js';
import {
  AcceptedOfferSchema,
  AssistantAnswerSchema,
  CallbackListSchema,
  CallbackViewSchema,
  OfferViewSchema,
  PresenceViewSchema,
  ServiceLangSchema,
  VisitStartSchema,
  VisitViewSchema,
  VisitWithConversationSchema,
} from '../service-api-types.js';
import { absentBodyAsEmpty, authErrors, ErrorResponse, IdParams, NO_NUL, Nullable, Uuid } from './schemas.js';

type Tx = Parameters<ServiceDesk['transfer']>[0];
type Audit = Parameters<ServiceDesk['transfer']>[1];
type Visit = Parameters<ServiceDesk['transfer']>[2];

/** The header a customer's page sends its visit ticket in (the device cookie travels with it). */
export const TICKET_HEADER = 'x-kyc-service-ticket';

const Phone = Type.String({ minLength: 5, maxLength: 20, pattern: '^[+0-9 ()-]{5,20}$' });
const customerErrors = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse, 429: ErrorResponse, 500: ErrorResponse };
const tellerErrors = { 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse, ...authErrors };

/**
 * Customer-initiated service. The customer's routes need no account: the visit's ticket (header) and the browser it
 * was issued to (the invitations' device cookie). The teller's: presence, offers (a long poll), accept or decline.
 * No route lets a teller pick a customer: offers come from routing only.
 */
export async function serviceRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const desk = ctx.desk;
  const visitor = { username: 'visitor', roles: [], auth: 'anonymous' as const };
  const ticket = (request: FastifyRequest) => {
    const t = request.headers[TICKET_HEADER];
    return typeof t === 'string' && /^[A-Za-z0-9_-]{43}$/.test(t) ? t : undefined;
  };
  const device = (request: FastifyRequest) => request.cookies[DEVICE_COOKIE];
  const perMinute = (max: number) => ({ max, timeWindow: '1 minute' });
  /** Per visit (and address): customers behind one NAT address do not share one budget of questions. */
  const perVisitPerMinute = (max: number) => ({
    ...perMinute(max),
    keyGenerator: (request: FastifyRequest) => `${request.ip}|${(request.params as { id?: string }).id ?? ''}`,
  });
  const afterChange = () => desk.kick();

  /** One change of the customer's visit, in a transaction with its audit event. */
  async function visitChange<T>(
    request: FastifyRequest<{ Params: { id: string } }>,
    fn: (client: Tx, audit: Audit, v: Visit) => Promise<T>,
    opts: { queueChanged?: boolean } = {},
  ): Promise<T> {
    const result = await auditedTransaction(
      ctx.pool,
      ctx.audit,
      request,
      async (client, audit) => fn(client, audit, await desk.visitFor(client, request.params.id, ticket(request), device(request), true)),
      visitor,
    );
    if (opts.queueChanged) afterChange();
    return result;
  }

  r.get(
    '/api/service/products',
    {
      config: { access: 'public', rateLimit: perMinute(120) },
      schema: {
        tags: ['service'],
        summary: 'Products a customer may ask about (the entry page lists them)',
        response: { 200: Type.Array(Type.Object({ code: Type.String(), nameZh: Type.String(), nameEn: Type.String() })), 429: ErrorResponse, 500: ErrorResponse },
      },
    },
    async () => desk.products(ctx.pool),
  );

  r.post(
    '/api/service/visits',
    {
      config: { access: 'public', audit: 'service.visit_create', rateLimit: perMinute(ctx.config.service.visitsPerMinute) },
      schema: {
        tags: ['service'],
        summary: 'Start a visit: product, language, name, optional phone, consent to the service terms; returns the ticket',
        body: Type.Object(
          {
            productCode: Type.String({ minLength: 1, maxLength: 40, pattern: NO_NUL }),
            lang: ServiceLangSchema,
            name: Type.String({ minLength: 1, maxLength: 100 }),
            phone: Type.Optional(Phone),
            consent: Type.Literal(true),
          },
          { additionalProperties: false },
        ),
        response: { 201: VisitStartSchema, ...customerErrors },
      },
    },
    async (request, reply) => {
      const {
        view,
        ticket: t,
        newDevice,
      } = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => desk.createVisit(client, audit, request.body, device(request)), visitor);
      if (newDevice) reply.setCookie(DEVICE_COOKIE, newDevice, deviceCookieOptions(ctx.config.service.frameAncestors));
      return reply.code(201).send({ ticket: t, ticketHeader: TICKET_HEADER, visit: view });
    },
  );

  r.get(
    '/api/service/visits/:id',
    {
      config: { access: 'public', rateLimit: perVisitPerMinute(120) },
      schema: {
        tags: ['service'],
        summary: 'The visit: state, queue position and estimated wait (poll it every few seconds), the join link once accepted',
        params: IdParams,
        response: { 200: VisitWithConversationSchema, ...customerErrors },
      },
    },
    async (request) => {
      const v = await desk.visitFor(ctx.pool, request.params.id, ticket(request), device(request));
      await desk.seen(ctx.pool, v);
      return { visit: await desk.view(ctx.pool, v), conversation: await desk.conversation(ctx.pool, v.id) };
    },
  );

  r.post(
    '/api/service/visits/:id/messages',
    {
      config: { access: 'public', audit: 'service.message', rateLimit: perVisitPerMinute(20) },
      schema: {
        tags: ['service'],
        summary: "Ask the assistant; the answer cites the knowledge-base entry it used, or offers 'talk to a person'",
        params: IdParams,
        body: Type.Object({ text: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false }),
        response: { 200: AssistantAnswerSchema, ...customerErrors },
      },
    },
    async (request) => {
      const a = await visitChange(request, (client, audit, v) => desk.ask(client, audit, v, request.body.text));
      return { text: a.text, citation: a.citation, offerTransfer: a.offerTransfer };
    },
  );

  r.post(
    '/api/service/visits/:id/transfer',
    {
      config: { access: 'public', audit: 'service.transfer', rateLimit: perVisitPerMinute(10) },
      preValidation: absentBodyAsEmpty,
      schema: {
        tags: ['service'],
        summary: 'Talk to a person: join the queue of the product and language, by video (default), voice only or text only',
        params: IdParams,
        body: Type.Object({ mediaMode: Type.Optional(MediaModeSchema) }, { additionalProperties: false }),
        response: { 200: VisitViewSchema, ...customerErrors },
      },
    },
    async (request) => visitChange(request, (client, audit, v) => desk.transfer(client, audit, v, request.body.mediaMode), { queueChanged: true }),
  );

  r.post(
    '/api/service/visits/:id/leave',
    {
      config: { access: 'public', audit: 'service.leave', rateLimit: perVisitPerMinute(10) },
      schema: { tags: ['service'], summary: 'Leave (the queue, or the assistant)', params: IdParams, response: { 200: VisitViewSchema, ...customerErrors } },
    },
    async (request) => visitChange(request, (client, audit, v) => desk.leave(client, audit, v, 'left'), { queueChanged: true }),
  );

  r.post(
    '/api/service/visits/:id/callback',
    {
      config: { access: 'public', audit: 'service.callback', rateLimit: perVisitPerMinute(10) },
      schema: {
        tags: ['service'],
        summary: 'Leave the queue and ask to be called back (on the phone given, or the one given at the start)',
        params: IdParams,
        body: Type.Optional(Type.Object({ phone: Type.Optional(Phone) }, { additionalProperties: false })),
        response: { 200: VisitViewSchema, ...customerErrors },
      },
    },
    async (request) => visitChange(request, (client, audit, v) => desk.leave(client, audit, v, 'callback', request.body?.phone), { queueChanged: true }),
  );

  r.post(
    '/api/service/visits/:id/rating',
    {
      config: { access: 'public', audit: 'service.rating', rateLimit: perVisitPerMinute(10) },
      schema: {
        tags: ['service'],
        summary: 'Rate the service after the call (1–5, optional comment); once per visit',
        params: IdParams,
        body: Type.Object({ score: Type.Integer({ minimum: 1, maximum: 5 }), comment: Type.Optional(Type.String({ maxLength: 1000 })) }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...customerErrors },
      },
    },
    async (request, reply) => {
      await visitChange(request, (client, audit, v) => desk.rate(client, audit, v, request.body.score, request.body.comment));
      return reply.code(204).send(null);
    },
  );

  // ---- tellers

  const principalOf = (request: FastifyRequest) => {
    const p = request.principal;
    if (!p) throw new AppError('UNAUTHENTICATED');
    return p;
  };

  r.get(
    '/api/me/presence',
    {
      config: { access: { roles: ['teller'] } },
      schema: { tags: ['service'], summary: "The teller's presence and skills", response: { 200: PresenceViewSchema, ...authErrors } },
    },
    async (request) => desk.presence(ctx.pool, principalOf(request).username),
  );

  r.put(
    '/api/me/presence',
    {
      config: { access: { roles: ['teller'] }, audit: 'teller.presence' },
      schema: {
        tags: ['service'],
        summary: 'Set presence (available / busy / away) and, optionally, skills (products, languages)',
        body: Type.Object(
          {
            status: Type.Union([Type.Literal('available'), Type.Literal('busy'), Type.Literal('away')]),
            skills: Type.Optional(
              Type.Object(
                { products: Type.Array(Type.String({ minLength: 1, maxLength: 40 }), { maxItems: 100 }), languages: Type.Array(ServiceLangSchema, { maxItems: 2 }) },
                { additionalProperties: false },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: PresenceViewSchema, ...tellerErrors },
      },
    },
    async (request) => {
      const username = principalOf(request).username;
      const view = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => desk.setPresence(client, audit, username, request.body.status, request.body.skills));
      afterChange();
      return view;
    },
  );

  r.get(
    '/api/service/offers',
    {
      config: { access: { roles: ['teller'] } },
      schema: {
        tags: ['service'],
        summary: "The teller's open offers (at most one): a long poll that answers at once when there is one, else waits up to waitMs for one",
        querystring: Type.Object({ waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 25_000 })) }, { additionalProperties: false }),
        response: { 200: Type.Array(OfferViewSchema), 400: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const username = principalOf(request).username;
      let closed = false;
      request.raw.once('close', () => {
        closed = true;
      });
      return desk.waitForOffers(ctx.pool, username, request.query.waitMs ?? 0, () => closed);
    },
  );

  const OfferParams = Type.Object({ id: Uuid }, { additionalProperties: false });
  r.post(
    '/api/service/offers/:id/accept',
    {
      config: { access: { roles: ['teller'] }, audit: 'service.offer_accept' },
      schema: {
        tags: ['service'],
        summary: "Accept an offer: confirm the customer's details; opens the case and its invitation, bound to the customer's browser",
        params: OfferParams,
        body: Type.Object(
          {
            customerName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            customerIdNumber: Type.String({ minLength: 15, maxLength: 20 }),
            customerPhone: Type.Optional(Type.String({ minLength: 11, maxLength: 20 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: AcceptedOfferSchema, ...tellerErrors },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const result = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => desk.accept(client, audit, principal, request.params.id, request.body));
      afterChange();
      return result;
    },
  );

  r.post(
    '/api/service/offers/:id/decline',
    {
      config: { access: { roles: ['teller'] }, audit: 'service.offer_decline' },
      schema: { tags: ['service'], summary: 'Decline an offer: it goes to the next eligible teller', params: OfferParams, response: { 204: Type.Null(), ...tellerErrors } },
    },
    async (request, reply) => {
      const username = principalOf(request).username;
      await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => desk.decline(client, audit, username, request.params.id));
      afterChange();
      return reply.code(204).send(null);
    },
  );

  // ---- call-backs: the next one for the teller's skills, never a pick from a list

  r.get(
    '/api/service/callbacks',
    {
      config: { access: { roles: ['teller'] } },
      schema: {
        tags: ['service'],
        summary: "Call-backs waiting for the teller's products and languages, and the one the teller holds (phone in full, to call)",
        response: { 200: CallbackListSchema, ...authErrors },
      },
    },
    async (request) => desk.callbacks(ctx.pool, principalOf(request).username),
  );

  r.post(
    '/api/service/callbacks/next',
    {
      config: { access: { roles: ['teller'] }, audit: 'service.callback_take' },
      schema: {
        tags: ['service'],
        summary: "Take the oldest waiting call-back of the teller's skills (one held at a time)",
        response: { 200: CallbackViewSchema, ...tellerErrors },
      },
    },
    async (request) => {
      const username = principalOf(request).username;
      return auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => desk.takeCallback(client, audit, username));
    },
  );

  r.post(
    '/api/service/callbacks/:id/done',
    {
      config: { access: { roles: ['teller'] }, audit: 'service.callback_done' },
      schema: {
        tags: ['service'],
        summary: 'Record the outcome of the call-back the teller holds',
        params: IdParams,
        body: Type.Object({ outcome: Type.Union([Type.Literal('reached'), Type.Literal('unreachable')]) }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...tellerErrors },
      },
    },
    async (request, reply) => {
      const username = principalOf(request).username;
      await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => desk.finishCallback(client, audit, username, request.params.id, request.body.outcome));
      return reply.code(204).send(null);
    },
  );

  // ---- administrators: figures only, no personal data

  r.get(
    '/api/admin/service/report',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        tags: ['service'],
        summary: 'Queue and satisfaction figures: waiting now, average and p90 wait, abandoned, handled per teller, ratings by teller, product and day',
        querystring: Type.Object({ days: Type.Optional(Type.Integer({ minimum: 1, maximum: 366 })) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            days: Type.Integer(),
            waiting: Type.Array(Type.Object({ productCode: Type.String(), lang: Type.String(), count: Type.Integer() })),
            avgWaitSeconds: Nullable(Type.Number()),
            p90WaitSeconds: Nullable(Type.Number()),
            handled: Type.Integer(),
            abandoned: Type.Integer(),
            callbacks: Type.Integer(),
            callbacksOpen: Type.Integer(),
            perTeller: Type.Array(Type.Object({ teller: Type.String(), handled: Type.Integer(), avgWaitSeconds: Nullable(Type.Number()) })),
            ratings: Type.Array(Type.Object({ teller: Nullable(Type.String()), productCode: Type.String(), day: Type.String(), count: Type.Integer(), average: Type.Number() })),
          }),
          400: ErrorResponse,
          ...authErrors,
        },
      },
    },
    async (request) => {
      const days = request.query.days ?? 30;
      return { days, ...(await desk.report(ctx.pool, days)) };
    },
  );
}
