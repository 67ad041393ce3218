import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Role } from '../services/oidc.js';

/**
 * Who may call a route. Declared on every route (`config.access`); a route without one is refused at start-up,
 * so access is never granted by omission.
 * - 'public': anyone (health, sign-in endpoints, the UI's static files)
 * - 'authenticated': any signed-in user
 * - { roles }: a signed-in user holding at least one of these roles
 * - { roles, invitation: true }: such a user, or a customer presenting `?invitation=<token>`; the handler then
 *   checks the link and the browser it is bound to
 */
export type Access = 'public' | 'authenticated' | { roles: readonly Role[]; invitation?: true };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /**
     * The audit action a route writes (dotted, e.g. `case.create`). Required on every state-changing route: its
     * transaction does not commit unless the event was written in it. Optional on reads that matter.
     */
    audit?: string;
  }
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function isUnsafeMethod(method: string): boolean {
  return UNSAFE.has(method.toUpperCase());
}

function methods(route: RouteOptions): string[] {
  return (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toUpperCase());
}

export interface RouteRecord {
  method: string;
  url: string;
  access: Access | undefined;
  audit: string | undefined;
}

/**
 * Checks every route as it is registered and keeps a list of them (the authorization-matrix test walks it).
 * Plugin-registered routes (static files, API docs) are declared public by wrapping their registration in
 * `declarePublic`.
 */
export function installRoutePolicy(app: FastifyInstance): RouteRecord[] {
  const seen: { method: string; route: RouteOptions }[] = [];
  const routes: RouteRecord[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of methods(route)) seen.push({ method, route });
  });
  // Checked once all plugins have added their routes (a plugin scope may declare its routes public after us).
  app.addHook('onReady', async () => {
    const problems: string[] = [];
    for (const { method, route } of seen) {
      const config = (route.config ?? {}) as { access?: Access; audit?: string };
      if (!config.access) problems.push(`route ${method} ${route.url} declares no access policy (config.access)`);
      if (isUnsafeMethod(method) && !(typeof config.audit === 'string' && /^[a-z]+(\.[a-z_]+)+$/.test(config.audit))) {
        problems.push(`state-changing route ${method} ${route.url} declares no audit action (config.audit)`);
      }
      routes.push({ method, url: route.url, access: config.access, audit: config.audit });
    }
    if (problems.length > 0) throw new Error(problems.join('; '));
  });
  return routes;
}

/** For plugins whose routes we do not declare ourselves: mark every route they add in this scope as public. */
export function declarePublic(scope: FastifyInstance): void {
  scope.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), access: 'public' } as typeof route.config;
  });
}
