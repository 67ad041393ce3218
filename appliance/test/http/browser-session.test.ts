import t from 'tap';
import { newCaseBody, startTestAppliance } from '../helpers/appliance.js';
import { cookieFrom, signInAtIdp } from '../helpers/idp-login.js';

t.test('browser sign-in: authorization code + PKCE, server-side session, CSRF, sign-out', async (t) => {
  const a = await startTestAppliance(t);
  const login = await a.app.inject({ method: 'GET', url: '/auth/login?returnTo=/cases/new' });
  t.equal(login.statusCode, 302);
  const authUrl = new URL(String(login.headers.location));
  t.equal(authUrl.origin + authUrl.pathname, `${a.idp.issuer}/protocol/openid-connect/auth`);
  t.equal(authUrl.searchParams.get('code_challenge_method'), 'S256');
  t.ok(authUrl.searchParams.get('code_challenge'));
  const loginCookie = cookieFrom(login.headers['set-cookie'], '__Host-kyc_login');
  t.ok(loginCookie, 'pending sign-in bound to the browser');
  t.match(String(login.headers['set-cookie']), /HttpOnly/);
  t.match(String(login.headers['set-cookie']), /Secure/);
  t.match(String(login.headers['set-cookie']), /SameSite=Lax/);

  const callback = await signInAtIdp(authUrl.href, 'teller1', 'teller1', a.baseUrl);
  t.equal(callback.pathname, '/auth/callback');

  const planted = await a.app.inject({ method: 'GET', url: callback.pathname + callback.search });
  t.equal(planted.statusCode, 400, 'a callback without the browser binding is refused');
  t.equal(planted.json().error.code, 'KYC_ERR_LOGIN_FAILED');

  // The planted attempt did not consume the state: the real browser still completes.
  const done = await a.app.inject({ method: 'GET', url: callback.pathname + callback.search, cookies: { '__Host-kyc_login': loginCookie ?? '' } });
  t.equal(done.statusCode, 302);
  t.equal(done.headers.location, '/cases/new', 'back where the user started');
  const session = cookieFrom(done.headers['set-cookie'], '__Host-kyc_session');
  t.ok(session, 'session cookie set');
  t.match(String(done.headers['set-cookie']), /__Host-kyc_session=[^;]+;.*HttpOnly/);

  const replay = await a.app.inject({ method: 'GET', url: callback.pathname + callback.search, cookies: { '__Host-kyc_login': loginCookie ?? '' } });
  t.equal(replay.statusCode, 400, 'a callback works once');

  const cookies = { '__Host-kyc_session': session ?? '' };
  const me = await a.app.inject({ method: 'GET', url: '/api/me', cookies });
  t.equal(me.statusCode, 200);
  t.equal(me.json().username, 'teller1');
  const csrf = me.json().csrfToken as string;
  t.ok(csrf, 'CSRF token for the session');

  const noCsrf = await a.app.inject({ method: 'POST', url: '/api/cases', cookies, payload: newCaseBody() });
  t.equal(noCsrf.statusCode, 403);
  t.equal(noCsrf.json().error.code, 'KYC_ERR_CSRF');
  const foreign = await a.app.inject({
    method: 'POST',
    url: '/api/cases',
    cookies,
    headers: { 'x-csrf-token': csrf, origin: 'https://evil.example' },
    payload: newCaseBody(),
  });
  t.equal(foreign.statusCode, 403, 'another origin is refused even with the token');
  const ok = await a.app.inject({
    method: 'POST',
    url: '/api/cases',
    cookies,
    headers: { 'x-csrf-token': csrf, origin: a.baseUrl },
    payload: newCaseBody(),
  });
  t.equal(ok.statusCode, 201);

  const logout = await a.app.inject({ method: 'POST', url: '/auth/logout', cookies, headers: { 'x-csrf-token': csrf } });
  t.equal(logout.statusCode, 200);
  const end = new URL(logout.json().redirectTo);
  t.equal(end.origin + end.pathname, `${a.idp.issuer}/protocol/openid-connect/logout`);
  t.ok(end.searchParams.get('id_token_hint'), 'Keycloak session ended with the ID token hint');
  t.equal(end.searchParams.get('post_logout_redirect_uri'), `${a.baseUrl}/`);
  const after = await a.app.inject({ method: 'GET', url: '/api/me', cookies });
  t.equal(after.statusCode, 401, 'the session is gone');

  const events = await a.auditEvents();
  t.ok(
    events.some((e) => e.action === 'auth.login' && e.result === 'success' && e.actor.username === 'teller1'),
    'sign-in audited',
  );
  t.ok(
    events.some((e) => e.action === 'auth.login' && e.result === 'failure'),
    'failed sign-in audited',
  );
  t.ok(
    events.some((e) => e.action === 'auth.logout' && e.actor.username === 'teller1'),
    'sign-out audited',
  );
  t.ok(
    events.some((e) => e.action === 'case.create' && e.actor.auth === 'session'),
    'case created through the session',
  );
});

t.test('a real sign-in through the identity provider never returns the browser to another origin (/%09/evil.example and friends)', async (t) => {
  const a = await startTestAppliance(t);
  for (const payload of ['/%09/evil.example', '/%09%09/evil.example', '/%0d%0a/evil.example', '/%5C%09evil.example', '/.//evil.example']) {
    const login = await a.app.inject({ method: 'GET', url: `/auth/login?returnTo=${payload}` });
    t.equal(login.statusCode, 302, payload);
    const loginCookie = cookieFrom(login.headers['set-cookie'], '__Host-kyc_login');
    const callback = await signInAtIdp(String(login.headers.location), 'teller1', 'teller1', a.baseUrl);
    const done = await a.app.inject({ method: 'GET', url: callback.pathname + callback.search, cookies: { '__Host-kyc_login': loginCookie ?? '' } });
    t.equal(done.statusCode, 302, `${payload}: signed in`);
    const location = String(done.headers.location);
    // What a browser does with the Location header: resolve it against the callback URL.
    const landing = new URL(location, `${a.baseUrl}${callback.pathname}${callback.search}`);
    t.equal(landing.origin, new URL(a.baseUrl).origin, `${payload}: Location ${JSON.stringify(location)} stays on the appliance`);
  }
});
