import t from 'tap';
import { importJWK, SignJWT } from 'jose';
import { generateSigningKeys } from '../../src/dev-idp/keys.js';
import { startDevIdp } from '../../src/dev-idp/server.js';
import { OidcService } from '../../src/services/oidc.js';
import { ManualClock } from '../helpers/clock.js';

// Verified bearer tokens are kept for a while (a replay sends many requests with one token): never past the
// token's expiry, and never for a token that did not verify.
t.test('the verified-token cache honours expiry and never keeps failures', async (t) => {
  const keys = await generateSigningKeys();
  const idp = await startDevIdp({ port: 0, publicBaseUrl: 'https://127.0.0.1:9', clientSecret: 'test-secret-0123456789', keys, onError: () => undefined });
  t.teardown(() => idp.close());
  const clock = new ManualClock();
  const oidc = new OidcService({
    issuer: new URL(idp.issuer),
    clientId: 'kyc-appliance',
    clientSecret: 'test-secret-0123456789',
    audience: 'kyc-appliance',
    redirectUri: 'https://127.0.0.1:9/auth/callback',
    postLogoutRedirectUri: 'https://127.0.0.1:9/',
    clock,
  });
  const jwk = keys.keys[0]!;
  const privateKey = await importJWK(jwk, 'RS256');
  const mint = (expiresAt: number, username = 'auditor1') =>
    new SignJWT({ typ: 'Bearer', azp: 'kyc-cli', preferred_username: username, realm_access: { roles: ['auditor'] } })
      .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
      .setIssuer(idp.issuer)
      .setAudience('kyc-appliance')
      .setSubject(`sub-${username}`)
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .sign(privateKey);

  const exp = Math.floor(clock.now() / 1000) + 2;
  const token = await mint(exp);
  t.same(await oidc.verifyAccessToken(token), { subject: 'sub-auditor1', username: 'auditor1', roles: ['auditor'], branch: null });
  t.same(await oidc.verifyAccessToken(token), { subject: 'sub-auditor1', username: 'auditor1', roles: ['auditor'], branch: null }, 'again, from the cache');

  const [h, p, s] = token.split('.');
  const edited = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), realm_access: { roles: ['admin'] } })).toString('base64url')}.${s}`;
  await t.rejects(oidc.verifyAccessToken(edited), 'an edited copy of a cached token is refused');
  await t.rejects(oidc.verifyAccessToken(edited), 'and refused again (failures are not kept)');

  // past expiry but within the 5 s clock tolerance jose allows: still served
  clock.set((exp + 4) * 1000);
  t.same(await oidc.verifyAccessToken(token), { subject: 'sub-auditor1', username: 'auditor1', roles: ['auditor'], branch: null }, 'within the tolerance');
  // past expiry and past the tolerance: refused, though it was verified (and kept) before
  clock.set((exp + 6) * 1000);
  await t.rejects(oidc.verifyAccessToken(token), 'an expired token is refused even though it was verified before');
});
