// The signaling WebSocket route. Register it on an app that has @fastify/websocket; it authenticates the
// upgrade request through the app's own authenticate() and hands the socket to the SignalingHub.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
// For the `websocket: true` route option and handler types (the app registers the plugin itself).
import type {} from '@fastify/websocket';
import { CLOSE_CODES, SIGNALING_ERRORS, SIGNALING_LIMITS, SIGNALING_PATH } from './protocol.js';
import type { SignalingHub, SignalingIdentity } from './signaling-hub.js';

export type { ChatEntry, SignalingEvent, StoredChat, SignalingEventType, SignalingHubOptions, SignalingIdentity } from './signaling-hub.js';
export { SignalingHub } from './signaling-hub.js';

export interface SignalingRouteOptions {
  hub: SignalingHub;
  /** The teller's session or the customer's invitation, from the upgrade request; null = not allowed. */
  authenticate(request: FastifyRequest): Promise<SignalingIdentity | null>;
  /**
   * Origins allowed to open the socket (e.g. the appliance's public origin). Browsers send cookies with
   * cross-site WebSocket handshakes, so a teller's session must not be usable from another site's page.
   * null = no check (non-browser clients only).
   */
  allowedOrigins: readonly string[] | null;
  /** default /api/signaling */
  path?: string;
  /** merged into the route's config (e.g. the app's access policy) */
  routeConfig?: Record<string, unknown>;
}

/**
 * Options for @fastify/websocket: frames above SIGNALING_LIMITS.maxMessageBytes get an error frame from the
 * hub; frames above this are cut off by the WebSocket server itself (close 1009) before being buffered.
 */
export const SIGNALING_WEBSOCKET_OPTIONS = { maxPayload: 4 * SIGNALING_LIMITS.maxMessageBytes } as const;

type Verdict = { identity: SignalingIdentity } | { refuse: 'origin' | 'unauthenticated' };

export const signalingRoutes: FastifyPluginAsync<SignalingRouteOptions> = async (app, opts) => {
  const verdicts = new WeakMap<FastifyRequest, Verdict>();
  app.route({
    method: 'GET',
    url: opts.path ?? SIGNALING_PATH,
    websocket: true,
    config: { ...(opts.routeConfig ?? {}) },
    schema: { hide: true },
    // Authentication runs before the upgrade; a refused socket is still upgraded so that the browser
    // learns why (an error frame and a 44xx close code) and stops reconnecting.
    preValidation: async (request) => {
      const origin = request.headers.origin;
      if (opts.allowedOrigins && !(typeof origin === 'string' && opts.allowedOrigins.includes(origin))) {
        verdicts.set(request, { refuse: 'origin' });
        return;
      }
      let identity: SignalingIdentity | null = null;
      try {
        identity = await opts.authenticate(request);
      } catch (err) {
        request.log.error({ err }, 'signaling authentication failed');
      }
      verdicts.set(request, identity ? { identity } : { refuse: 'unauthenticated' });
    },
    handler: (socket, request) => {
      const verdict = verdicts.get(request);
      if (verdict && 'identity' in verdict) {
        opts.hub.attach(socket, verdict.identity, request.ip);
        return;
      }
      const origin = verdict?.refuse === 'origin';
      socket.send(
        JSON.stringify({
          type: 'error',
          code: origin ? SIGNALING_ERRORS.FORBIDDEN_ORIGIN : SIGNALING_ERRORS.UNAUTHENTICATED,
          message: origin ? 'this origin may not open the call' : 'sign in or open your invitation link again',
        }),
      );
      socket.close(origin ? CLOSE_CODES.FORBIDDEN : CLOSE_CODES.UNAUTHENTICATED, origin ? 'forbidden origin' : 'unauthenticated');
    },
  });
};
