import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { AppError } from '../http/errors.js';
import type { ExportRow } from '../services/export.service.js';
import { ExportRequestedSchema, ExportViewSchema, type ExportView } from '../archive-api-types.js';
import { AuditText, authErrors, ErrorResponse, IdParams } from './schemas.js';

const ExportBody = Type.Object({ reason: AuditText(3, 500) }, { additionalProperties: false });
function view(e: ExportRow): ExportView {
  return {
    id: e.id,
    recordingId: e.recording_id,
    requestedBy: e.requested_by,
    status: e.status,
    progress: e.progress,
    failureReason: e.failure_reason,
    sha256: e.sha256?.toString('hex') ?? null,
    bytes: e.bytes === null ? null : Number(e.bytes),
    createdAt: e.created_at.toISOString(),
    finishedAt: e.finished_at?.toISOString() ?? null,
  };
}

/**
 * Signed composite exports of sealed recordings (auditors only: an export is the whole decrypted video): request with a
 * reason, follow the job's progress, download the MP4 and its detached CMS signature. An export belongs to the auditor
 * who requested it; to anybody else it does not exist. Every request and download is audited.
 */
export async function exportRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const access = { roles: ['auditor'] } as const;
  const exports = ctx.exports;
  const subject = (request: FastifyRequest): string => {
    const principal = request.principal;
    if (!principal) throw new AppError('UNAUTHENTICATED');
    return principal.subject;
  };
  const doneExport = (request: FastifyRequest, id: string) => exports.done(id, subject(request));

  /** Options of the routes that hand out a finished export's parts (each download audited). */
  const download = (summary: string) => ({
    config: { access, audit: 'recording.export_download' },
    schema: {
      tags: ['exports'],
      summary,
      params: IdParams,
      response: { 200: Type.Unsafe({ type: 'string', format: 'binary' }), 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, ...authErrors },
    },
  });
  const auditDownload = (request: FastifyRequest, e: ExportRow, details: Record<string, string>) =>
    auditedTransaction(ctx.pool, ctx.audit, request, async (_client, audit) => {
      await audit({ object: { type: 'recording', id: e.recording_id }, reason: e.reason, details: { exportId: e.id, ...details } });
    });

  r.post(
    '/api/recordings/:id/exports',
    {
      config: { access, audit: 'recording.export_requested' },
      schema: {
        tags: ['exports'],
        summary: 'Request a signed composite MP4 of a sealed recording (both parties side by side), with a reason; audited',
        params: IdParams,
        body: ExportBody,
        response: { 202: ExportRequestedSchema, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, ...authErrors },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      const reason = request.body.reason.trim();
      if (reason.length < 3) throw new AppError('VALIDATION', 'Give a reason.', [{ field: 'reason', code: 'required' }]);
      const row = await auditedTransaction(ctx.pool, ctx.audit, request, async (client, audit) => {
        const { export: e, caseId } = await exports.request(client, { recordingId: request.params.id, requestedBy: principal.username, requesterSubject: principal.subject, reason });
        await audit({ object: { type: 'recording', id: e.recording_id }, reason, details: { caseId, exportId: e.id } });
        return e;
      });
      exports.wake();
      return reply.code(202).send({ id: row.id, status: row.status });
    },
  );

  r.get(
    '/api/exports/:id',
    {
      config: { access },
      schema: {
        tags: ['exports'],
        summary: "An export's status and progress (the requester's own)",
        params: IdParams,
        response: { 200: ExportViewSchema, 400: ErrorResponse, 404: ErrorResponse, ...authErrors },
      },
    },
    async (request) => view(await exports.own(request.params.id, subject(request))),
  );

  r.get('/api/exports/:id/file', download('The composite MP4 of a finished export (decrypted as it is sent); audited'), async (request, reply) => {
    const e = await doneExport(request, request.params.id);
    const reader = await exports.openPart(e, 'file');
    let body: AsyncIterable<Buffer>;
    try {
      if (reader.plaintextSize !== Number(e.bytes)) throw new Error(`export ${e.id}: sealed size differs from the recorded one`);
      await auditDownload(request, e, { part: 'file', sha256: e.sha256!.toString('hex') });
      body = reader.readRange(0, reader.plaintextSize - 1);
    } finally {
      // closes once the file has been read (or at once when nothing will be)
      reader.close().catch((err: unknown) => request.log.warn({ err }, 'export reader did not close'));
    }
    return reply
      .header('content-type', 'video/mp4')
      .header('content-length', String(reader.plaintextSize))
      .header('content-disposition', `attachment; filename="export-${e.id}.mp4"`)
      .send(Readable.from(body, { objectMode: false, highWaterMark: 1 << 20 }));
  });

  r.get(
    '/api/exports/:id/signature',
    download("The export's detached CMS signature (DER; check with openssl cms -verify -purpose any against the appliance CA); audited"),
    async (request, reply) => {
      const e = await doneExport(request, request.params.id);
      await auditDownload(request, e, { part: 'signature' });
      return reply.header('content-type', 'application/pkcs7-signature').header('content-disposition', `attachment; filename="export-${e.id}.mp4.p7s"`).send(e.signature);
    },
  );

  r.get(
    '/api/exports/:id/evidence',
    download(
      "The export's evidence file: the identity stills (ID sides, face frames, liveness key frames) with their SHA-256 as sealed in the recording's manifest, the video's and the manifest's hashes (canonical JSON); audited",
    ),
    async (request, reply) => {
      const e = await doneExport(request, request.params.id);
      const reader = await exports.openPart(e, 'evidence');
      const parts: Buffer[] = [];
      try {
        for await (const part of reader.readRange(0, reader.plaintextSize - 1)) parts.push(part);
      } finally {
        await reader.close();
      }
      const body = Buffer.concat(parts);
      await auditDownload(request, e, { part: 'evidence' });
      return reply.header('content-type', 'application/json').header('content-disposition', `attachment; filename="export-${e.id}.evidence.json"`).send(body);
    },
  );

  r.get(
    '/api/exports/:id/evidence/signature',
    download("The evidence file's detached CMS signature (DER; openssl cms -verify -purpose any against the appliance CA); audited"),
    async (request, reply) => {
      const e = await doneExport(request, request.params.id);
      const sig = await exports.evidenceSignature(e);
      await auditDownload(request, e, { part: 'evidence-signature' });
      return reply.header('content-type', 'application/pkcs7-signature').header('content-disposition', `attachment; filename="export-${e.id}.evidence.json.p7s"`).send(sig);
    },
  );
}
