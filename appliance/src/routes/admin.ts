import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { AppError } from '../http/errors.js';
import { OpsViewSchema, PipelineRecordingListSchema } from '../api-types.js';
import { RecordingService } from '../services/recording.service.js';
import { AuditText, authErrors, ErrorResponse } from './schemas.js';

const RecordingsQuery = Type.Object({ status: Type.Optional(Type.Union([Type.Literal('failed'), Type.Literal('processing'), Type.Literal('queued')])) }, { additionalProperties: false });

/** A Keycloak user name (its default policy: letters, digits and `._@-`). */
const UsernameParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9._@-]+$' }) }, { additionalProperties: false });

/** The administrator's view of the appliance's pipelines (read only, so not audited), and ending a user's sign-ins. */
export async function adminRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const recordings = new RecordingService();

  r.get(
    '/api/admin/recordings',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        tags: ['admin'],
        summary:
          'Recordings in the seal pipeline, newest first (at most 100): by status, or by default every one not yet sealed or whose plaintext is not yet removed; failed ones carry the reason and whether they will be retried',
        querystring: RecordingsQuery,
        response: { 200: PipelineRecordingListSchema, 400: ErrorResponse, ...authErrors },
      },
    },
    async (request) => ({ items: await recordings.pipeline(ctx.pool, request.query.status ?? null, 100) }),
  );

  r.get(
    '/api/admin/ops',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        tags: ['admin'],
        summary:
          "Operations dashboard: live sessions, recordings in progress, join funnel, call quality (Janus's view of the current calls), seal backlog and failures, disk days left, certificate expiry, audit checkpoint age; an in-memory history (10 s samples, the last hour of this process) and the warnings to act on. No case, customer or media data.",
        response: { 200: OpsViewSchema, ...authErrors },
      },
    },
    async () => ctx.ops.view(),
  );

  r.post(
    '/api/admin/users/:username/sessions/end',
    {
      config: { access: { roles: ['admin'] }, audit: 'admin.user_sessions_end' },
      schema: {
        tags: ['admin'],
        summary: 'End every browser sign-in of a user now (their signaling sockets close); disable the user in the identity provider to keep them out',
        params: UsernameParams,
        body: Type.Object({ reason: AuditText(3, 500) }, { additionalProperties: false }),
        response: { 200: Type.Object({ ended: Type.Integer({ minimum: 1 }) }), 400: ErrorResponse, 404: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const { username } = request.params;
      const ended = await auditedTransaction(ctx.pool, ctx.audit, request, async (client, write) => {
        const hashes = await ctx.signInSessions.endWhere(client, { username });
        // nothing to end (a mistyped name, or a user not signed in here): say so, change and record nothing
        if (hashes.length === 0) throw new AppError('NOT_FOUND', 'This user has no open sign-in on this appliance.');
        await write({ object: { type: 'user', id: username }, reason: request.body.reason, details: { sessions: hashes.length } });
        return hashes;
      });
      ctx.signInSessions.ended(ended);
      return { ended: ended.length };
    },
  );
}
