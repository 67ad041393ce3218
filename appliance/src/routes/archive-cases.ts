import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { AppError } from '../http/errors.js';
import { searchArchive, searchAuditDetails } from '../services/archive.service.js';
import { caseQuality, caseTimeline, TIMELINE_MAX_SESSION_EVENTS } from '../services/case-timeline.js';
import { ArchivePageSchema, CaseQualityViewSchema } from '../api-types.js';
import { ArchiveQuerySchema, TimelineSchema } from '../archive-api-types.js';
import { authErrors, ErrorResponse, IdParams } from './schemas.js';

/** A page of the timeline; without either parameter the whole timeline up to its bounds, as before pages existed. */
const TimelineQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: TIMELINE_MAX_SESSION_EVENTS, description: 'at most this many session events and this many audit events' })),
  after: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,600}$', description: "the previous page's nextCursor" })),
});

/**
 * The auditor's view of cases: search, a case's full timeline and its call quality. Auditor only: a teller sees
 * their cases through /api/cases.
 */
export async function archiveCaseRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const auditor = { roles: ['auditor'] } as const;

  r.get(
    '/api/archive/search',
    {
      config: { access: auditor, audit: 'archive.search' },
      schema: {
        tags: ['archive'],
        summary: 'Search cases (auditor): filters, exact ID number or name through the blind indexes, keyset pages, total (exact up to 10,000); audited',
        querystring: ArchiveQuerySchema,
        response: { 200: ArchivePageSchema, 400: ErrorResponse, ...authErrors },
      },
    },
    async (request) =>
      auditedTransaction(ctx.pool, ctx.audit, request, async (client, audit) => {
        const { filter, ...page } = await searchArchive(client, ctx, request.query);
        await audit({ object: null, details: searchAuditDetails(filter, request.query, page.total) });
        return page;
      }),
  );

  r.get(
    '/api/cases/:id/timeline',
    {
      config: { access: auditor, audit: 'case.view' },
      schema: {
        tags: ['archive'],
        summary:
          "A case's timeline (auditor): invitations, sessions with their events, chat and files, recordings, and the case's audit events with leaf indexes; `limit` and `after` page through the session events and audit events",
        params: IdParams,
        querystring: TimelineQuery,
        response: { 200: TimelineSchema, 400: ErrorResponse, 404: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      return auditedTransaction(ctx.pool, ctx.audit, request, async (client, audit) => {
        const row = await ctx.cases.getVisible(client, principal, request.params.id);
        return caseTimeline(client, ctx, row, request.query, () => audit({ object: { type: 'case', id: row.id }, details: { view: 'timeline' } }));
      });
    },
  );

  r.get(
    '/api/cases/:id/quality',
    {
      config: { access: auditor, audit: 'case.view' },
      schema: {
        tags: ['archive'],
        summary:
          "A case's call quality (auditor): each party's bitrate, loss, RTT and jitter per 5 seconds (Janus: its uplink; browser: what it receives) and the quality incidents (slowlink, freeze, reconnects, steps between video, audio and chat); no personal data; audited",
        params: IdParams,
        response: { 200: CaseQualityViewSchema, 400: ErrorResponse, 404: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      return auditedTransaction(ctx.pool, ctx.audit, request, async (client, audit) => {
        const row = await ctx.cases.getVisible(client, principal, request.params.id);
        await audit({ object: { type: 'case', id: row.id }, details: { view: 'quality' } });
        return caseQuality(client, row.id);
      });
    },
  );
}
