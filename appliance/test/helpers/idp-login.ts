/**
 * Drives the browser side of an OIDC sign-in with plain HTTP: follows redirects with a cookie jar, fills the
 * Keycloak-style login form (`kc-form-login`, `username`, `password`) and stops at the first redirect back to the
 * relying party (`stopAt`), returning that URL (the callback with code and state).
 */
export async function signInAtIdp(authUrl: string, username: string, password: string, stopAt: string): Promise<URL> {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar.entries()].map(([k, v]) => `${k}=${v}`).join('; ');
  const remember = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair && eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  };
  let url = new URL(authUrl);
  let init: RequestInit = { method: 'GET' };
  for (let hop = 0; hop < 20; hop++) {
    if (url.href.startsWith(stopAt)) return url;
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: cookieHeader() } });
    remember(res);
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url);
      init = { method: 'GET' };
      continue;
    }
    const html = await res.text();
    const form = /<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"/.exec(html);
    if (!form?.[1]) throw new Error(`no login form and no redirect at ${url.pathname} (status ${res.status})`);
    url = new URL(form[1].replace(/&amp;/g, '&'), url);
    init = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username, password }).toString(),
    };
  }
  throw new Error('too many redirects during sign-in');
}

/** The value of cookie `name` in a response's Set-Cookie header(s), or null. */
export function cookieFrom(setCookie: string | string[] | undefined, name: string): string | null {
  const all = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  for (const c of all) {
    const m = new RegExp(`^${name.replace(/[$]/g, '\\$')}=([^;]*)`).exec(c);
    if (m) return m[1] ?? null;
  }
  return null;
}
