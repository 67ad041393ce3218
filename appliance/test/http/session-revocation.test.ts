import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';
import { startTestAppliance, type TestAppliance } from '../helpers/appliance.js';
import { ManualClock } from '../helpers/clock.js';
import { cookieFrom, signInAtIdp } from '../helpers/idp-login.js';

/** A real browser sign-in (authorization code + PKCE at the dev IdP); returns the session cookie's value. */
async function signIn(a: TestAppliance, username: string): Promise<string> {
  const login = await a.app.inject({ method: 'GET', url: '/auth/login' });
  const loginCookie = cookieFrom(login.headers['set-cookie'], '__Host-kyc_login') ?? '';
  const callback = await signInAtIdp(String(login.headers.location), username, username, a.baseUrl);
  const done = await a.app.inject({ method: 'GET', url: callback.pathname + callback.search, cookies: { '__Host-kyc_login': loginCookie } });
  const session = cookieFrom(done.headers['set-cookie'], '__Host-kyc_session');
  if (!session) throw new Error(`sign-in failed: ${done.statusCode} ${done.body}`);
  return session;
}

const me = async (a: TestAppliance, session: string) => (await a.app.inject({ method: 'GET', url: '/api/me', cookies: { '__Host-kyc_session': session } })).statusCode;
const idHash = (session: string) => createHash('sha256').update(session).digest();

t.test('revocation reaches the appliance: back-channel logout, re-check with the identity provider, an admin ending sign-ins', async (t) => {
  const clock = new ManualClock();
  const a = await startTestAppliance(t, { listen: true, env: { KYC_SESSION_IDP_RECHECK_SECONDS: '2' }, clock });
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 2 });
  t.teardown(() => pool.end());
  const sidOf = async (session: string) => (await pool.query<{ idp_sid: string | null }>('SELECT idp_sid FROM web_sessions WHERE id_hash = $1', [idHash(session)])).rows[0]?.idp_sid ?? null;

  t.test('back-channel logout ends the session the identity provider names, and only that one', async (t) => {
    const first = await signIn(a, 'teller1');
    const second = await signIn(a, 'teller1');
    const sid = await sidOf(first);
    t.ok(sid, 'the identity provider session id (sid) is kept with the session');
    t.not(sid, await sidOf(second), 'each sign-in has its own');
    t.equal(await me(a, first), 200);
    await a.idp.backchannelLogout('teller1', sid!);
    t.equal(await me(a, first), 401, 'the named session ended at once');
    t.equal(await me(a, second), 200, 'the other sign-in of the same user goes on');
    const events = (await a.auditEvents()).filter((e) => e.action === 'auth.backchannel_logout');
    t.match(events, [{ result: 'success', actor: { username: 'identity-provider' }, details: { sessions: 1 } }], 'audited');
  });

  t.test('a logout token the realm did not sign is refused and ends nothing', async (t) => {
    const session = await signIn(a, 'auditor1');
    const sid = await sidOf(session);
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const kid = (await exportJWK(publicKey)).n!.slice(0, 8);
    const forged = await new SignJWT({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sid, jti: 'forged-1' })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'logout+jwt' })
      .setIssuer(a.idp.issuer)
      .setAudience('kyc-appliance')
      .setIssuedAt()
      .setExpirationTime('2m')
      .setSubject('x')
      .sign(privateKey);
    for (const body of [`logout_token=${forged}`, 'logout_token=not-a-jwt']) {
      const res = await a.app.inject({ method: 'POST', url: '/auth/backchannel-logout', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: body });
      t.equal(res.statusCode, 400, body.slice(0, 30));
      t.equal(res.json().error.code, 'KYC_ERR_LOGOUT_TOKEN_INVALID');
    }
    const res = await a.app.inject({ method: 'POST', url: '/auth/backchannel-logout', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'other=1' });
    t.equal(res.statusCode, 400, 'no logout_token: 400');
    t.equal(await me(a, session), 200, 'the session is untouched');
    t.ok(
      (await a.auditEvents()).some((e) => e.action === 'auth.backchannel_logout' && e.result === 'failure'),
      'the refusal is audited',
    );
  });

  t.test('sessions are re-checked with the identity provider: a revoked sign-in ends within the interval', async (t) => {
    const session = await signIn(a, 'auditor1');
    const checkedAt = async () =>
      (await pool.query<{ idp_checked_at: Date }>('SELECT idp_checked_at FROM web_sessions WHERE id_hash = $1', [idHash(session)])).rows[0]!.idp_checked_at.getTime();
    const signedInAt = await checkedAt();
    clock.advance(1900);
    t.equal(await me(a, session), 200);
    t.equal(await checkedAt(), signedInAt, 'not re-checked before the interval');
    clock.advance(300);
    t.equal(await me(a, session), 200, 'a re-check the realm accepts keeps the session');
    t.equal(await checkedAt(), clock.now(), 'the check was recorded');
    const row = (await pool.query<{ refresh_token_enc: Buffer }>('SELECT refresh_token_enc FROM web_sessions WHERE id_hash = $1', [idHash(session)])).rows[0]!;
    // the realm withdraws the sign-in (as Keycloak does when an admin signs the user out or disables them)
    const refreshToken = a.runtime.ctx.pii.decrypt(idHash(session).toString('base64'), 'refresh_token', row.refresh_token_enc);
    const secret = readFileSync(a.config.oidc.clientSecretFile, 'utf8').trim();
    const revoke = await fetch(`${a.idp.issuer}/protocol/openid-connect/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`kyc-appliance:${secret}`).toString('base64')}` },
      body: new URLSearchParams({ token: refreshToken, token_type_hint: 'refresh_token' }),
    });
    t.equal(revoke.status, 200, 'revoked at the identity provider');
    t.equal(await me(a, session), 200, 'until the next re-check the session goes on');
    clock.advance(2200);
    t.equal(await me(a, session), 401, 'the re-check ends it');
    t.ok(
      (await a.auditEvents()).some((e) => e.action === 'auth.session_revoked' && e.actor.username === 'auditor1'),
      'audited',
    );
  });

  t.test('an ID token of the appliance client is not accepted as an access token', async (t) => {
    const session = await signIn(a, 'auditor1');
    const enc = (await pool.query<{ refresh_token_enc: Buffer }>('SELECT refresh_token_enc FROM web_sessions WHERE id_hash = $1', [idHash(session)])).rows[0]!.refresh_token_enc;
    const refreshToken = a.runtime.ctx.pii.decrypt(idHash(session).toString('base64'), 'refresh_token', enc);
    const secret = readFileSync(a.config.oidc.clientSecretFile, 'utf8').trim();
    const res = await fetch(`${a.idp.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`kyc-appliance:${secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
    });
    const tokens = (await res.json()) as { access_token: string; id_token?: string };
    t.ok(tokens.id_token, 'an ID token whose audience is the appliance client');
    const withToken = (token: string) => a.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } });
    t.equal((await withToken(tokens.access_token)).statusCode, 200, 'the access token works');
    const refused = await withToken(tokens.id_token!);
    t.equal(refused.statusCode, 401, 'the ID token does not');
    t.equal(refused.json().error.code, 'KYC_ERR_UNAUTHENTICATED');
  });

  t.test('an admin ends every sign-in of a user (audited); others may not', async (t) => {
    const one = await signIn(a, 'teller2');
    const two = await signIn(a, 'teller2');
    const bearer = async (u: string) => ({ authorization: `Bearer ${await a.tokenFor(u)}` });
    const url = '/api/admin/users/teller2/sessions/end';
    let res = await a.app.inject({ method: 'POST', url, headers: await bearer('teller1'), payload: { reason: 'left the bank' } });
    t.equal(res.statusCode, 403, 'a teller may not');
    res = await a.app.inject({ method: 'POST', url, headers: await bearer('admin1'), payload: {} });
    t.equal(res.statusCode, 400, 'no reason, nothing ended');
    res = await a.app.inject({ method: 'POST', url: '/api/admin/users/te%20ller/sessions/end', headers: await bearer('admin1'), payload: { reason: 'left the bank' } });
    t.equal(res.statusCode, 400, 'not a user name');
    t.equal(await me(a, one), 200);
    res = await a.app.inject({ method: 'POST', url, headers: await bearer('admin1'), payload: { reason: 'left the bank' } });
    t.equal(res.statusCode, 200, res.body);
    t.same(res.json(), { ended: 2 });
    t.equal(await me(a, one), 401);
    t.equal(await me(a, two), 401);
    res = await a.app.inject({ method: 'POST', url, headers: await bearer('admin1'), payload: { reason: 'left the bank' } });
    t.equal(res.statusCode, 404, 'again: nothing left to end');
    t.equal(res.json().error.code, 'KYC_ERR_NOT_FOUND');
    t.match(
      (await a.auditEvents()).filter((e) => e.action === 'admin.user_sessions_end' && e.result === 'success'),
      [{ actor: { username: 'admin1' }, object: { type: 'user', id: 'teller2' }, reason: 'left the bank', details: { sessions: 2 } }],
    );
  });
});

t.test('an unreachable identity provider: sessions go on within the grace, then fail closed (503) and are kept', async (t) => {
  const clock = new ManualClock();
  const a = await startTestAppliance(t, { listen: true, env: { KYC_SESSION_IDP_RECHECK_SECONDS: '1', KYC_SESSION_IDP_GRACE_SECONDS: '3' }, clock });
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 2 });
  t.teardown(() => pool.end());
  const session = await signIn(a, 'teller1');
  t.equal(await me(a, session), 200);
  await a.idp.close();
  clock.advance(1500);
  t.equal(await me(a, session), 200, 'a re-check is due but the provider is down: within the grace the teller goes on');
  clock.advance(2000);
  t.equal(await me(a, session), 200, 'still within the grace');
  clock.advance(1500);
  const refused = await a.app.inject({ method: 'GET', url: '/api/me', cookies: { '__Host-kyc_session': session } });
  t.equal(refused.statusCode, 503, 'past the grace: refused, not let through');
  t.equal(refused.json().error.code, 'KYC_ERR_UNAVAILABLE');
  t.match(refused.json().error.message, /identity provider is unreachable/);
  const kept = await pool.query('SELECT 1 FROM web_sessions WHERE id_hash = $1', [idHash(session)]);
  t.equal(kept.rowCount, 1, 'the session is kept, to go on when the provider answers again');
});

t.test('bearer tokens only from the clients allowed (azp): another client of the realm is refused', async (t) => {
  const only = await startTestAppliance(t, { env: { KYC_OIDC_BEARER_CLIENTS: 'kyc-appliance' } });
  const cliToken = await only.tokenFor('auditor1'); // obtained by the kyc-cli client of the realm
  const refused = await only.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${cliToken}` } });
  t.equal(refused.statusCode, 401, 'kyc-cli is not in the list: refused');
  t.equal(refused.json().error.code, 'KYC_ERR_UNAUTHENTICATED');
  const both = await startTestAppliance(t);
  t.same(both.config.oidc.bearerClients, ['kyc-appliance', 'kyc-cli'], 'the default: the appliance and the API client');
  t.equal((await both.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${await both.tokenFor('auditor1')}` } })).statusCode, 200);
});
