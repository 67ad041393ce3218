import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { AppError } from '../http/errors.js';
import { RecordingService } from '../services/recording.service.js';
import { authErrors, ErrorResponse } from './schemas.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

const RecordingStatusSchema = Type.Union([Type.Literal('recording'), Type.Literal('processing'), Type.Literal('sealed'), Type.Literal('failed')]);
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const SessionItemSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  state: Type.Union([Type.Literal('live'), Type.Literal('ended')]),
  admittedAt: Type.String({ format: 'date-time' }),
  endedAt: Nullable(Type.String({ format: 'date-time' })),
  endReason: Nullable(Type.String()),
  recording: Type.Object({ id: Nullable(Type.String({ format: 'uuid' })), status: RecordingStatusSchema }),
});

const RecordingViewSchema = Type.Object({
  id: Nullable(Type.String({ format: 'uuid' })),
  sessionId: Type.String({ format: 'uuid' }),
  caseId: Type.String({ format: 'uuid' }),
  status: RecordingStatusSchema,
  progress: Nullable(Type.Number({ minimum: 0, maximum: 1 })),
  step: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  willRetry: Nullable(Type.Boolean()),
  attempts: Type.Integer(),
  complete: Nullable(Type.Boolean()),
  issues: Type.Array(Type.Object({ code: Type.String(), severity: Type.String(), message: Type.String() })),
  sealedAt: Nullable(Type.String({ format: 'date-time' })),
  plaintextRemoved: Type.Boolean(),
  manifestSha256: Nullable(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  parties: Type.Array(
    Type.Object({
      party: Type.Union([Type.Literal('teller'), Type.Literal('customer')]),
      segment: Type.Integer({ minimum: 1 }),
      durationMs: Type.Integer({ minimum: 0 }),
      bytes: Type.Integer({ minimum: 0 }),
      sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    }),
  ),
});

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
        response: { 200: Type.Object({ items: Type.Array(SessionItemSchema) }), 400: ErrorResponse, 404: ErrorResponse, ...authErrors },
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
        response: { 200: RecordingViewSchema, 400: ErrorResponse, 404: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      return service.recordingOfSession(ctx.pool, request.params.id, principal);
    },
  );
}
