import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { AppError } from '../http/errors.js';
import { searchArchive, searchAuditDetails } from '../services/archive.service.js';
import { caseQuality, caseTimeline, TIMELINE_MAX_SESSION_EVENTS } from '../services/case-timeline.js';
import { ArchivePageSchema, CaseQualityViewSchema, IntegrityFlagSchema, RecordingStatusSchema } from '../api-types.js';
import { IssueSchema, PartySchema } from './archive-schemas.js';
import { authErrors, CaseStatusSchema, CaseViewSchema, DateTime, ErrorResponse, IdParams, Nullable, Uuid } from './schemas.js';

const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });

const SearchQuery = Type.Object(
  {
    idNumber: Type.Optional(Type.String({ minLength: 15, maxLength: 20 })),
    name: Type.Optional(Text(100)),
    teller: Type.Optional(Text(100)),
    branch: Type.Optional(Text(100)),
    product: Type.Optional(Text(100)),
    status: Type.Optional(CaseStatusSchema),
    recordingStatus: Type.Optional(RecordingStatusSchema),
    flag: Type.Optional(IntegrityFlagSchema),
    from: Type.Optional(DateTime),
    to: Type.Optional(DateTime),
    sort: Type.Optional(Type.Union([Type.Literal('created_desc'), Type.Literal('created_asc')])),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,300}$' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  },
  { additionalProperties: false },
);

/** A page of the timeline; without either parameter the whole timeline up to its bounds, as before pages existed. */
const TimelineQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: TIMELINE_MAX_SESSION_EVENTS, description: 'at most this many session events and this many audit events' })),
  after: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,600}$', description: "the previous page's nextCursor" })),
});

const TimelineSchema = Type.Object({
  case: CaseViewSchema,
  /** true where the timeline stops at its bound (the audit log search and the session's own views page through the rest) */
  truncated: Type.Object({ sessionEvents: Type.Boolean(), auditEvents: Type.Boolean(), qualityIncidents: Type.Boolean() }),
  invitations: Type.Array(
    Type.Object({
      id: Uuid,
      step: Type.String(),
      createdBy: Type.String(),
      createdAt: DateTime,
      expiresAt: DateTime,
      openedAt: Nullable(DateTime),
      codeAttempts: Type.Integer(),
      codeVerifiedAt: Nullable(DateTime),
      lockedAt: Nullable(DateTime),
      deviceCheckedAt: Nullable(DateTime),
      consent: Nullable(Type.String()),
      consentAt: Nullable(DateTime),
      revokedAt: Nullable(DateTime),
      closedAt: Nullable(DateTime),
    }),
  ),
  sessions: Type.Array(
    Type.Object({
      id: Uuid,
      state: Type.String(),
      admittedAt: DateTime,
      endedAt: Nullable(DateTime),
      endReason: Nullable(Type.String()),
      events: Type.Array(
        Type.Object({
          id: Type.String(),
          at: DateTime,
          party: Type.String(),
          kind: Type.String(),
          data: Type.Record(Type.String(), Type.Unknown()),
          text: Nullable(Type.String()),
        }),
      ),
      /** slowlink and freeze reports (reconnects and call-mode steps are session events) */
      qualityIncidents: Type.Array(Type.Object({ at: DateTime, party: PartySchema, kind: Type.String(), data: Type.Record(Type.String(), Type.Unknown()) })),
      files: Type.Array(
        Type.Object({ id: Uuid, name: Type.String(), mediaType: Type.String(), size: Type.Integer(), sha256: Type.String(), from: PartySchema, at: DateTime, url: Type.String() }),
      ),
      recording: Nullable(
        Type.Object({
          id: Uuid,
          status: RecordingStatusSchema,
          complete: Nullable(Type.Boolean()),
          issues: Type.Array(IssueSchema),
          sealedAt: Nullable(DateTime),
          failureReason: Nullable(Type.String()),
        }),
      ),
    }),
  ),
  auditEvents: Type.Array(
    Type.Object({
      leafIndex: Type.Integer({ minimum: 0 }),
      leaf: Type.String({ description: 'the leaf bytes (canonical JSON, UTF-8): hash 0x00 ‖ leaf to check the inclusion proof' }),
      leafHash: Type.String(),
      action: Type.String(),
      time: Type.String(),
      actor: Type.String(),
      result: Type.String(),
      objectType: Nullable(Type.String()),
      objectId: Nullable(Type.String()),
    }),
  ),
  /** where the next page starts; only on an answer asked for a page (`limit` or `after`), null on the last */
  nextCursor: Type.Optional(Nullable(Type.String())),
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
        querystring: SearchQuery,
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
