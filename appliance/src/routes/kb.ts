import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { AppError } from '../http/errors.js';
import { KbEntryEditSchema, KbEntryInputSchema, KbEntrySchema } from '../service-api-types.js';
import { AuditText, authErrors, ErrorResponse, IdParams } from './schemas.js';

const errors = { 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse, ...authErrors };

/** The assistant's knowledge base, managed by administrators: every change is a new version, audited. */
export async function kbRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const username = (p: { username: string } | null) => {
    if (!p) throw new AppError('UNAUTHENTICATED');
    return p.username;
  };

  r.get(
    '/api/admin/kb/entries',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        tags: ['service'],
        summary: 'Knowledge-base entries (current versions, retired ones included)',
        querystring: Type.Object({ productCode: Type.Optional(Type.String({ pattern: '^[A-Z0-9][A-Z0-9-]{1,39}$' })) }, { additionalProperties: false }),
        response: { 200: Type.Array(KbEntrySchema), 400: ErrorResponse, ...authErrors },
      },
    },
    async (request) => ctx.kb.list(ctx.pool, request.query.productCode),
  );

  r.get(
    '/api/admin/kb/entries/:id/versions',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        tags: ['service'],
        summary: "An entry's versions, oldest first",
        params: IdParams,
        response: { 200: Type.Array(Type.Object({ version: Type.Integer(), title: Type.String(), body: Type.String(), createdBy: Type.String(), createdAt: Type.String() })), ...errors },
      },
    },
    async (request) => ctx.kb.versions(ctx.pool, request.params.id),
  );

  r.post(
    '/api/admin/kb/entries',
    {
      config: { access: { roles: ['admin'] }, audit: 'kb.entry_create' },
      schema: {
        tags: ['service'],
        summary: 'Add an article or a Q&A pair (title = question, body = answer) for a product and language',
        body: KbEntryInputSchema,
        response: { 201: KbEntrySchema, ...errors },
      },
    },
    async (request, reply) => {
      const by = username(request.principal);
      const view = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => ctx.kb.create(client, audit, by, request.body));
      return reply.code(201).send(view);
    },
  );

  r.put(
    '/api/admin/kb/entries/:id',
    {
      config: { access: { roles: ['admin'] }, audit: 'kb.entry_update' },
      schema: {
        tags: ['service'],
        summary: 'Edit an entry: appends a new version (answers keep citing the version they used)',
        params: IdParams,
        body: KbEntryEditSchema,
        response: { 200: KbEntrySchema, ...errors },
      },
    },
    async (request) => {
      const by = username(request.principal);
      return auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => ctx.kb.update(client, audit, by, request.params.id, request.body));
    },
  );

  r.post(
    '/api/admin/kb/entries/:id/retire',
    {
      config: { access: { roles: ['admin'] }, audit: 'kb.entry_retire' },
      schema: {
        tags: ['service'],
        summary: 'Retire an entry: the assistant no longer answers from it; its versions stay',
        params: IdParams,
        body: Type.Object({ reason: AuditText(3) }, { additionalProperties: false }),
        response: { 200: KbEntrySchema, ...errors },
      },
    },
    async (request) => auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => ctx.kb.retire(client, audit, request.params.id, request.body.reason)),
  );
}
