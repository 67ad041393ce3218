import t from 'tap';
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/server.js';
import { APPLIANCE_CLIENT_ID, CLI_CLIENT_ID, DEV_APPLIANCE_URL, realmDefinition } from '../../src/dev-idp/realm.js';

const CALLBACK = `${DEV_APPLIANCE_URL}/auth/callback`;
const POST_LOGOUT = `${DEV_APPLIANCE_URL}/`;
const clientSecret = randomBytes(32).toString('base64url');

const idp: DevIdp = await startDevIdp({ port: 0, publicBaseUrl: DEV_APPLIANCE_URL, clientSecret });
t.teardown(() => idp.close());

const discoveryUrl = `${idp.issuer}/.well-known/openid-configuration`;
const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/protocol/openid-connect/certs`));

async function passwordGrant(username: string, password: string, scope?: string): Promise<Response> {
  return fetch(`${idp.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: CLI_CLIENT_ID, username, password, ...(scope ? { scope } : {}) }),
  });
}

/** How the appliance will check a bearer token: realm JWKS, issuer, its own client id as audience, RS256. */
async function verifyAccessToken(token: string): Promise<JWTPayload & Record<string, unknown>> {
  const { payload } = await jwtVerify(token, jwks, { issuer: idp.issuer, audience: APPLIANCE_CLIENT_ID, algorithms: ['RS256'] });
  return payload as JWTPayload & Record<string, unknown>;
}

/** A minimal browser: follows nothing by itself, keeps cookies (one host, so paths are not told apart). */
class Browser {
  readonly cookies = new Map<string, string>();

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** GET `url` and follow redirects until one leaves the IdP (returned) or a page is served (returned). */
  async navigate(url: string, init: { form?: Record<string, string> } = {}): Promise<{ url: string; res: Response }> {
    let res = await this.request(url, init);
    let current = url;
    for (let hops = 0; res.status >= 300 && res.status < 400; hops += 1) {
      if (hops > 10) throw new Error('redirect loop');
      current = new URL(res.headers.get('location') ?? '', current).href;
      if (!current.startsWith(idp.issuer)) return { url: current, res };
      res = await this.request(current);
    }
    return { url: current, res };
  }
}

/** The error a promise rejects with; a promise that fulfils is itself a failure here. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => new Error('expected a rejection'),
    (err: unknown) => err,
  );
}

function unescapeHtml(s: string): string {
  return s.replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code))).replace(/&amp;/g, '&');
}

function loginForm(html: string): { action: string } {
  const form = /<form id="kc-form-login" action="([^"]+)" method="post"/.exec(html);
  if (!form?.[1]) throw new Error(`no login form in: ${html.slice(0, 500)}`);
  return { action: unescapeHtml(form[1]) };
}

async function appliance(): Promise<client.Configuration> {
  return client.discovery(new URL(idp.issuer), APPLIANCE_CLIENT_ID, clientSecret, undefined, {
    execute: [client.allowInsecureRequests],
  });
}

async function authorizationRequest(config: client.Configuration) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  return { url: url.href, verifier, state };
}

/** Authorization request → login page → form post → back at the appliance's callback with a code. */
async function signIn(browser: Browser, config: client.Configuration, username: string, password = username) {
  const req = await authorizationRequest(config);
  const page = await browser.navigate(req.url);
  if (page.res.status !== 200) throw new Error(`expected the login page, got ${page.res.status} at ${page.url}`);
  const { action } = loginForm(await page.res.text());
  const done = await browser.navigate(new URL(action, page.url).href, { form: { username, password, login: 'Sign In' } });
  return { ...req, callback: done.url };
}

t.test('discovery document at the Keycloak path, with Keycloak endpoint URLs', async (t) => {
  t.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+\/realms\/kyc$/);
  const res = await fetch(discoveryUrl);
  t.equal(res.status, 200);
  const doc = (await res.json()) as Record<string, unknown>;
  const oidc = `${idp.issuer}/protocol/openid-connect`;
  t.match(doc, {
    issuer: idp.issuer,
    authorization_endpoint: `${oidc}/auth`,
    token_endpoint: `${oidc}/token`,
    jwks_uri: `${oidc}/certs`,
    userinfo_endpoint: `${oidc}/userinfo`,
    end_session_endpoint: `${oidc}/logout`,
    revocation_endpoint: `${oidc}/revoke`,
    code_challenge_methods_supported: ['S256'],
  });
  t.ok((doc.grant_types_supported as string[]).includes('password'), 'direct-access grant advertised');
  const certs = (await (await fetch(`${oidc}/certs`)).json()) as { keys: Record<string, unknown>[] };
  t.ok(certs.keys.length > 0 && certs.keys.every((k) => k.kty === 'RSA' && k.alg === 'RS256' && typeof k.kid === 'string' && !('d' in k)), 'public RS256 keys with kid, no private members');
});

t.test('password grant: each user gets a Keycloak-shaped JWT with their roles', async (t) => {
  const realm = realmDefinition({ applianceUrl: DEV_APPLIANCE_URL });
  for (const user of realm.users) {
    const res = await passwordGrant(user.username, user.password);
    t.equal(res.status, 200, `${user.username}: 200`);
    const body = (await res.json()) as Record<string, unknown>;
    t.equal(body.token_type, 'Bearer');
    t.equal(body.expires_in, 300, 'Keycloak default access token lifespan');
    t.type(body.refresh_token, 'string');
    t.equal(body.id_token, undefined, 'no ID token without scope openid');
    const token = body.access_token as string;
    t.match(decodeProtectedHeader(token), { alg: 'RS256', typ: 'JWT', kid: String });
    const claims = await verifyAccessToken(token);
    const realmAccess = claims.realm_access as { roles: string[] };
    t.same(
      realmAccess.roles.filter((r) => ['teller', 'auditor', 'admin'].includes(r)),
      [...user.roles],
      `${user.username}: roles`,
    );
    t.match(claims, {
      sub: user.id,
      typ: 'Bearer',
      azp: CLI_CLIENT_ID,
      preferred_username: user.username,
      email: user.email,
      exp: Number,
    });
    t.ok(Array.isArray(claims.aud) && claims.aud.includes(APPLIANCE_CLIENT_ID), 'aud includes kyc-appliance');
  }
});

t.test('password grant with scope openid also returns an ID token for kyc-cli; userinfo answers for the token', async (t) => {
  const res = await passwordGrant('teller2', 'teller2', 'openid');
  const body = (await res.json()) as Record<string, string>;
  const { payload: id } = await jwtVerify(body.id_token ?? '', jwks, { issuer: idp.issuer, audience: CLI_CLIENT_ID });
  t.match(id, { sub: realmDefinition({ applianceUrl: DEV_APPLIANCE_URL }).users[1]?.id, preferred_username: 'teller2', typ: 'ID', at_hash: String });

  const info = await fetch(`${idp.issuer}/protocol/openid-connect/userinfo`, { headers: { authorization: `Bearer ${body.access_token}` } });
  t.equal(info.status, 200);
  t.match(await info.json(), { sub: id.sub, preferred_username: 'teller2', email: 'teller2@kyc.example' });

  const forged = `${body.access_token?.slice(0, -4)}AAAA`;
  const bad = await fetch(`${idp.issuer}/protocol/openid-connect/userinfo`, { headers: { authorization: `Bearer ${forged}` } });
  t.equal(bad.status, 401, 'a token with a broken signature is refused');
  t.match(bad.headers.get('www-authenticate'), /invalid_token/);
});

t.test('password grant: wrong password or unknown user → 401 invalid_grant', async (t) => {
  for (const [username, password] of [
    ['teller1', 'teller2'],
    ['nobody', 'nobody'],
    ['teller1', ''],
  ]) {
    const res = await passwordGrant(username ?? '', password ?? '');
    const body = (await res.json()) as Record<string, string>;
    if (password === '') {
      t.equal(res.status, 400, 'missing password is a malformed request');
      t.equal(body.error, 'invalid_request');
    } else {
      t.equal(res.status, 401, `${username}/${password}: 401`);
      t.same(body, { error: 'invalid_grant', error_description: 'Invalid user credentials' });
    }
  }
});

t.test('refresh token from the password grant gives a new access token with the same roles', async (t) => {
  const first = (await (await passwordGrant('auditor1', 'auditor1')).json()) as Record<string, string>;
  const res = await fetch(`${idp.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: CLI_CLIENT_ID, refresh_token: first.refresh_token ?? '' }),
  });
  t.equal(res.status, 200);
  const body = (await res.json()) as Record<string, string>;
  const claims = await verifyAccessToken(body.access_token ?? '');
  t.ok((claims.realm_access as { roles: string[] }).roles.includes('auditor'));
  t.not(body.access_token, first.access_token);

  const revoked = await fetch(`${idp.issuer}/protocol/openid-connect/revoke`, {
    method: 'POST',
    body: new URLSearchParams({ client_id: CLI_CLIENT_ID, token: body.refresh_token ?? '', token_type_hint: 'refresh_token' }),
  });
  t.equal(revoked.status, 200, "revocation at Keycloak's path");
  const afterRevoke = await fetch(`${idp.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: CLI_CLIENT_ID, refresh_token: body.refresh_token ?? '' }),
  });
  t.equal(afterRevoke.status, 400);
  t.equal(((await afterRevoke.json()) as Record<string, string>).error, 'invalid_grant', 'a revoked refresh token is dead');
});

t.test('the appliance client may not use the password grant', async (t) => {
  const res = await fetch(`${idp.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: APPLIANCE_CLIENT_ID,
      client_secret: clientSecret,
      username: 'admin1',
      password: 'admin1',
    }),
  });
  t.equal(res.status, 400);
  t.notOk(((await res.json()) as Record<string, unknown>).access_token);
});

t.test('authorization code + PKCE through the login form, with openid-client as the relying party', async (t) => {
  const config = await appliance();
  const browser = new Browser();
  const req = await authorizationRequest(config);

  const page = await browser.navigate(req.url);
  t.equal(page.res.status, 200, 'login page shown');
  const html = await page.res.text();
  t.match(html, '<title>Sign in to kyc</title>');
  for (const fragment of ['<form id="kc-form-login"', 'id="username" name="username"', 'id="password" name="password"', 'id="kc-login"']) {
    t.ok(html.includes(fragment), `login page has ${fragment}`);
  }
  const { action } = loginForm(html);

  const failed = await browser.navigate(new URL(action, page.url).href, { form: { username: 'teller1', password: 'wrong' } });
  t.equal(failed.res.status, 200, 'bad credentials: the form again');
  const failedHtml = await failed.res.text();
  t.ok(failedHtml.includes('Invalid username or password.'), "Keycloak's error message");
  t.ok(failedHtml.includes('value="teller1"'), 'username kept');

  const done = await browser.navigate(new URL(action, page.url).href, { form: { username: 'teller1', password: 'teller1' } });
  t.ok(done.url.startsWith(`${CALLBACK}?`), 'back at the appliance callback');
  const callback = new URL(done.url);
  t.equal(callback.searchParams.get('iss'), idp.issuer, 'RFC 9207 iss parameter');

  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: req.verifier, expectedState: req.state });
  const claims = await verifyAccessToken(tokens.access_token);
  t.match(claims, { azp: APPLIANCE_CLIENT_ID, preferred_username: 'teller1', typ: 'Bearer' });
  t.ok((claims.realm_access as { roles: string[] }).roles.includes('teller'));
  const id = tokens.claims();
  t.match(id, { iss: idp.issuer, aud: APPLIANCE_CLIENT_ID, preferred_username: 'teller1', azp: APPLIANCE_CLIENT_ID });
  t.type(tokens.refresh_token, 'string', 'refresh token issued, as Keycloak does');

  const info = await client.fetchUserInfo(config, tokens.access_token, id?.sub ?? '');
  t.equal(info.preferred_username, 'teller1', 'openid-client fetchUserInfo works with the JWT access token');
});

t.test('a code is refused without the right PKCE verifier; an authorization request without PKCE is refused', async (t) => {
  const config = await appliance();
  const browser = new Browser();
  const signed = await signIn(browser, config, 'auditor1');
  t.ok(signed.callback.startsWith(`${CALLBACK}?`));

  const wrongVerifier = await rejection(
    client.authorizationCodeGrant(config, new URL(signed.callback), {
      pkceCodeVerifier: client.randomPKCECodeVerifier(),
      expectedState: signed.state,
    }),
  );
  t.match(wrongVerifier, { error: 'invalid_grant' }, 'wrong verifier: invalid_grant');
  const tokens = await client.authorizationCodeGrant(config, new URL(signed.callback), {
    pkceCodeVerifier: signed.verifier,
    expectedState: signed.state,
  });
  t.ok(tokens.access_token, 'the same code with the right verifier still works, so the verifier was the reason');

  const noPkce = client.buildAuthorizationUrl(config, { redirect_uri: CALLBACK, scope: 'openid', state: 'x' });
  const res = await browser.request(noPkce.href);
  t.equal(res.status, 303);
  const location = new URL(res.headers.get('location') ?? '');
  t.equal(location.origin + location.pathname, CALLBACK);
  t.equal(location.searchParams.get('error'), 'invalid_request');
  t.match(location.searchParams.get('error_description'), /PKCE/);
});

t.test('logout with id_token_hint ends the IdP session: the next sign-in shows the login form again', async (t) => {
  const config = await appliance();
  const browser = new Browser();
  const signed = await signIn(browser, config, 'admin1');
  const tokens = await client.authorizationCodeGrant(config, new URL(signed.callback), {
    pkceCodeVerifier: signed.verifier,
    expectedState: signed.state,
  });

  const sso = await browser.navigate((await authorizationRequest(config)).url);
  t.ok(sso.url.startsWith(`${CALLBACK}?code=`), 'while signed in, a new request goes straight back with a code (SSO)');

  const logoutUrl = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token ?? '', post_logout_redirect_uri: POST_LOGOUT });
  t.equal(logoutUrl.pathname, '/realms/kyc/protocol/openid-connect/logout');
  const confirm = await browser.navigate(logoutUrl.href);
  t.equal(confirm.res.status, 200);
  const html = await confirm.res.text();
  t.ok(html.includes('.submit()'), 'the page submits itself');
  const action = /<form id="op\.logoutForm" method="post" action="([^"]+)">/.exec(html)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  t.ok(action && xsrf, 'logout form with xsrf');
  t.ok(html.includes('name="logout" value="yes"'), 'ends the whole session, not only this client');
  const after = await browser.navigate(new URL(unescapeHtml(action ?? ''), confirm.url).href, { form: { xsrf: xsrf ?? '', logout: 'yes' } });
  t.equal(after.url, POST_LOGOUT, 'redirected to the appliance');

  const again = await browser.navigate((await authorizationRequest(config)).url);
  t.equal(again.res.status, 200, 'login page again');
  t.ok((await again.res.text()).includes('id="kc-form-login"'));

  t.match(await rejection(client.refreshTokenGrant(config, tokens.refresh_token ?? '')), { error: 'invalid_grant' }, 'the refresh token died with the session');
});

t.test('unknown paths and stale login pages', async (t) => {
  const res = await fetch(`${idp.issuer.replace('/realms/kyc', '')}/realms/other/.well-known/openid-configuration`);
  t.equal(res.status, 404);
  const stale = await fetch(`${idp.issuer}/login-actions/authenticate/abc`);
  t.equal(stale.status, 400, 'no interaction cookie: login timed out page');
  t.match(await stale.text(), /Login will start from the beginning/);
});

t.test('bad start options are all reported at once', async (t) => {
  await t.rejects(
    startDevIdp({ port: 70000, host: '0.0.0.0', publicBaseUrl: 'ftp://x', clientSecret: 'short' }),
    /port must be 0\.\.65535.*clientSecret must be a string of at least 16 characters.*host must be an address clients can reach.*absolute http\(s\) URL/,
  );
  await t.rejects(startDevIdp({ port: 0, publicBaseUrl: DEV_APPLIANCE_URL, clientSecret, keys: { keys: [] } }), /keys option: expected a JWKS/);
});
