import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import multipart from '@fastify/multipart';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { AppError } from '../http/errors.js';
import { callerOf } from '../http/auth.js';
import { CaptureRequestSchema, CaptureResultSchema, IdentityDetailViewSchema, IdentityStillViewSchema, LivenessStartedSchema, PendingCaptureSchema } from '../kyc/identity-api-types.js';
import { loadIdentityDetail } from '../kyc/identity-evidence.js';
import { STILL_LIMITS } from '../kyc/identity-image.js';
import { IdentityService } from '../kyc/identity-service.js';
import type { ServerMessage } from '../media/protocol.js';
import { resolveSessionParty, type SessionParty } from '../services/session-access.js';
import { authErrors, ErrorResponse, IdParams, Uuid } from './schemas.js';

const CaptureParams = Type.Object({ id: Uuid, requestId: Uuid }, { additionalProperties: false });
const InvitationQuery = Type.Object({ invitation: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' })) }, { additionalProperties: false });
const errors = { 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse, ...authErrors };

/**
 * Identity checks inside a live session: the teller asks, the customer's browser answers with stills taken from its
 * own camera, the teller accepts or asks again, compares faces, runs liveness, overrides with a reason; the case's
 * teller and auditors read the evidence and its images (audited). Admins have no path to any of it.
 */
export async function identityRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  await app.register(multipart, { limits: { fileSize: STILL_LIMITS.maxBytes, files: 12, fields: 0, parts: 12, headerPairs: 50 } });
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  // Holds no state of its own: the engines, the cipher and the hub are the runtime's single instances.
  const identity = new IdentityService({
    pii: ctx.pii,
    face: ctx.face.engine,
    faceFinder: ctx.face.builtin,
    liveness: ctx.face.liveness,
    idReader: ctx.face.idReader,
    challengeKinds: ctx.config.identity.livenessChallenges,
  });
  const teller = { roles: ['teller'] as const };

  const tellerOfLive = async (request: FastifyRequest, sessionId: string): Promise<SessionParty> => {
    const who = await resolveSessionParty(ctx.pool, ctx.invitations, callerOf(request), sessionId, 'write');
    if (who.party !== 'teller') throw new AppError('NOT_FOUND', 'No such session.');
    return who;
  };
  const tellOther = (sessionId: string, what: 'capture' | 'face' | 'liveness') => ctx.live?.hub.notify(sessionId, 'teller', { type: 'kyc-update', what });
  const askCustomer = (sessionId: string, message: ServerMessage) => ctx.live?.hub.notify(sessionId, 'customer', message);

  r.post(
    '/api/sessions/:id/identity/captures',
    {
      config: { access: teller, audit: 'kyc.capture.requested' },
      schema: {
        tags: ['identity'],
        summary: "Ask the customer's browser for a full-resolution still of an ID side, or live face frames for the face match",
        params: IdParams,
        body: Type.Object({ purpose: Type.Union([Type.Literal('id-front'), Type.Literal('id-back'), Type.Literal('face')]) }, { additionalProperties: false }),
        response: { 201: CaptureRequestSchema, ...errors },
      },
    },
    async (request, reply) => {
      const who = await tellerOfLive(request, request.params.id);
      const { message } = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) =>
        identity.requestCapture(client, audit, who.session, who.actor.username, request.body.purpose),
      );
      askCustomer(who.session.id, message);
      return reply.code(201).send(message as never);
    },
  );

  r.post(
    '/api/sessions/:id/identity/liveness',
    {
      config: { access: teller, audit: 'kyc.liveness.started' },
      schema: {
        tags: ['identity'],
        summary: 'Start challenge–response liveness: the appliance picks 2–3 challenges at random and asks the customer one after the other',
        params: IdParams,
        response: { 201: LivenessStartedSchema, ...errors },
      },
    },
    async (request, reply) => {
      const who = await tellerOfLive(request, request.params.id);
      const started = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => identity.startLiveness(client, audit, who.session, who.actor.username));
      askCustomer(who.session.id, started.message);
      return reply.code(201).send({ livenessId: started.livenessId, challenges: started.challenges });
    },
  );

  r.get(
    '/api/sessions/:id/identity/pending',
    {
      config: { access: { roles: ['teller'], invitation: true } },
      schema: {
        tags: ['identity'],
        summary: "What the customer's browser is asked to capture now (customer with ?invitation=, or the teller)",
        params: IdParams,
        querystring: InvitationQuery,
        response: { 200: PendingCaptureSchema, ...errors },
      },
    },
    async (request) => {
      const who = await resolveSessionParty(ctx.pool, ctx.invitations, callerOf(request), request.params.id, 'write');
      return { request: (await identity.pending(ctx.pool, who.session)) as never };
    },
  );

  r.post(
    '/api/sessions/:id/identity/captures/:requestId',
    {
      config: { access: { roles: ['teller'], invitation: true }, audit: 'kyc.capture.received' },
      schema: {
        tags: ['identity'],
        summary: "The customer's browser sends the stills asked for (multipart, one part per image); checked, stored encrypted, compared",
        consumes: ['multipart/form-data'],
        params: CaptureParams,
        querystring: InvitationQuery,
        response: { 201: CaptureResultSchema, ...errors },
      },
    },
    async (request, reply) => {
      const who = await resolveSessionParty(ctx.pool, ctx.invitations, callerOf(request), request.params.id, 'write');
      if (who.party !== 'customer') throw new AppError('FORBIDDEN', "Stills come from the customer's own camera.");
      if (who.session.state !== 'live') throw new AppError('SESSION_NOT_LIVE', 'Stills can only be sent during the live session.');
      if (!request.isMultipart()) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the images as multipart/form-data.');
      const frames: Buffer[] = [];
      try {
        for await (const part of request.files()) frames.push(await part.toBuffer());
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'FST_REQ_FILE_TOO_LARGE') throw new AppError('IMAGE_TOO_LARGE', `An image may be at most ${STILL_LIMITS.maxBytes / 1024 / 1024} MB.`);
        if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT') throw new AppError('VALIDATION', 'Too many images.', [{ field: 'frame', code: 'maxItems' }]);
        if (code === 'FST_FIELDS_LIMIT') throw new AppError('VALIDATION', 'Only images are expected.', [{ field: 'frame', code: 'type' }]);
        throw err;
      }
      const evaluated = await identity.evaluate(ctx.pool, who.session, request.params.requestId, frames);
      const stored = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => identity.store(client, audit, who.session, evaluated), who.actor);
      if (stored.followUp) askCustomer(who.session.id, stored.followUp);
      tellOther(who.session.id, evaluated.kind === 'id-front' || evaluated.kind === 'id-back' ? 'capture' : evaluated.kind);
      return reply.code(201).send(stored.result);
    },
  );

  for (const decision of ['accept', 'retake'] as const) {
    r.post(
      `/api/identity/stills/:id/${decision}`,
      {
        config: { access: teller, audit: decision === 'accept' ? 'kyc.id.accepted' : 'kyc.id.retake' },
        schema: {
          tags: ['identity'],
          summary: decision === 'accept' ? 'Accept the still of an ID side (both sides accepted complete the id-capture step)' : 'Refuse the still of an ID side; take another',
          params: IdParams,
          response: { 200: IdentityStillViewSchema, ...errors },
        },
      },
      async (request) => {
        const username = request.principal?.username ?? '';
        const row = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) =>
          identity.decideStill(client, audit, username, request.params.id, decision === 'accept' ? 'accepted' : 'retake'),
        );
        return {
          id: row.id,
          side: row.kind as 'id-front' | 'id-back',
          sha256: row.sha256.toString('hex'),
          width: row.width,
          height: row.height,
          at: row.created_at.toISOString(),
          decision: row.decision,
          decidedBy: row.decided_by,
        };
      },
    );
  }

  r.post(
    '/api/face-checks/:id/override',
    {
      config: { access: teller, audit: 'kyc.face.override' },
      schema: {
        tags: ['identity'],
        summary: "The officer overrides the engine's face decision, with a reason (audited)",
        params: IdParams,
        body: Type.Object(
          { decision: Type.Union([Type.Literal('match'), Type.Literal('no_match')]), reason: Type.String({ minLength: 5, maxLength: 1000 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ id: Type.String(), decision: Type.String(), effectiveDecision: Type.String() }), ...errors },
      },
    },
    async (request) => {
      const username = request.principal?.username ?? '';
      const reason = request.body.reason.trim();
      if (reason.length < 5) throw new AppError('VALIDATION', 'Give a reason for the override.', [{ field: 'reason', code: 'minLength' }]);
      const row = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => identity.overrideFace(client, audit, username, request.params.id, request.body.decision, reason));
      return { id: row.id, decision: row.decision, effectiveDecision: row.override_decision ?? row.decision };
    },
  );

  r.get(
    '/api/cases/:id/identity',
    {
      config: { access: { roles: ['teller', 'auditor'] } },
      schema: { tags: ['identity'], summary: "A case's identity evidence in detail (its teller, auditors)", params: IdParams, response: { 200: IdentityDetailViewSchema, ...errors } },
    },
    async (request) => {
      const p = request.principal;
      if (!p) throw new AppError('UNAUTHENTICATED');
      await ctx.cases.getVisible(ctx.pool, p, request.params.id);
      return loadIdentityDetail(ctx.pool, request.params.id);
    },
  );

  r.get(
    '/api/identity/stills/:id',
    {
      config: { access: { roles: ['teller', 'auditor'] }, audit: 'kyc.still.viewed' },
      schema: {
        tags: ['identity'],
        summary: "An identity still (the case's teller, auditors); every view audited",
        params: IdParams,
        response: { 200: Type.Unsafe({ type: 'string', format: 'binary' }), ...errors },
      },
    },
    async (request, reply) => {
      const p = request.principal;
      if (!p) throw new AppError('UNAUTHENTICATED');
      const { still, content } = await identity.stillImage(ctx.pool, request.params.id);
      if (!(await ctx.cases.findVisible(ctx.pool, p, still.case_id))) throw new AppError('NOT_FOUND', 'No such still.');
      await auditedTransaction(ctx.pool, ctx.audit, request, async (_client, audit) => {
        await audit({ object: { type: 'case', id: still.case_id }, details: { stillId: still.id, kind: still.kind } });
      });
      return reply
        .header('content-type', still.media_type)
        .header('content-security-policy', "sandbox; default-src 'none'")
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'private, no-store')
        .send(content);
    },
  );
}
