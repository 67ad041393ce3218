import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { isAuditError, type AuditLog } from '@kyc/compliance';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { AppError } from '../http/errors.js';
import { InclusionProofSchema } from '../archive-api-types.js';
import { authErrors, DateTime, ErrorResponse, Nullable } from './schemas.js';

const Index = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const errors = { 400: ErrorResponse, 404: ErrorResponse, ...authErrors };

/** Audit-log errors that describe the caller's parameters become 400s with their own stable codes. */
async function clientErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isAuditError(err, 'KYC_ERR_PROOF_RANGE')) throw new AppError('PROOF_RANGE', err.message);
    if (isAuditError(err, 'KYC_ERR_AUDIT_QUERY_INVALID')) throw new AppError('AUDIT_QUERY_INVALID', err.message);
    throw err;
  }
}

/** The tamper-evident audit log, for auditors and admins: signed checkpoints, RFC 9162 proofs, the events. */
export async function auditRoutes(app: FastifyInstance, ctx: AppContext & { auditLog: AuditLog }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const access = { roles: ['auditor', 'admin'] as const };
  const log = ctx.auditLog;

  r.get(
    '/api/audit/checkpoint',
    {
      config: { access },
      schema: {
        tags: ['audit'],
        summary: 'The latest signed checkpoint (C2SP tlog-checkpoint in a signed note, Ed25519)',
        produces: ['text/plain'],
        response: { 200: Type.String(), 404: ErrorResponse, ...authErrors },
      },
    },
    async (_request, reply) => {
      const note = await log.latestCheckpoint();
      if (!note) throw new AppError('NOT_FOUND', 'No checkpoint has been written yet.');
      return reply.type('text/plain; charset=utf-8').send(note);
    },
  );

  r.get(
    '/api/audit/verifier-key',
    {
      config: { access },
      schema: {
        tags: ['audit'],
        summary: 'The note verifier key: <name>+<hex key id>+<base64(0x01 ‖ Ed25519 public key)>',
        produces: ['text/plain'],
        response: { 200: Type.String(), 404: ErrorResponse, ...authErrors },
      },
    },
    async (_request, reply) => {
      const key = log.verifierKey();
      if (!key) throw new AppError('NOT_FOUND', 'No signing key is configured.');
      return reply.type('text/plain; charset=utf-8').send(`${key}\n`);
    },
  );

  r.get(
    '/api/audit/proof/inclusion',
    {
      config: { access },
      schema: {
        tags: ['audit'],
        summary: 'RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves (hashes base64)',
        querystring: Type.Object({ index: Index, size: Index }, { additionalProperties: false }),
        response: { 200: InclusionProofSchema, ...errors },
      },
    },
    async (request) => clientErrors(() => log.inclusionProof(request.query.index, request.query.size)),
  );

  r.get(
    '/api/audit/proof/consistency',
    {
      config: { access },
      schema: {
        tags: ['audit'],
        summary: 'RFC 9162 consistency proof between the trees of `from` and `to` leaves (hashes base64)',
        querystring: Type.Object({ from: Index, to: Index }, { additionalProperties: false }),
        response: {
          200: Type.Object({ from: Type.Integer(), to: Type.Integer(), fromRootHash: Type.String(), toRootHash: Type.String(), hashes: Type.Array(Type.String()) }),
          ...errors,
        },
      },
    },
    async (request) => clientErrors(() => log.consistencyProof(request.query.from, request.query.to)),
  );

  r.get(
    '/api/audit/events',
    {
      config: { access, audit: 'audit.read' },
      schema: {
        tags: ['audit'],
        summary: 'Audit events with their leaf index and leaf bytes; filters; keyset pagination; reading is itself audited',
        querystring: Type.Object(
          {
            actor: Type.Optional(Type.String({ maxLength: 200 })),
            action: Type.Optional(Type.String({ maxLength: 100, pattern: '^[a-z0-9_.]+(\\.\\*)?$' })),
            objectType: Type.Optional(Type.String({ maxLength: 50 })),
            objectId: Type.Optional(Type.String({ maxLength: 100 })),
            result: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')])),
            since: Type.Optional(DateTime),
            until: Type.Optional(DateTime),
            order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                leafIndex: Type.Integer(),
                leaf: Type.String({ description: 'the leaf bytes (canonical JSON, RFC 8785)' }),
                leafHash: Type.String(),
                event: Type.Record(Type.String(), Type.Unknown()),
              }),
            ),
            nextCursor: Nullable(Type.String()),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { cursor, limit, ...filter } = request.query;
      return auditedTransaction(ctx.pool, ctx.audit, request, async (_client, audit) => {
        const page = await clientErrors(() => log.listEvents(filter, cursor ?? null, limit ?? 50));
        await audit({ object: null, details: { filter: JSON.stringify(filter).slice(0, 400), returned: page.events.length } });
        return {
          items: page.events.map((e) => ({ leafIndex: e.leafIndex, leaf: e.leaf, leafHash: e.leafHash, event: e.event as unknown as Record<string, unknown> })),
          nextCursor: page.nextCursor,
        };
      });
    },
  );
}
