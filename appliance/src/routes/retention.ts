import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { AppError } from '../http/errors.js';
import { RetentionError, RetentionService } from '../services/retention.service.js';
import { CaseRetentionViewSchema, HoldViewSchema, PolicyViewSchema, RetentionItemKindSchema, RetentionOverviewSchema, RetentionRunQueuedSchema } from '../api-types.js';
import { AuditText, authErrors, DateTime, ErrorResponse, IdParams, Uuid } from './schemas.js';

/**
 * Retention: policies per product (admins set them; auditors read them), a case's contract end (admins), legal holds
 * (auditors and admins), each case's expiry and what was shredded, and the retention job (dry run, run now).
 * Nothing here answers with personal data or media.
 */

const CodeParams = Type.Object({ productCode: Type.String({ pattern: '^[A-Z0-9][A-Z0-9-]{1,39}$' }) }, { additionalProperties: false });
const ReasonBody = Type.Object({ reason: AuditText(3, 1000) }, { additionalProperties: false });

const DueSchema = Type.Object({
  asOf: DateTime,
  cases: Type.Integer(),
  counts: Type.Record(Type.String(), Type.Integer()),
  items: Type.Array(Type.Object({ caseId: Uuid, kind: RetentionItemKindSchema, id: Uuid })),
});
const errors = { 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 415: ErrorResponse, ...authErrors };

/** The domain's refusal as the API reports it. */
function translate(err: unknown): never {
  if (err instanceof RetentionError) throw new AppError(err.kind, err.message, err.field ? [{ field: err.field, code: err.kind.toLowerCase() }] : undefined);
  throw err;
}

function principalOf(request: FastifyRequest) {
  const p = request.principal;
  if (!p) throw new AppError('UNAUTHENTICATED');
  return p;
}

export async function retentionRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const service = new RetentionService();
  const admin = { roles: ['admin'] as const };
  const overseers = { roles: ['auditor', 'admin'] as const };
  const tx = <T>(request: FastifyRequest, fn: Parameters<typeof auditedTransaction<T>>[3]) => auditedTransaction(ctx.pool, ctx.audit, request, fn).catch(translate);

  r.get(
    '/api/admin/retention/policies',
    {
      config: { access: overseers },
      schema: {
        tags: ['retention'],
        summary: 'Retention policies per product (a product without one never expires)',
        response: { 200: Type.Object({ items: Type.Array(PolicyViewSchema) }), ...authErrors },
      },
    },
    async () => ({ items: await service.policies(ctx.pool) }),
  );

  r.put(
    '/api/admin/retention/policies/:productCode',
    {
      config: { access: admin, audit: 'retention.policy_set' },
      schema: {
        tags: ['retention'],
        summary: "Sets a product's retention: days after the anchor (case completion, or the case's contract end); audited with the old and new values",
        params: CodeParams,
        body: Type.Object({ retentionDays: Type.Integer({ minimum: 1, maximum: 36500 }), anchor: PolicyViewSchema.properties.anchor }, { additionalProperties: false }),
        response: { 200: PolicyViewSchema, ...errors },
      },
    },
    async (request) => {
      const by = principalOf(request).username;
      return tx(request, (client, audit) => service.setPolicy(client, audit, by, request.params.productCode, request.body));
    },
  );

  r.put(
    '/api/cases/:id/contract-end',
    {
      config: { access: admin, audit: 'retention.contract_end_set' },
      schema: {
        tags: ['retention'],
        summary: "Enters or corrects a case's contract-end date (the anchor of contract_end policies); audited with the old and new dates",
        params: IdParams,
        body: Type.Object({ contractEnd: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }), reason: AuditText(3, 1000) }, { additionalProperties: false }),
        response: { 200: CaseRetentionViewSchema, ...errors },
      },
    },
    async (request) => tx(request, (client, audit) => service.setContractEnd(client, audit, request.params.id, request.body.contractEnd, request.body.reason)),
  );

  r.get(
    '/api/cases/:id/retention',
    {
      config: { access: overseers },
      schema: {
        tags: ['retention'],
        summary: "A case's retention: policy, anchor, expiry, hold, and each item's state (no personal data)",
        params: IdParams,
        response: { 200: CaseRetentionViewSchema, ...errors },
      },
    },
    async (request) => {
      const v = await service.ofCase(ctx.pool, request.params.id);
      if (!v) throw new AppError('NOT_FOUND', 'No such case.');
      return v;
    },
  );

  r.post(
    '/api/cases/:id/holds',
    {
      config: { access: overseers, audit: 'retention.hold_placed' },
      schema: {
        tags: ['retention'],
        summary: 'Places a legal hold on a case: nothing of it expires until every hold is released; audited',
        params: IdParams,
        body: ReasonBody,
        response: { 201: HoldViewSchema, ...errors },
      },
    },
    async (request, reply) => {
      const by = principalOf(request).username;
      const hold = await tx(request, (client, audit) => service.placeHold(client, audit, by, request.params.id, request.body.reason));
      return reply.code(201).send(hold);
    },
  );

  r.post(
    '/api/holds/:id/release',
    {
      config: { access: overseers, audit: 'retention.hold_released' },
      schema: { tags: ['retention'], summary: 'Releases a legal hold with a reason; audited', params: IdParams, body: ReasonBody, response: { 200: HoldViewSchema, ...errors } },
    },
    async (request) => {
      const by = principalOf(request).username;
      return tx(request, (client, audit) => service.releaseHold(client, audit, by, request.params.id, request.body.reason));
    },
  );

  r.get(
    '/api/holds',
    {
      config: { access: overseers },
      schema: {
        tags: ['retention'],
        summary: 'Legal holds, newest first: active ones (active=true), released ones (active=false) or all',
        querystring: Type.Object({ active: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])) }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(HoldViewSchema) }), ...errors },
      },
    },
    async (request) => ({ items: await service.holds(ctx.pool, request.query.active === undefined ? null : request.query.active === 'true') }),
  );

  r.get(
    '/api/admin/retention',
    {
      config: { access: overseers },
      schema: {
        tags: ['retention'],
        summary: 'Cases expiring within 30 and 90 days (expired ones not yet shredded included), active holds, the last retention run',
        response: { 200: RetentionOverviewSchema, ...authErrors },
      },
    },
    async () => service.overview(ctx.pool, new Date()),
  );

  r.post(
    '/api/admin/retention/dry-run',
    {
      config: { access: admin, audit: 'retention.dry_run' },
      schema: { tags: ['retention'], summary: 'What a retention run now would shred (changes nothing; the request is audited)', response: { 200: DueSchema, ...authErrors } },
    },
    async (request) => {
      const asOf = new Date();
      return tx(request, async (client, audit) => {
        const items = await service.dueItems(client, asOf);
        const counts: Record<string, number> = {};
        for (const i of items) counts[i.kind] = (counts[i.kind] ?? 0) + 1;
        const cases = new Set(items.map((i) => i.caseId)).size;
        await audit({ object: null, details: { asOf: asOf.toISOString(), cases, items: items.length } });
        return { asOf: asOf.toISOString(), cases, counts, items };
      });
    },
  );

  r.post(
    '/api/admin/retention/run',
    {
      config: { access: admin, audit: 'retention.run_requested' },
      schema: {
        tags: ['retention'],
        summary: 'Queues a retention run now, with a reason (202); one already waiting absorbs it; audited',
        body: ReasonBody,
        response: { 202: RetentionRunQueuedSchema, 400: ErrorResponse, ...authErrors },
      },
    },
    async (request, reply) => {
      const by = principalOf(request).username;
      const jobId = await tx(request, async (client, audit) => {
        const id = await ctx.enqueueRetentionRun(client, by);
        await audit({ object: null, reason: request.body.reason, details: { queued: id !== null } });
        return id;
      });
      return reply.code(202).send({ queued: jobId !== null });
    },
  );
}
