// The browser's face model (see face/browser-assets.ts): public, like the UI's own scripts — the customer loads it
// before any sign-in, and it holds no one's data. The index is never cached; the files under their content tag are
// immutable. Nothing here is fetched from elsewhere at run time.
import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { AppError } from '../http/errors.js';
import { ErrorResponse } from './schemas.js';

export const BROWSER_MODEL_PREFIX = '/models/';

const ModelIndex = Type.Union([
  Type.Object({
    available: Type.Literal(true),
    base: Type.String(),
    bundle: Type.String(),
    detector: Type.Literal('tiny_face_detector'),
    landmarks: Type.Literal('face_landmark_68'),
  }),
  Type.Object({ available: Type.Literal(false), missing: Type.Array(Type.String()) }),
]);

export async function faceModelRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const assets = ctx.face.browserAssets;
  r.get(
    '/models/index.json',
    {
      config: { access: 'public' },
      schema: { tags: ['face'], summary: "Where the browser's face model is served, or which of its files are missing", response: { 200: ModelIndex } },
    },
    async (_request, reply) => reply.header('cache-control', 'no-cache').send(assets.index(BROWSER_MODEL_PREFIX)),
  );
  r.get(
    '/models/:tag/:file',
    {
      config: { access: 'public' },
      schema: {
        tags: ['face'],
        summary: "A file of the browser's face model (bundle, WASM binary or weights), immutable under its content tag",
        params: Type.Object({ tag: Type.String({ pattern: '^[0-9a-f]{16}$' }), file: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,80}$' }) }),
        response: { 200: Type.Unsafe<NodeJS.ReadableStream>({ type: 'string', format: 'binary' }), 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const asset = assets.file(request.params.tag, request.params.file);
      if (!asset) throw new AppError('NOT_FOUND');
      return reply.header('cache-control', 'public, max-age=31536000, immutable').header('content-length', asset.size).type(asset.contentType).send(createReadStream(asset.path));
    },
  );
}
