import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { AppError } from '../http/errors.js';
import { ProductDiffSchema, ProductListSchema, ProductUpdatedSchema, ProductViewSchema } from '../kyc/kyc-api-types.js';
import { checkProduct, normalizeProduct, productCatalogue, ProductBodySchema, type ProductBody } from '../kyc/products.js';
import { authErrors, ErrorResponse } from './schemas.js';

const CodeParams = Type.Object({ code: Type.String({ pattern: '^[A-Z0-9][A-Z0-9-]{1,39}$' }) }, { additionalProperties: false });
const DiffQuery = Type.Object({ from: Type.Integer({ minimum: 1 }), to: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });
const errors = { 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse, ...authErrors };

function checked(body: ProductBody) {
  const problems = checkProduct(body);
  if (problems.length > 0) throw new AppError('VALIDATION', 'The product definition is not valid.', problems);
  return normalizeProduct(body);
}

/** The product catalogue: everyone signed in reads it; admins create products and edit them into new versions. */
export async function productRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const admin = { roles: ['admin'] as const };
  const anyone = { roles: ['teller', 'auditor', 'admin'] as const };

  r.get(
    '/api/products',
    {
      config: { access: anyone },
      schema: { tags: ['products'], summary: 'The catalogue: every product at its current version', response: { 200: ProductListSchema, ...authErrors } },
    },
    async () => ({ items: await productCatalogue.listCurrent(ctx.pool) }),
  );

  r.get(
    '/api/products/:code/versions',
    {
      config: { access: anyone },
      schema: {
        tags: ['products'],
        summary: 'Every version of a product, oldest first',
        params: CodeParams,
        response: { 200: ProductListSchema, ...errors },
      },
    },
    async (request) => ({ items: await productCatalogue.versions(ctx.pool, request.params.code) }),
  );

  r.get(
    '/api/admin/products/:code/diff',
    {
      config: { access: { roles: ['admin', 'auditor'] as const } },
      schema: { tags: ['products'], summary: 'What changed between two versions of a product', params: CodeParams, querystring: DiffQuery, response: { 200: ProductDiffSchema, ...errors } },
    },
    async (request) => productCatalogue.diff(ctx.pool, request.params.code, request.query.from, request.query.to),
  );

  r.post(
    '/api/admin/products',
    {
      config: { access: admin, audit: 'product.create' },
      schema: { tags: ['products'], summary: 'Add a product with its script (admin); version 1', body: ProductBodySchema, response: { 201: ProductViewSchema, ...errors } },
    },
    async (request, reply) => {
      const def = checked(request.body);
      const view = await auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => productCatalogue.create(client, audit, def, request.principal!.username));
      return reply.code(201).send(view);
    },
  );

  r.put(
    '/api/admin/products/:code',
    {
      config: { access: admin, audit: 'product.update' },
      schema: {
        tags: ['products'],
        summary: 'Edit a product (admin): appends a new version; cases keep the version they were opened with',
        params: CodeParams,
        body: ProductBodySchema,
        response: { 200: ProductUpdatedSchema, ...errors },
      },
    },
    async (request) => {
      if (request.body.code !== request.params.code) throw new AppError('VALIDATION', 'The code cannot change.', [{ field: 'code', code: 'immutable' }]);
      const def = checked(request.body);
      return auditedTransaction(ctx.pool, ctx.audit, request, (client, audit) => productCatalogue.update(client, audit, def, request.principal!.username));
    },
  );
}
