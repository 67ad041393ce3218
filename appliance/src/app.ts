import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import type { AppContext } from './app-context.js';
import { callerOf, installAuth } from './http/auth.js';
import { AppError, handleClientError, handleError, installErrorHandler, notFoundBody } from './http/errors.js';
import { loggerOptions } from './http/logging.js';
import { declarePublic, installRoutePolicy, type RouteRecord } from './http/route-policy.js';
import { installValidators } from './http/validation.js';
import { SIGNALING_WEBSOCKET_OPTIONS, signalingRoutes } from './media/signaling.js';
import { adminRoutes } from './routes/admin.js';
import { archiveRoutes } from './routes/archive.js';
import { authRoutes } from './routes/auth.js';
import { auditRoutes } from './routes/audit.js';
import { caseRoutes } from './routes/cases.js';
import { exportRoutes } from './routes/exports.js';
import { faceRoutes } from './routes/face.js';
import { faceModelRoutes } from './routes/face-models.js';
import { healthRoutes } from './routes/health.js';
import { identityRoutes } from './routes/identity.js';
import { fileRoutes } from './routes/files.js';
import { joinRoutes } from './routes/join.js';
import { kycRoutes } from './routes/kyc.js';
import { productRoutes } from './routes/products.js';
import { callRoutes } from './routes/calls.js';
import { meRoutes } from './routes/me.js';
import { recordingRoutes } from './routes/recordings.js';
import { retentionRoutes } from './routes/retention.js';
import { kbRoutes } from './routes/kb.js';
import { serviceRoutes } from './routes/service.js';

export interface BuildOptions {
  /** HTTPS material; tests use plain inject() and leave it out */
  https?: { cert: string; key: string } | undefined;
  /** override the logger (tests pass false) */
  logger?: FastifyServerOptions['logger'];
  /** folder of the built UI; null = no UI (API only) */
  webRoot: string | null;
}

/** The CSP the built UI satisfies: nothing inline, nothing from another origin. */
export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  // 'wasm-unsafe-eval' lets the browser's face model compile TF.js's WASM binary (served from /models/); it allows
  // no JavaScript eval
  scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:', 'blob:'],
  mediaSrc: ["'self'", 'blob:'],
  connectSrc: ["'self'"],
  fontSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  upgradeInsecureRequests: [],
};

declare module 'fastify' {
  interface FastifyInstance {
    routeRecords: RouteRecord[];
  }
}

export async function buildApp(ctx: AppContext, opts: BuildOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? loggerOptions(ctx.config.logLevel),
    ...(opts.https ? { https: { cert: opts.https.cert, key: opts.https.key } } : {}),
    bodyLimit: ctx.config.http.bodyLimitBytes,
    trustProxy: ctx.config.http.trustProxy,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    frameworkErrors: (err, request, reply) => void handleError(err, request, reply),
    clientErrorHandler: handleClientError,
  });
  app.decorate('routeRecords', installRoutePolicy(app));
  installValidators(app);
  // The API speaks JSON only: anything else is 415, not a string body that fails validation later.
  app.removeContentTypeParser('text/plain');
  // JSON bodies must be valid UTF-8: the default parser decodes stray bytes to U+FFFD and would accept them.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    if (!isUtf8(body as Buffer)) {
      done(new AppError('MALFORMED_BODY', 'The request body is not valid UTF-8.'), undefined);
      return;
    }
    void parseJson(request, (body as Buffer).toString('utf8'), done);
  });
  installErrorHandler(app);
  const serviceFrameAncestors = ctx.config.service.frameAncestors;
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // The customer's /service page, and the join page an accepted visit continues on inside the same frame, may be
    // embedded by the origins configured (KYC_SERVICE_FRAME_ANCESTORS); every other page keeps frame-ancestors 'none'.
    if (serviceFrameAncestors.length > 0 && /^\/(service\/?|join\/[A-Za-z0-9_-]{43})(\?|$)/.test(request.url)) {
      const csp = reply.getHeader('content-security-policy');
      if (typeof csp === 'string') reply.header('content-security-policy', csp.replace("frame-ancestors 'none'", `frame-ancestors ${serviceFrameAncestors.join(' ')}`));
      reply.removeHeader('x-frame-options');
    }
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });

  await app.register(cookie);
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  await app.register(rateLimit, { global: false });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'KYC appliance API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(async (scope) => {
    declarePublic(scope);
    await scope.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
  });
  app.get('/api/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());

  installAuth(app, {
    oidc: ctx.oidc,
    signInSessions: ctx.signInSessions,
    sessionKey: ctx.sessionKey,
    publicOrigin: ctx.config.publicUrl.origin,
  });

  await app.register(healthRoutes, ctx);
  await app.register(meRoutes);
  await app.register(authRoutes, ctx);
  await app.register(caseRoutes, ctx);
  await app.register(callRoutes, ctx);
  await app.register(joinRoutes, ctx);
  await app.register(fileRoutes, ctx);
  await app.register(faceRoutes, ctx);
  await app.register(faceModelRoutes, ctx);
  await app.register(productRoutes, ctx);
  await app.register(kycRoutes, ctx);
  await app.register(identityRoutes, ctx);
  await app.register(auditRoutes, ctx);
  if (ctx.live) {
    const live = ctx.live;
    await app.register(websocket, { options: SIGNALING_WEBSOCKET_OPTIONS });
    await app.register(signalingRoutes, {
      hub: live.hub,
      authenticate: (request) => live.authenticate(callerOf(request)),
      allowedOrigins: [ctx.config.publicUrl.origin],
      // Who may connect is decided per socket by authenticate(): a teller's own live session or the invited customer.
      routeConfig: { access: 'public' },
    });
  }
  await app.register(recordingRoutes, ctx);
  await app.register(retentionRoutes, ctx);
  await app.register(archiveRoutes, ctx);
  await app.register(exportRoutes, ctx);
  await app.register(adminRoutes, ctx);
  await app.register(serviceRoutes, ctx);
  await app.register(kbRoutes, ctx);

  const indexHtml = opts.webRoot && existsSync(join(opts.webRoot, 'index.html')) ? readFileSync(join(opts.webRoot, 'index.html')) : null;
  if (opts.webRoot && indexHtml) {
    const root = opts.webRoot;
    await app.register(async (scope) => {
      declarePublic(scope);
      await scope.register(fastifyStatic, {
        root,
        wildcard: false,
        index: false,
        cacheControl: false,
        setHeaders(reply, path) {
          reply.header('cache-control', path.includes('/_app/immutable/') ? 'public, max-age=31536000, immutable' : 'no-cache');
        },
      });
    });
  }
  // The UI is a single-page app: any other GET for a page (not the API) gets its shell.
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const isPage = request.method === 'GET' && !/^\/(api|auth|docs)(\/|$)/.test(path) && (request.headers.accept ?? '').includes('text/html');
    if (indexHtml && isPage) return reply.code(200).type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(indexHtml);
    return reply.code(404).send(notFoundBody());
  });
  return app;
}
