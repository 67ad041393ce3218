import type { CookieSerializeOptions } from '@fastify/cookie';

/**
 * The options of the customer's device cookie (the browser an invitation or a service visit is bound to). Where the
 * bank embeds /service in its own site (KYC_SERVICE_FRAME_ANCESTORS set), the cookie must reach the appliance from
 * inside a cross-site frame: SameSite=None, partitioned by the embedding site (CHIPS), so it is never shared with other
 * sites. Otherwise SameSite=Lax, as for every other cookie.
 */
export function deviceCookieOptions(frameAncestors: readonly string[]): CookieSerializeOptions {
  // framing by the appliance's own origin alone ('self') is same-site: Lax serves
  const framed = frameAncestors.some((origin) => origin !== "'self'");
  return framed
    ? { path: '/', httpOnly: true, secure: true, sameSite: 'none', partitioned: true, maxAge: 86_400 }
    : { path: '/', httpOnly: true, secure: true, sameSite: 'lax', maxAge: 86_400 };
}
