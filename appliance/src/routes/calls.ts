import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { AppError } from '../http/errors.js';
import { callSessionView, type CallSessionService } from '../services/call-session.service.js';
import type { InvitationService } from '../services/invitation.service.js';
import { CallSessionViewSchema, InvitationViewSchema, LiveViewSchema } from '../api-types.js';
import { authErrors, ErrorResponse, IdParams, Uuid } from './schemas.js';

const InvitationParams = Type.Object({ id: Uuid, invitationId: Uuid }, { additionalProperties: false });

const errors = { 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, ...authErrors };

export interface CallDeps {
  invitations: InvitationService;
  calls: CallSessionService;
  /** called after a session ended (commit done): tells both parties and closes the media room */
  onSessionEnded(sessionId: string, reason: string): Promise<void>;
}

/** The teller's side: invite, watch the customer's progress, admit, hang up. */
export async function callRoutes(app: FastifyInstance, ctx: AppContext & CallDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const teller = { roles: ['teller'] as const };
  const me = (p: { username: string } | null) => {
    if (!p) throw new AppError('UNAUTHENTICATED');
    return p.username;
  };

  r.post(
    '/api/cases/:id/invitations',
    {
      config: { access: teller, audit: 'invitation.create' },
      schema: { tags: ['live'], summary: 'Invite the customer: a one-time link and a 6-digit code', params: IdParams, response: { 201: InvitationViewSchema, ...errors } },
    },
    async (request, reply) => {
      const username = me(request.principal);
      const view = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => ctx.invitations.create(client, audit, request.params.id, username));
      return reply.code(201).send(view);
    },
  );

  r.post(
    '/api/cases/:id/invitations/:invitationId/revoke',
    {
      config: { access: teller, audit: 'invitation.revoke' },
      schema: { tags: ['live'], summary: 'Withdraw an invitation link', params: InvitationParams, response: { 200: InvitationViewSchema, ...errors } },
    },
    async (request) => {
      const username = me(request.principal);
      return auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => ctx.invitations.revoke(client, audit, request.params.id, request.params.invitationId, username));
    },
  );

  r.get(
    '/api/cases/:id/live',
    {
      config: { access: teller },
      schema: {
        tags: ['live'],
        summary: "The case's current invitation (customer's step) and session",
        params: IdParams,
        response: { 200: LiveViewSchema, ...errors },
      },
    },
    async (request) => {
      const username = me(request.principal);
      if (!(await ctx.cases.findOwn(ctx.pool, username, request.params.id))) throw new AppError('NOT_FOUND', 'No such case.');
      const invitation = await ctx.invitations.current(ctx.pool, request.params.id);
      const session = invitation?.sessionId ? await ctx.calls.find(ctx.pool, invitation.sessionId) : null;
      return { invitation, session: session ? callSessionView(session) : null };
    },
  );

  r.post(
    '/api/cases/:id/admit',
    {
      config: { access: teller, audit: 'session.admit' },
      schema: { tags: ['live'], summary: 'Admit the waiting customer into the video session', params: IdParams, response: { 200: CallSessionViewSchema, ...errors } },
    },
    async (request) => {
      const username = me(request.principal);
      const s = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => ctx.calls.admit(client, audit, request.params.id, username));
      // The room is made now so both parties join at once; if Janus is down it is made at the first join instead.
      await ctx.live?.hub.ensureRoom(s.id, { roomId: Number(s.room_id) }).catch((err: unknown) => {
        request.log.warn({ err }, 'room not created at admit; it will be at the first join');
      });
      return callSessionView(s);
    },
  );

  r.post(
    '/api/sessions/:id/hangup',
    {
      config: { access: teller, audit: 'session.hangup' },
      schema: { tags: ['live'], summary: 'End the session for both parties', params: IdParams, response: { 200: CallSessionViewSchema, ...errors } },
    },
    async (request) => {
      const username = me(request.principal);
      const s = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => ctx.calls.end(client, audit, request.params.id, { party: 'teller', username }, 'teller hung up'));
      await ctx.onSessionEnded(s.id, 'teller hung up');
      return callSessionView(s);
    },
  );
}
