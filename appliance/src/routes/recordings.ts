import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { AppError } from '../http/errors.js';
import { RecordingService } from '../services/recording.service.js';
import { CallRecordingViewSchema, CallListItemSchema } from '../api-types.js';
import { authErrors, ErrorResponse, IdParams } from './schemas.js';

/** Sessions of a case and the state of each session's recording (status page, case timeline). */
export async function recordingRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const service = new RecordingService();

  r.get(
    '/api/cases/:id/sessions',
    {
      config: { access: { roles: ['teller', 'auditor', 'admin'] } },
      schema: {
        tags: ['recordings'],
        summary: "A case's video sessions, oldest first, each with its recording's status",
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(CallListItemSchema) }), 400: ErrorResponse, 404: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      return { items: await service.sessionsOfCase(ctx.pool, request.params.id, principal) };
    },
  );

  r.get(
    '/api/sessions/:id/recording',
    {
      config: { access: { roles: ['teller', 'auditor', 'admin'] } },
      schema: {
        tags: ['recordings'],
        summary: "A session's recording: recording, processing (with progress), sealed (with each party's duration, size and SHA-256) or failed (with the reason)",
        params: IdParams,
        response: { 200: CallRecordingViewSchema, 400: ErrorResponse, 404: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      return service.recordingOfSession(ctx.pool, request.params.id, principal);
    },
  );
}
