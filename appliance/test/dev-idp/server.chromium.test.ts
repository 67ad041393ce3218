import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { launchBrowser } from '../harness/browser.js';
import { startDevIdp } from '../../src/dev-idp/server.js';
import { APPLIANCE_CLIENT_ID, APPLIANCE_CALLBACK_PATH } from '../../src/dev-idp/realm.js';

// A real relying party on its own port, as small as it can be: the dev IdP is under test, not the appliance.
const rp: Server = createServer();
await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => rp.close(() => resolve())));
const rpUrl = `http://127.0.0.1:${(rp.address() as AddressInfo).port}`;

const clientSecret = randomBytes(32).toString('base64url');
const idp = await startDevIdp({ port: 0, publicBaseUrl: rpUrl, clientSecret });
t.teardown(() => idp.close());
const config = await client.discovery(new URL(idp.issuer), APPLIANCE_CLIENT_ID, clientSecret, undefined, {
  execute: [client.allowInsecureRequests],
});

let pending: { verifier: string; state: string } | undefined;
let idToken = '';
rp.on('request', (req, res) => {
  void (async () => {
    const url = new URL(req.url ?? '/', rpUrl);
    if (url.pathname === '/login') {
      pending = { verifier: client.randomPKCECodeVerifier(), state: client.randomState() };
      const to = client.buildAuthorizationUrl(config, {
        redirect_uri: `${rpUrl}${APPLIANCE_CALLBACK_PATH}`,
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
        code_challenge_method: 'S256',
        state: pending.state,
      });
      res.writeHead(302, { location: to.href }).end();
    } else if (url.pathname === APPLIANCE_CALLBACK_PATH && pending) {
      const tokens = await client.authorizationCodeGrant(config, url, { pkceCodeVerifier: pending.verifier, expectedState: pending.state });
      idToken = tokens.id_token ?? '';
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<p id="user">${String(tokens.claims()?.preferred_username)}</p>`);
    } else if (url.pathname === '/logout') {
      const to = client.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: `${rpUrl}/` });
      res.writeHead(302, { location: to.href }).end();
    } else {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p id="home">home</p>');
    }
  })().catch((err: unknown) => {
    res.writeHead(500).end(String(err));
  });
});

t.test('Chromium signs in with the Keycloak form ids, logs out without a click, and meets the form again', async (t) => {
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const page = await browser.newPage();

  await page.goto(`${rpUrl}/login`);
  t.equal(await page.title(), 'Sign in to kyc');
  await page.locator('#username').fill('teller1');
  await page.locator('#password').fill('not-the-password');
  await page.locator('#kc-login').click();
  t.equal((await page.locator('#input-error').textContent())?.trim(), 'Invalid username or password.');

  await page.locator('#password').fill('teller1');
  await page.locator('#kc-login').click();
  await page.waitForURL((u) => u.pathname === APPLIANCE_CALLBACK_PATH);
  t.equal(await page.locator('#user').textContent(), 'teller1', 'code exchanged by the relying party');

  await page.goto(`${rpUrl}/logout`);
  await page.waitForURL(`${rpUrl}/`);
  t.equal(await page.locator('#home').textContent(), 'home', 'the logout page submitted itself and came back');

  await page.goto(`${rpUrl}/login`);
  t.equal(await page.locator('#kc-form-login').count(), 1, 'the IdP session is over: login form again');
});
