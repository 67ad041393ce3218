import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AppError } from '../http/errors.js';
import { MeSchema } from '../api-types.js';
import { authErrors } from './schemas.js';

export async function meRoutes(app: FastifyInstance): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/api/me',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['identity'],
        summary: 'Who is calling: user name, roles, branch, and for browser sessions the CSRF token to echo in x-csrf-token',
        response: {
          200: MeSchema,
          ...authErrors,
        },
      },
    },
    async (request) => {
      const p = request.principal;
      if (!p) throw new AppError('UNAUTHENTICATED');
      return { username: p.username, roles: p.roles, branch: p.branch, csrfToken: p.csrfToken };
    },
  );
}
