import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { AppError } from '../http/errors.js';
import { callerOf } from '../http/auth.js';
import { caseKycView, kycViewAudited } from '../kyc/case-kyc.js';
import { confirm, pendingConfirmations, requestConfirmation } from '../kyc/confirmations.js';
import { recordGeolocation } from '../kyc/geolocation.js';
import { completableStep, completeStep, scriptOf, stepsOf } from '../kyc/steps.js';
import { DEVICE_COOKIE } from '../services/invitation.service.js';
import { resolveSessionParty } from '../services/session-access.js';
import { authErrors, DateTime, ErrorResponse, IdParams, Uuid } from './schemas.js';
import { CaseKycViewSchema, CustomerScriptViewSchema, GeolocationReceivedSchema, StepActionSchema } from '../kyc/kyc-api-types.js';

const StepParams = Type.Object({ id: Uuid, stepId: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$' }) }, { additionalProperties: false });
const InvitationQuery = Type.Object({ invitation: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' })) }, { additionalProperties: false });
const StepBody = Type.Object({ note: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false });
const ConfirmBody = Type.Object({ confirmationId: Uuid }, { additionalProperties: false });
const GeolocationBody = Type.Object(
  {
    consent: Type.Union([Type.Literal('granted'), Type.Literal('refused'), Type.Literal('unavailable')]),
    latitude: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
    longitude: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
    accuracy: Type.Optional(Type.Number({ minimum: 0, maximum: 1e6 })),
    capturedAt: Type.Optional(DateTime),
  },
  { additionalProperties: false },
);
const errors = { 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse, ...authErrors };

/** Identity steps are completed by the identity checks themselves, never by a "done" click. */
const CHECKED_KINDS = new Set(['id-capture', 'face-match', 'liveness']);

/** Names the sign-in session without revealing it: a hash of the session cookie's id hash, or of the bearer token. */
function signInRef(request: FastifyRequest): string {
  const p = request.principal!;
  const secret = p.sessionIdHash ?? Buffer.from(request.headers.authorization ?? '', 'utf8');
  return createHash('sha256').update('kyc-view-sign-in\0').update(secret).digest('hex').slice(0, 32);
}

/** The case's script in the call: the teller's panel, the customer's prompts and location, the KYC view. */
export async function kycRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/api/cases/:id/kyc',
    {
      config: { access: { roles: ['teller', 'auditor'] }, audit: 'case.kyc.view' },
      schema: {
        tags: ['kyc'],
        summary: "The case's script steps with status and markers, the identity evidence, location, and what completion still needs (its teller, auditors); audited",
        params: IdParams,
        response: { 200: CaseKycViewSchema, ...errors },
      },
    },
    async (request) => {
      const principal = request.principal!;
      return auditedTransaction(ctx.pool, ctx.audit, request, async (client, audit) => {
        const row = await ctx.cases.getVisible(client, principal, request.params.id);
        // The case's own teller polls this view all through the call: one event per sign-in session says that they
        // saw it; every read by anyone else (an auditor looking at someone's personal data) is an event of its own.
        const signIn = signInRef(request);
        const own = row.teller === principal.username;
        if (!own || !(await kycViewAudited(client, row.id, principal.username, signIn))) {
          await audit({ object: { type: 'case', id: row.id }, details: { signIn, ownCase: own } });
        }
        return caseKycView(client, ctx.pii, row.id);
      });
    },
  );

  r.post(
    '/api/cases/:id/kyc/steps/:stepId/complete',
    {
      config: { access: { roles: ['teller'] }, audit: 'kyc.step.completed' },
      schema: {
        tags: ['kyc'],
        summary: "The teller marks a script step done in the live session (a step needing the customer's confirmation asks for it instead); a redo adds an attempt",
        params: StepParams,
        body: Type.Optional(StepBody),
        response: { 200: StepActionSchema, ...errors },
      },
    },
    async (request) => {
      const principal = request.principal!;
      return auditedTransaction(ctx.pool, ctx.audit, request, async (client, audit) => {
        const row = await ctx.cases.getVisible(client, principal, request.params.id);
        if (row.teller !== principal.username) throw new AppError('NOT_FOUND', 'No such case.');
        const { step, session } = await completableStep(client, row.id, request.params.stepId);
        if (CHECKED_KINDS.has(step.kind)) throw new AppError('CONFLICT', 'This step is completed by its identity check.');
        if (step.confirm) {
          const { pending } = await requestConfirmation(client, row.id, step.id, session.id, principal.username);
          await audit({ action: 'kyc.confirm.requested', object: { type: 'case', id: row.id }, details: { stepId: step.id, confirmationId: pending.id, sessionId: session.id } });
          return { stepId: step.id, status: 'awaiting-confirmation' as const, attemptId: null, offsetMs: null, confirmationId: pending.id };
        }
        const note = request.body?.note?.trim();
        const done = await completeStep(client, {
          caseId: row.id,
          stepId: step.id,
          actor: { party: 'teller', username: principal.username },
          audit,
          ...(note ? { result: { note } } : {}),
        });
        return { stepId: step.id, status: 'done' as const, attemptId: done.attemptId, offsetMs: done.offsetMs, confirmationId: null };
      });
    },
  );

  r.get(
    '/api/sessions/:id/kyc',
    {
      config: { access: { roles: ['teller'], invitation: true } },
      schema: {
        tags: ['kyc'],
        summary:
          "What the customer's screen shows of the script during the session: recording start, open confirmation prompts, the current read-aloud code (teller, or the customer with ?invitation=)",
        params: IdParams,
        querystring: InvitationQuery,
        response: { 200: CustomerScriptViewSchema, ...errors },
      },
    },
    async (request) => {
      // The customer's page may ask once more while the hang-up reaches it: an ended session of their own
      // invitation on this device reads as "not recording" rather than as an error.
      const { invitation } = request.query;
      if (!request.principal && invitation && /^[A-Za-z0-9_-]{43}$/.test(invitation)) {
        const own = await ctx.invitations.latestSessionForCustomer(ctx.pool, invitation, request.cookies[DEVICE_COOKIE]);
        if (own && own.session.id === request.params.id && own.session.state !== 'live') {
          return { recording: false, recordingSince: own.session.admitted_at.toISOString(), requiresGeolocation: false, prompts: [], readAloud: null };
        }
      }
      const who = await resolveSessionParty(ctx.pool, ctx.invitations, callerOf(request), request.params.id, 'read');
      const steps = await stepsOf(ctx.pool, who.session.case_id);
      const script = await scriptOf(ctx.pool, who.session.case_id);
      const pending = who.session.state === 'live' ? await pendingConfirmations(ctx.pool, who.session.id) : [];
      const current = steps.find((s) => s.required && s.status !== 'done');
      const readAloud = current?.kind === 'read-aloud' && who.session.state === 'live' ? current : null;
      return {
        recording: who.session.state === 'live',
        recordingSince: who.session.admitted_at.toISOString(),
        requiresGeolocation: script?.requiresGeolocation ?? false,
        prompts: pending.flatMap((p) => {
          const s = steps.find((x) => x.id === p.stepId);
          return s ? [{ confirmationId: p.id, stepId: s.id, title: s.title, text: s.text, requestedAt: p.requestedAt }] : [];
        }),
        readAloud: readAloud ? { stepId: readAloud.id, title: readAloud.title, code: readAloud.code } : null,
      };
    },
  );

  r.post(
    '/api/sessions/:id/kyc/confirm',
    {
      config: { access: { roles: [], invitation: true }, audit: 'kyc.step.completed' },
      schema: {
        tags: ['kyc'],
        summary: 'The customer\'s tap on "I understand and confirm" (?invitation=): completes the step, with its time',
        params: IdParams,
        querystring: InvitationQuery,
        body: ConfirmBody,
        response: { 200: StepActionSchema, ...errors },
      },
    },
    async (request) => {
      const who = await resolveSessionParty(ctx.pool, ctx.invitations, callerOf(request), request.params.id, 'write');
      if (who.party !== 'customer') throw new AppError('FORBIDDEN', 'Only the customer confirms.');
      const done = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => confirm(client, who.session.id, request.body.confirmationId, audit), who.actor);
      // the teller's script panel looks again at once (it also polls while a confirmation is open)
      ctx.live?.hub.notify(who.session.id, 'teller', { type: 'kyc-update', what: 'script' });
      return { stepId: done.stepId, status: 'done' as const, attemptId: done.attemptId, offsetMs: done.offsetMs, confirmationId: request.body.confirmationId };
    },
  );

  r.post(
    '/api/sessions/:id/geolocation',
    {
      config: { access: { roles: [], invitation: true }, audit: 'kyc.geolocation' },
      schema: {
        tags: ['kyc'],
        summary: "The customer's location with consent, or its refusal (?invitation=); stored encrypted, marked in the recording with the server's time",
        params: IdParams,
        querystring: InvitationQuery,
        body: GeolocationBody,
        response: { 201: GeolocationReceivedSchema, ...errors },
      },
    },
    async (request, reply) => {
      const who = await resolveSessionParty(ctx.pool, ctx.invitations, callerOf(request), request.params.id, 'write');
      if (who.party !== 'customer' || who.session.state !== 'live') throw new AppError('CONFLICT', 'The location is given by the customer during the session.');
      const g = request.body;
      if (g.consent === 'granted' && (g.latitude === undefined || g.longitude === undefined)) {
        throw new AppError('VALIDATION', 'Coordinates are missing.', [{ field: 'latitude', code: 'required' }]);
      }
      if (g.consent !== 'granted' && (g.latitude !== undefined || g.longitude !== undefined)) {
        throw new AppError('VALIDATION', 'No coordinates without consent.', [{ field: 'consent', code: 'granted' }]);
      }
      const stored = await auditedTransaction(
        ctx.pool,
        ctx.audit,
        request,
        async (client, audit) => {
          const s = await recordGeolocation(client, ctx.pii, who.session, g);
          await audit({ object: { type: 'case', id: who.session.case_id }, details: { consent: g.consent, sessionId: who.session.id } });
          return s;
        },
        who.actor,
      );
      return reply.code(201).send({ receivedAt: stored.receivedAt.toISOString() });
    },
  );
}
