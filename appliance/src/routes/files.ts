import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import multipart from '@fastify/multipart';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { MAX_FILE_BYTES, sniffFileType } from '../domain/file-types.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { AppError } from '../http/errors.js';
import { callerOf } from '../http/auth.js';
import { resolveSessionParty } from '../services/session-access.js';
import { CallFileListSchema, CallFileSchema } from '../api-types.js';
import { SessionFiles } from '../services/session-files.js';
import { authErrors, ErrorResponse, IdParams } from './schemas.js';

const InvitationQuery = Type.Object({ invitation: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' })) }, { additionalProperties: false });
const errors = { 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse, ...authErrors };

/** Images and PDFs exchanged during a session: checked by content, stored encrypted with the case, audited. */
export async function fileRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  await app.register(multipart, { limits: { fileSize: MAX_FILE_BYTES, files: 1, fields: 0, parts: 1, headerPairs: 50 } });
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const access = { roles: ['teller', 'auditor'] as const, invitation: true as const };
  const files = new SessionFiles(ctx.pii);

  r.post(
    '/api/sessions/:id/files',
    {
      config: { access: { roles: ['teller'], invitation: true }, audit: 'file.upload' },
      schema: {
        tags: ['live'],
        summary: 'Send an image or PDF in the session (teller, or the customer with ?invitation=)',
        consumes: ['multipart/form-data'],
        params: IdParams,
        querystring: InvitationQuery,
        response: { 201: CallFileSchema, ...errors },
      },
    },
    async (request, reply) => {
      const who = await resolveSessionParty(ctx.pool, ctx.invitations, callerOf(request), request.params.id, 'write');
      if (who.party === 'auditor' || who.session.state !== 'live') throw new AppError('CONFLICT', 'Files can only be sent during the session.');
      if (!request.isMultipart()) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the file as multipart/form-data.');
      const part = await request.file();
      if (!part) throw new AppError('VALIDATION', 'No file in the request.', [{ field: 'file', code: 'required' }]);
      const content = await part.toBuffer().catch((err: { code?: string }) => {
        if (err.code === 'FST_REQ_FILE_TOO_LARGE') throw new AppError('BODY_TOO_LARGE', `Files may be at most ${MAX_FILE_BYTES / 1024 / 1024} MB.`);
        throw err;
      });
      const type = sniffFileType(content.subarray(0, 16));
      if (!type) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Only PNG, JPEG, WebP images and PDF documents can be sent.');
      if (content.length === 0) throw new AppError('VALIDATION', 'The file is empty.', [{ field: 'file', code: 'empty' }]);
      const party = who.party;
      const view = await auditedTransaction(
        ctx.pool,
        ctx.audit,
        request,
        (client, audit) => files.store(client, audit, who.session, party, { filename: part.filename, mediaType: type, content }),
        who.actor,
      );
      return reply.code(201).send(view);
    },
  );

  r.get(
    '/api/sessions/:id/files',
    {
      config: { access },
      schema: {
        tags: ['live'],
        summary: "The session's files",
        params: IdParams,
        querystring: InvitationQuery,
        response: { 200: CallFileListSchema, ...errors },
      },
    },
    async (request) => {
      const who = await resolveSessionParty(ctx.pool, ctx.invitations, callerOf(request), request.params.id, 'read');
      return { items: await files.listOfSession(ctx.pool, who.session.id) };
    },
  );

  r.get(
    '/api/files/:id',
    {
      config: { access, audit: 'file.download' },
      schema: {
        tags: ['live'],
        summary: "Download a file (its session's parties, or an auditor); audited",
        params: IdParams,
        querystring: InvitationQuery,
        response: { 200: Type.Unsafe({ type: 'string', format: 'binary' }), ...errors },
      },
    },
    async (request, reply) => {
      const file = await files.find(ctx.pool, request.params.id);
      if (!file?.session_id) throw new AppError('NOT_FOUND', 'No such file.');
      const enc = file.content_enc;
      const who = await resolveSessionParty(ctx.pool, ctx.invitations, callerOf(request), file.session_id, 'read').catch(() => {
        throw new AppError('NOT_FOUND', 'No such file.');
      });
      const content = await auditedTransaction(
        ctx.pool,
        ctx.audit,
        request,
        async (_client, audit) => {
          await audit({ object: { type: 'file', id: file.id }, details: { caseId: file.case_id, party: who.party } });
          if (!enc) throw new AppError('SHREDDED');
          return files.open(file.id, enc);
        },
        who.actor,
      );
      // Served as a download in a sandbox: never rendered as a page of this origin.
      return reply
        .header('content-type', file.media_type)
        .header('content-disposition', `attachment; filename="${file.name.replace(/[^\x20-\x7e]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(file.name)}`)
        .header('content-security-policy', "sandbox; default-src 'none'")
        .header('x-content-type-options', 'nosniff')
        .send(content);
    },
  );
}
