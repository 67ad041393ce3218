import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { parseByteRange } from '../http/byte-range.js';
import { AppError, errorCode, ErrorCodes } from '../http/errors.js';
import { assertScriptComplete } from '../kyc/case-kyc.js';
import { geolocationCoords, revealSessionEvent } from '../kyc/geolocation.js';
import type { Marker, StoredManifest } from '../recording/manifest.js';
import { archiveRepository } from '../repositories/archive.repository.js';
import { callSessionRepository } from '../repositories/call-session.repository.js';
import { caseFileRepository } from '../repositories/case-file.repository.js';
import { recordingRepository } from '../repositories/recording.repository.js';
import { stepOf } from '../services/invitation.service.js';
import { decryptChatText } from '../services/live-media.js';
import { qualityIncidentsOfSessions, qualityOfSessions } from '../services/call-quality.js';
import { ArchiveMedia, ReplayGrants, SealedRecordingCache, searchArchive, searchAuditDetails, sealedRecording } from '../services/archive.service.js';
import { ArchivePageSchema, CaseQualityViewSchema, IntegrityFlagSchema, PROMPTING_OBSERVED, RecordingStatusSchema, REJECT_REASONS } from '../api-types.js';
import { AuditText, authErrors, CaseStatusSchema, CaseViewSchema, DateTime, ErrorResponse, IdParams, Nullable, RejectReasonSchema, Uuid } from './schemas.js';

const PartySchema = Type.Union([Type.Literal('teller'), Type.Literal('customer')]);
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

const IssueSchema = Type.Object({ code: Type.String(), severity: Type.String(), message: Type.String() });

/** A case's timeline is bounded: at most this many session events (chat, markers…) and audit events. */
export const TIMELINE_MAX_SESSION_EVENTS = 5000;
export const TIMELINE_MAX_AUDIT_EVENTS = 5000;

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
});

const ReplaySchema = Type.Object({
  recordingId: Uuid,
  grant: Type.String(),
  expiresAt: DateTime,
  complete: Nullable(Type.Boolean()),
  issues: Type.Array(IssueSchema),
  parties: Type.Array(
    Type.Object({
      party: PartySchema,
      segment: Type.Integer({ minimum: 1 }),
      url: Type.String(),
      durationMs: Nullable(Type.Integer()),
      offsetMs: Nullable(Type.Integer()),
      bytes: Type.Integer(),
      sha256: Type.String(),
    }),
  ),
  markers: Type.Array(Type.Object({ at: Type.String(), offsetMs: Type.Integer(), party: Type.String(), kind: Type.String(), data: Type.Record(Type.String(), Type.Unknown()) })),
});

const MediaParams = Type.Object({ id: Uuid, party: PartySchema }, { additionalProperties: false });
const MediaQuery = Type.Object(
  {
    grant: Type.Optional(Type.String({ maxLength: 400 })),
    segment: Type.Optional(Type.Integer({ minimum: 1, maximum: 99, default: 1 })),
    download: Type.Optional(Type.Literal('1')),
    reason: Type.Optional(AuditText(3, 500)),
  },
  { additionalProperties: false },
);

/** Longest prompting notes: with the longest comment and every reason the `case.reject` event stays within its size. */
const PROMPTING_NOTES_MAX = 500;
const ReviewBody = Type.Object(
  {
    decision: Type.Union([Type.Literal('approved'), Type.Literal('rejected')]),
    comment: AuditText(1),
    rejectReasons: Type.Optional(Type.Array(RejectReasonSchema, { minItems: 1, maxItems: REJECT_REASONS.length, uniqueItems: true })),
    promptingNotes: Type.Optional(AuditText(1, PROMPTING_NOTES_MAX)),
  },
  { additionalProperties: false },
);

const RevealBody = Type.Object(
  { field: Type.Union([Type.Literal('customerName'), Type.Literal('customerIdNumber'), Type.Literal('customerPhone'), Type.Literal('bankCard')]), reason: AuditText(3, 500) },
  { additionalProperties: false },
);
/** How long the UI shows a revealed value before masking it again. */
const REVEAL_SECONDS = 60;

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

/**
 * The auditor's archive: search, a case's full timeline, replay of sealed recordings (ranges decrypted on the fly),
 * maker-checker review, and revealing one masked field. Auditor only: a teller sees their cases through /api/cases.
 */
export async function archiveRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const auditor = { roles: ['auditor'] } as const;
  const grants = new ReplayGrants(ctx.sessionKey);
  const media = new ArchiveMedia({ archiveDir: ctx.config.recording.archiveDir, keyring: ctx.keyring });
  const sealedRecordings = new SealedRecordingCache(ctx.pool);
  app.addHook('onClose', async () => media.close());

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
        summary: "A case's timeline (auditor): invitations, sessions with their events, chat and files, recordings, and the case's audit events with leaf indexes",
        params: IdParams,
        response: { 200: TimelineSchema, 400: ErrorResponse, 404: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      return auditedTransaction(ctx.pool, ctx.audit, request, async (client, audit) => {
        const row = await ctx.cases.getVisible(client, principal, request.params.id);
        const [invitations, sessions, files, reviews] = await Promise.all([
          archiveRepository.invitationsOfCase(client, row.id),
          callSessionRepository.listForCase(client, row.id),
          caseFileRepository.listForCase(client, row.id),
          archiveRepository.reviewsOf(client, [row.id]),
        ]);
        sessions.sort((a, b) => a.admitted_at.getTime() - b.admitted_at.getTime());
        const [{ rows: events, truncated: sessionEventsTruncated }, recordings, incidents] = await Promise.all([
          archiveRepository.eventsOfSessions(client, sessions.map((s) => s.id), TIMELINE_MAX_SESSION_EVENTS),
          recordingRepository.listForSessions(client, sessions.map((s) => s.id)),
          qualityIncidentsOfSessions(client, sessions.map((s) => s.id), TIMELINE_MAX_SESSION_EVENTS),
        ]);
        await audit({ object: { type: 'case', id: row.id }, details: { view: 'timeline' } });

        // Every object of the case that audit events name; the events are read after ours is written, so the
        // opening of this timeline is part of it once sequenced.
        // One query for all of them (in leaf order), bounded: the audit log's own search pages through the rest.
        const objectIds = [row.id, ...invitations.map((i) => i.id), ...sessions.map((s) => s.id), ...recordings.map((x) => x.id), ...files.map((f) => f.id)];
        const auditEvents = [];
        let cursor: string | null = null;
        do {
          const page = await ctx.auditLog.listEvents({ objectIds, order: 'asc' }, cursor, 1000);
          auditEvents.push(...page.events);
          cursor = page.nextCursor;
        } while (cursor && auditEvents.length < TIMELINE_MAX_AUDIT_EVENTS);
        const auditEventsTruncated = auditEvents.length > TIMELINE_MAX_AUDIT_EVENTS || cursor !== null;
        auditEvents.length = Math.min(auditEvents.length, TIMELINE_MAX_AUDIT_EVENTS);

        const latestSessionOf = (invitationId: string) => {
          const own = sessions.filter((s) => s.invitation_id === invitationId);
          return own[own.length - 1] ?? null;
        };
        return {
          case: ctx.cases.toView(row, reviews.get(row.id) ?? null),
          invitations: invitations.map((i) => ({
            id: i.id,
            step: stepOf(i, latestSessionOf(i.id)),
            createdBy: i.created_by,
            createdAt: i.created_at.toISOString(),
            expiresAt: i.expires_at.toISOString(),
            openedAt: iso(i.opened_at),
            codeAttempts: i.code_attempts,
            codeVerifiedAt: iso(i.code_verified_at),
            lockedAt: iso(i.locked_at),
            deviceCheckedAt: iso(i.device_checked_at),
            consent: i.consent,
            consentAt: iso(i.consent_at),
            revokedAt: iso(i.revoked_at),
            closedAt: iso(i.closed_at),
          })),
          sessions: sessions.map((s) => {
            const rec = recordings.find((x) => x.session_id === s.id) ?? null;
            return {
              id: s.id,
              state: s.state,
              admittedAt: s.admitted_at.toISOString(),
              endedAt: iso(s.ended_at),
              endReason: s.end_reason,
              events: events
                .filter((e) => e.session_id === s.id)
                .map((e) => ({
                  id: String(e.id),
                  at: e.at.toISOString(),
                  party: e.party,
                  kind: e.kind,
                  // chat and the customer's location are part of the evidence the auditor reviews
                  ...revealSessionEvent(ctx.pii, s.id, { id: String(e.id), kind: e.kind, data: e.data, textEnc: e.text_enc }),
                })),
              qualityIncidents: incidents.rows
                .filter((x) => x.sessionId === s.id && x.party !== 'system')
                .map((x) => ({ at: new Date(x.t).toISOString(), party: x.party as 'teller' | 'customer', kind: x.kind, data: x.data })),
              files: files
                .filter((f) => f.session_id === s.id)
                .map((f) => ({
                  id: f.id,
                  name: f.name,
                  mediaType: f.media_type,
                  size: f.size,
                  sha256: f.sha256.toString('hex'),
                  from: f.party,
                  at: f.created_at.toISOString(),
                  url: `/api/files/${f.id}`,
                })),
              recording: rec
                ? {
                    id: rec.id,
                    status: rec.status,
                    complete: rec.complete,
                    issues: rec.issues as Array<{ code: string; severity: string; message: string }>,
                    sealedAt: iso(rec.sealed_at),
                    failureReason: rec.failure_reason,
                  }
                : null,
            };
          }),
          auditEvents: auditEvents.map((e) => ({
            leafIndex: e.leafIndex,
            leaf: e.leaf,
            leafHash: e.leafHash,
            action: e.event.action,
            time: e.event.time,
            actor: e.event.actor.username,
            result: e.event.result,
            objectType: e.event.object?.type ?? null,
            objectId: e.event.object?.id ?? null,
          })),
          truncated: { sessionEvents: sessionEventsTruncated, auditEvents: auditEventsTruncated, qualityIncidents: incidents.truncated },
        };
      });
    },
  );

  r.get(
    '/api/cases/:id/quality',
    {
      config: { access: auditor, audit: 'case.view' },
      schema: {
        tags: ['archive'],
        summary: "A case's call quality (auditor): each party's bitrate, loss, RTT and jitter per 5 seconds (Janus: its uplink; browser: what it receives) and the quality incidents (slowlink, freeze, reconnects, steps between video, audio and chat); no personal data; audited",
        params: IdParams,
        response: { 200: CaseQualityViewSchema, 400: ErrorResponse, 404: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      return auditedTransaction(ctx.pool, ctx.audit, request, async (client, audit) => {
        const row = await ctx.cases.getVisible(client, principal, request.params.id);
        const sessions = await callSessionRepository.listForCase(client, row.id);
        await audit({ object: { type: 'case', id: row.id }, details: { view: 'quality' } });
        return qualityOfSessions(client, sessions.map((s) => s.id));
      });
    },
  );

  r.post(
    '/api/recordings/:id/replay',
    {
      config: { access: auditor, audit: 'recording.replay_open' },
      schema: {
        tags: ['archive'],
        summary: 'Open the replay of a sealed recording (auditor): a short-lived grant bound to you and the recording, and the media URLs; audited',
        params: IdParams,
        response: { 200: ReplaySchema, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      return auditedTransaction(ctx.pool, ctx.audit, request, async (client, audit) => {
        const { rec, media: files } = await sealedRecording(client, request.params.id);
        const manifest = ((await client.query<{ manifest: StoredManifest | null }>('SELECT manifest FROM recordings WHERE id = $1', [rec.id])).rows[0]?.manifest ?? {}) as StoredManifest;
        // location markers carry only a reference: the auditor sees the coordinates, decrypted here
        const geoIds = (manifest.markers ?? []).flatMap((m) => (m.kind === 'geolocation' && typeof m.data.geolocationId === 'string' ? [m.data.geolocationId] : []));
        const coords = await geolocationCoords(client, ctx.pii, geoIds);
        const withCoords = (m: Marker): Record<string, unknown> => ({ ...m.data, ...(m.kind === 'geolocation' ? coords.get(String(m.data.geolocationId)) : undefined) });
        const { grant, expiresAt } = grants.issue(rec.id, principal.username);
        await audit({ object: { type: 'recording', id: rec.id }, details: { caseId: rec.case_id, expiresAt: expiresAt.toISOString() } });
        const q = encodeURIComponent(grant);
        return {
          recordingId: rec.id,
          grant,
          expiresAt: expiresAt.toISOString(),
          complete: rec.complete,
          issues: rec.issues as Array<{ code: string; severity: string; message: string }>,
          parties: files.map((f) => ({
            party: f.party!,
            segment: f.segment!,
            url: `/api/recordings/${rec.id}/media/${f.party}?grant=${q}${f.segment === 1 ? '' : `&segment=${f.segment}`}`,
            durationMs: f.duration_ms,
            offsetMs: manifest.files?.find((m) => m.party === f.party && m.segment === f.segment)?.offsetMs ?? null,
            bytes: Number(f.plaintext_bytes),
            sha256: f.plaintext_sha256.toString('hex'),
          })),
          markers: (manifest.markers ?? []).map((m) => ({ at: m.at, offsetMs: m.offsetMs, party: m.party, kind: m.kind, data: withCoords(m) })),
        };
      });
    },
  );

  r.get(
    '/api/recordings/:id/media/:party',
    {
      config: { access: auditor, audit: 'recording.download' },
      schema: {
        tags: ['archive'],
        summary: "A party's sealed media (WebM), decrypted range by range (HTTP Range); needs the replay grant; `download=1&reason=` downloads it, audited",
        params: MediaParams,
        querystring: MediaQuery,
        response: {
          200: Type.Unsafe({ type: 'string', format: 'binary' }),
          206: Type.Unsafe({ type: 'string', format: 'binary' }),
          400: ErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
          410: ErrorResponse,
          416: ErrorResponse,
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      const { id, party } = request.params;
      const { rec, media: files } = await sealedRecordings.get(id);
      if (!grants.check(request.query.grant, id, principal.username)) throw new AppError('REPLAY_GRANT');
      const download = request.query.download === '1';
      if (download && !request.query.reason) throw new AppError('BAD_PARAMETER', 'A download needs a reason.', [{ field: 'reason', code: 'required' }]);
      const segment = request.query.segment ?? 1;
      const file = files.find((f) => f.party === party && f.segment === segment);
      if (!file) throw new AppError('NOT_FOUND', 'The recording has no such party segment.');
      // a recording shredded since it was looked up: its files are gone (refused like a new replay would be)
      const { reader } = await media.open(rec, file).catch(async (err: unknown) => {
        await sealedRecording(ctx.pool, id);
        throw err;
      });
      const size = reader.plaintextSize;
      const range = download ? ({ kind: 'full' } as const) : parseByteRange(request.headers.range, size);
      reply.header('accept-ranges', 'bytes').header('cache-control', 'no-store');
      if (range.kind === 'malformed') throw new AppError('RANGE_MALFORMED');
      if (range.kind === 'unsatisfiable' || (range.kind === 'full' && size === 0)) {
        return reply
          .code(416)
          .header('content-range', `bytes */${size}`)
          .type('application/json; charset=utf-8')
          .send({ error: { code: errorCode('RANGE_NOT_SATISFIABLE'), message: ErrorCodes.RANGE_NOT_SATISFIABLE.message } });
      }
      const start = range.kind === 'range' ? range.start : 0;
      const end = range.kind === 'range' ? range.end : size - 1;
      // Decrypted segment by segment as the client reads; a segment that fails authentication aborts the response.
      const body = await media.range(rec, file, start, end);
      if (download) {
        try {
          await auditedTransaction(ctx.pool, ctx.audit, request, async (_client, audit) => {
            await audit({ object: { type: 'recording', id: rec.id }, reason: request.query.reason!, details: { caseId: rec.case_id, party, segment, bytes: size } });
          });
        } catch (err) {
          await body.return?.();
          throw err;
        }
        reply.header('content-disposition', `attachment; filename="${rec.id}-${file.name.replace(/\.kseal$/, '')}"`);
      }
      if (range.kind === 'range') reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`);
      return reply
        .header('content-type', 'video/webm')
        .header('content-length', String(end - start + 1))
        .send(Readable.from(body, { objectMode: false, highWaterMark: 1 << 20 }));
    },
  );

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
        if (row.teller !== principal.username) throw new AppError('NOT_FOUND', 'No such case.');
        await assertScriptComplete(client, row.id);
        if (!(await archiveRepository.complete(client, row.id))) {
          throw new AppError('CONFLICT', 'Only a case whose session has ended (and none is live) can be marked completed.');
        }
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
        body: ReviewBody,
        response: { 200: CaseViewSchema, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      const { decision, rejectReasons = [] } = request.body;
      const comment = request.body.comment.trim();
      const promptingNotes = request.body.promptingNotes?.trim() ?? null;
      if (comment.length === 0) throw new AppError('VALIDATION', 'The comment is empty.', [{ field: 'comment', code: 'required' }]);
      if (decision === 'approved' && rejectReasons.length > 0) {
        throw new AppError('VALIDATION', 'An approval has no reject reasons.', [{ field: 'rejectReasons', code: 'not_allowed' }]);
      }
      const prompting = rejectReasons.includes(PROMPTING_OBSERVED);
      if (prompting && !promptingNotes) {
        throw new AppError('VALIDATION', 'Describe the prompting that was observed.', [{ field: 'promptingNotes', code: 'required' }]);
      }
      if (!prompting && request.body.promptingNotes !== undefined) {
        throw new AppError('VALIDATION', 'Prompting notes belong to the reason "prompting observed".', [{ field: 'promptingNotes', code: 'not_allowed' }]);
      }
      return auditedTransaction(ctx.pool, ctx.audit, request, async (client, audit) => {
        const row = await ctx.cases.getVisible(client, principal, request.params.id);
        if (row.teller === principal.username) throw new AppError('SELF_REVIEW');
        const review = await archiveRepository.review(client, { caseId: row.id, decision, comment, rejectReasons, promptingNotes, reviewer: principal.username });
        if (!review) throw new AppError('CONFLICT', 'Only a completed case awaiting review can be approved or rejected.');
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
        return ctx.cases.toView(after, review);
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
          200: Type.Object({ field: Type.String(), value: Type.String(), expiresAt: DateTime }),
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
        if (row.shredded_at) throw new AppError('SHREDDED');
        const sources = {
          customerName: [row.customer_name_enc, 'customer_name'],
          customerIdNumber: [row.customer_id_enc, 'customer_id'],
          customerPhone: [row.customer_phone_enc, 'customer_phone'],
          bankCard: [row.bank_card_enc, 'bank_card'],
        } as const;
        const [blob, column] = sources[field];
        if (!blob) throw new AppError('NOT_FOUND', 'The case has no value for this field.');
        const value = ctx.pii.decrypt(row.id, column, blob);
        await audit({ object: { type: 'case', id: row.id }, reason, details: { field, shownSeconds: REVEAL_SECONDS } });
        return { field, value, expiresAt: new Date(Date.now() + REVEAL_SECONDS * 1000).toISOString() };
      });
    },
  );
}
