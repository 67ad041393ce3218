import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { deviceCookieOptions } from '../http/device-cookie.js';
import { errorKindOf } from '../http/errors.js';
import { auditEvent } from '../services/audit.js';
import { DEVICE_COOKIE, type InvitationService } from '../services/invitation.service.js';
import { JoinViewSchema, MediaModeSchema } from '../api-types.js';
import { ErrorResponse } from './schemas.js';

const TokenParams = Type.Object({ token: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }) }, { additionalProperties: false });

const errors = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 410: ErrorResponse, 415: ErrorResponse, 429: ErrorResponse, 500: ErrorResponse };

/** The customer's side of an invitation: no sign-in; the link token plus the browser it was first opened on. */
export async function joinRoutes(app: FastifyInstance, ctx: AppContext & { invitations: InvitationService }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const rateLimit = { max: 60, timeWindow: '1 minute' };
  const customerActor = { username: 'customer', roles: [], auth: 'invitation' as const };
  const device = (request: FastifyRequest) => request.cookies[DEVICE_COOKIE];

  /** A second device is refused; the refusal is audited on its own, as the request changes nothing. */
  async function auditRefusal(request: FastifyRequest, token: string, err: unknown): Promise<never> {
    if (errorKindOf(err) === 'INVITATION_IN_USE') {
      const id = await ctx.invitations.invitationIdOf(ctx.pool, token);
      await ctx.audit.append(
        auditEvent(request, { action: 'invitation.refused', object: id ? { type: 'invitation', id } : null, result: 'denied', reason: 'opened on another device' }, customerActor),
      );
    }
    throw err;
  }

  r.post(
    '/api/join/:token/open',
    {
      config: { access: 'public', audit: 'invitation.open', rateLimit },
      schema: { tags: ['join'], summary: 'Open an invitation link; binds it to this browser', params: TokenParams, response: { 200: JoinViewSchema, ...errors } },
    },
    async (request, reply) => {
      const { token } = request.params;
      const { view, newDevice } = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => ctx.invitations.open(client, audit, token, device(request)), customerActor).catch(
        (err: unknown) => auditRefusal(request, token, err),
      );
      if (newDevice) reply.setCookie(DEVICE_COOKIE, newDevice, deviceCookieOptions(ctx.config.service.frameAncestors));
      return view;
    },
  );

  r.get(
    '/api/join/:token',
    {
      config: { access: 'public', rateLimit: { max: 600, timeWindow: '1 minute' } },
      schema: { tags: ['join'], summary: "The customer's current step", params: TokenParams, response: { 200: JoinViewSchema, ...errors } },
    },
    async (request) => ctx.invitations.state(ctx.pool, request.params.token, device(request)),
  );

  r.post(
    '/api/join/:token/code',
    {
      config: { access: 'public', audit: 'invitation.code_verified', rateLimit },
      schema: {
        tags: ['join'],
        summary: 'Check the 6-digit code the teller read out',
        params: TokenParams,
        body: Type.Object({ code: Type.String({ pattern: '^[0-9]{6}$' }) }, { additionalProperties: false }),
        response: { 200: JoinViewSchema, ...errors },
      },
    },
    async (request) => {
      const { token } = request.params;
      // A wrong code must still count: the attempt commits, then the refusal is answered.
      const { view, refusal } = await auditedTransaction(
        ctx.pool,
        ctx.audit,
        request,
        (client, audit) => ctx.invitations.verifyCode(client, audit, token, device(request), request.body.code),
        customerActor,
      ).catch((err: unknown) => auditRefusal(request, token, err));
      if (refusal) throw refusal;
      return view;
    },
  );

  r.post(
    '/api/join/:token/device-check',
    {
      config: { access: 'public', audit: 'invitation.device_checked', rateLimit },
      schema: {
        tags: ['join'],
        summary: 'Record the device check and how the customer takes part (video: camera and microphone; audio: microphone; chat: none)',
        params: TokenParams,
        body: Type.Object({ camera: Type.Boolean(), microphone: Type.Boolean(), mode: Type.Optional(MediaModeSchema) }, { additionalProperties: false }),
        response: { 200: JoinViewSchema, ...errors },
      },
    },
    async (request) =>
      auditedTransaction(
        ctx.pool,
        ctx.audit,
        request,
        (client, audit) => ctx.invitations.deviceChecked(client, audit, request.params.token, device(request), request.body),
        customerActor,
      ).catch((err: unknown) => auditRefusal(request, request.params.token, err)),
  );

  r.post(
    '/api/join/:token/consent',
    {
      config: { access: 'public', audit: 'consent.given', rateLimit },
      schema: {
        tags: ['join'],
        summary: 'Accept or decline recording; declining ends the invitation and no media is sent',
        params: TokenParams,
        body: Type.Object(
          {
            accept: Type.Boolean(),
            consentVersion: Type.String({ pattern: '^[0-9]{4}-[0-9]{2}$' }),
            /** the SHA-256 of the consent document shown (from the join view's consentTexts) */
            consentTextSha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: JoinViewSchema, ...errors },
      },
    },
    async (request) =>
      auditedTransaction(
        ctx.pool,
        ctx.audit,
        request,
        (client, audit) =>
          ctx.invitations.consent(client, audit, request.params.token, device(request), {
            accept: request.body.accept,
            version: request.body.consentVersion,
            ...(request.body.consentTextSha256 ? { shown: request.body.consentTextSha256 } : {}),
          }),
        customerActor,
      ).catch((err: unknown) => auditRefusal(request, request.params.token, err)),
  );
}
