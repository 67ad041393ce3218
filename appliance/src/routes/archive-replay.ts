import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { parseByteRange } from '../http/byte-range.js';
import { AppError, errorCode, ErrorCodes } from '../http/errors.js';
import { sealedRecording } from '../services/archive.service.js';
import { openReplay } from '../services/replay.service.js';
import { PartySchema, ReplaySchema } from '../archive-api-types.js';
import { AuditText, authErrors, ErrorResponse, IdParams, Uuid } from './schemas.js';

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

/**
 * Replay of sealed recordings (auditor): opening one issues a grant; its media is served range by range, decrypted
 * on the fly by the process's one archive reader.
 */
export async function archiveReplayRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const auditor = { roles: ['auditor'] } as const;
  const { grants, media, recordings } = ctx.replay;

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
        const { caseId, replay } = await openReplay(client, { pii: ctx.pii, grants }, request.params.id, principal.username);
        await audit({ object: { type: 'recording', id: replay.recordingId }, details: { caseId, expiresAt: replay.expiresAt } });
        return replay;
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
      const { rec, media: files } = await recordings.get(id);
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
}
