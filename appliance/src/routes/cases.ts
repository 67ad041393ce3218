import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { AppError } from '../http/errors.js';
import { CaseListSchema, NewCaseSchema } from '../api-types.js';
import { authErrors, CaseViewSchema, ErrorResponse, IdParams } from './schemas.js';
import { RetentionService } from '../services/retention.service.js';

const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$' })),
  },
  { additionalProperties: false },
);

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const d = new Date(createdAt);
    if (Number.isNaN(d.getTime()) || !/^[0-9a-f-]{36}$/.test(id)) throw new Error('bad cursor');
    return { createdAt: d, id };
  } catch {
    throw new AppError('BAD_PARAMETER', 'The cursor is not valid.');
  }
}

export async function caseRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const retentionService = new RetentionService();

  r.post(
    '/api/cases',
    {
      config: { access: { roles: ['teller'] }, audit: 'case.create' },
      schema: {
        tags: ['cases'],
        summary: 'Open a case for a customer (teller)',
        body: NewCaseSchema,
        response: { 201: CaseViewSchema, 400: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse, ...authErrors },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      const view = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => ctx.cases.create(client, audit, principal, request.body));
      return reply.code(201).send(view);
    },
  );

  r.get(
    '/api/cases',
    {
      config: { access: { roles: ['teller'] } },
      schema: {
        tags: ['cases'],
        summary: "The signed-in teller's cases, newest first",
        querystring: ListQuery,
        response: { 200: CaseListSchema, 400: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      const limit = request.query.limit ?? 50;
      const after = request.query.cursor ? decodeCursor(request.query.cursor) : null;
      const { items, more } = await ctx.cases.listOfTeller(ctx.pool, principal.username, limit, after);
      const last = items[items.length - 1];
      return { items, nextCursor: more && last ? encodeCursor(last.createdAt, last.id) : null };
    },
  );

  r.get(
    '/api/cases/:id',
    {
      config: { access: { roles: ['teller', 'auditor'] }, audit: 'case.view' },
      schema: {
        tags: ['cases'],
        summary: 'One case (its teller, or an auditor); opening it is audited',
        params: IdParams,
        response: { 200: CaseViewSchema, 400: ErrorResponse, 404: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      return auditedTransaction(ctx.pool, ctx.audit, request, async (client, audit) => {
        const row = await ctx.cases.getVisible(client, principal, request.params.id);
        await audit({ object: { type: 'case', id: row.id } });
        const view = await ctx.cases.viewOf(client, row);
        const retention = await retentionService.summary(client, row.id);
        return { ...view, ...(retention ? { retention } : {}) };
      });
    },
  );
}
