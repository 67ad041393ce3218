import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { AppError } from '../http/errors.js';
import { checkReview, completeCase, reviewCase, revealField } from '../services/case-review.js';
import { MaskedFieldSchema, RevealedSchema, ReviewInputSchema } from '../archive-api-types.js';
import { AuditText, authErrors, CaseViewSchema, ErrorResponse, IdParams } from './schemas.js';

const RevealBody = Type.Object({ field: MaskedFieldSchema, reason: AuditText(3, 500) }, { additionalProperties: false });
/** How long the UI shows a revealed value before masking it again. */
const REVEAL_SECONDS = 60;

/**
 * Maker-checker: the teller marks their case completed, an auditor who is not its teller approves or rejects it;
 * and an auditor reveals one masked field for a short time.
 */
export async function archiveReviewRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const auditor = { roles: ['auditor'] } as const;

  r.post(
    '/api/cases/:id/complete',
    {
      config: { access: { roles: ['teller'] }, audit: 'case.complete' },
      schema: {
        tags: ['archive'],
        summary: "The case's teller marks it completed once its session has ended; it then awaits an auditor's review",
        params: IdParams,
        response: { 200: CaseViewSchema, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      return auditedTransaction(ctx.pool, ctx.audit, request, async (client, audit) => {
        const row = await ctx.cases.getVisible(client, principal, request.params.id);
        await completeCase(client, row, principal.username);
        await audit({ object: { type: 'case', id: row.id }, details: { from: row.status } });
        const after = await ctx.cases.getVisible(client, principal, row.id);
        return ctx.cases.toView(after);
      });
    },
  );

  r.post(
    '/api/cases/:id/review',
    {
      config: { access: auditor, audit: 'case.review' },
      schema: {
        tags: ['archive'],
        summary:
          "Approve or reject a completed case with a comment (an auditor who is not the case's teller); a rejection may name reasons, and `prompting_observed` needs `promptingNotes`; audited case.approve / case.reject",
        params: IdParams,
        body: ReviewInputSchema,
        response: { 200: CaseViewSchema, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      const review = checkReview(request.body);
      return auditedTransaction(ctx.pool, ctx.audit, request, async (client, audit) => {
        const row = await ctx.cases.getVisible(client, principal, request.params.id);
        const recorded = await reviewCase(client, row, principal.username, review);
        const { decision, comment, rejectReasons, promptingNotes } = review;
        await audit({
          action: decision === 'approved' ? 'case.approve' : 'case.reject',
          object: { type: 'case', id: row.id },
          reason: comment,
          details: {
            teller: row.teller,
            ...(rejectReasons.length > 0 ? { rejectReasons: rejectReasons.join(',') } : {}),
            ...(promptingNotes ? { promptingNotes } : {}),
          },
        });
        const after = await ctx.cases.getVisible(client, principal, row.id);
        return ctx.cases.toView(after, recorded);
      });
    },
  );

  r.post(
    '/api/cases/:id/reveal',
    {
      config: { access: auditor, audit: 'pii.reveal' },
      schema: {
        tags: ['archive'],
        summary: 'Reveal one masked field of a case for a short time, with a reason (auditor); audited without the value',
        params: IdParams,
        body: RevealBody,
        response: {
          200: RevealedSchema,
          400: ErrorResponse,
          404: ErrorResponse,
          410: ErrorResponse,
          413: ErrorResponse,
          415: ErrorResponse,
          ...authErrors,
        },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      const { field } = request.body;
      const reason = request.body.reason.trim();
      if (reason.length < 3) throw new AppError('VALIDATION', 'Give a reason.', [{ field: 'reason', code: 'required' }]);
      return auditedTransaction(ctx.pool, ctx.audit, request, async (client, audit) => {
        const row = await ctx.cases.getVisible(client, principal, request.params.id);
        const value = revealField(ctx.pii, row, field);
        await audit({ object: { type: 'case', id: row.id }, reason, details: { field, shownSeconds: REVEAL_SECONDS } });
        return { field, value, expiresAt: new Date(Date.now() + REVEAL_SECONDS * 1000).toISOString() };
      });
    },
  );
}
