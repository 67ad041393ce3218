import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ReadinessSchema } from '../api-types.js';
import type { AppContext, ComponentStatus } from '../app-context.js';

export async function healthRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: { tags: ['health'], summary: 'The process is alive', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );
  r.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Status of each component; 503 when a required one is down',
        response: { 200: ReadinessSchema, 503: ReadinessSchema },
      },
    },
    async (_request, reply) => {
      const results = await Promise.all(
        ctx.probes.map(async (p) => {
          let s: ComponentStatus;
          try {
            s = await p.check();
          } catch {
            s = { status: 'down', detail: 'check failed' };
          }
          return [p.name, { ...s, required: p.required }] as const;
        }),
      );
      const components = Object.fromEntries(results);
      const ready = results.every(([, s]) => !s.required || s.status === 'up');
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', components });
    },
  );
}
