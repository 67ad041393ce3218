// KYC_OIDC_CA_FILE: an issuer on HTTPS with a certificate from an institution's own CA. Discovery (openid-client),
// the JWKS (jose) and the readiness probe trust that CA only when it is configured.
import t from 'tap';
import { createServer } from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { importJWK, SignJWT } from 'jose';
import { generateSigningKeys } from '../../src/dev-idp/keys.js';
import { ensureOwnTls } from '../../src/pki/certificate-authority.js';
import { OidcService } from '../../src/services/oidc.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';

t.test('an HTTPS issuer signed by a private CA works with KYC_OIDC_CA_FILE and only then', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-oidc-ca-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const tls = ensureOwnTls(join(dir, 'idp'), ['127.0.0.1']);
  const keys = await generateSigningKeys();
  const publicJwks = { keys: keys.keys.map(({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use })) };
  let jwksHits = 0;
  const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}/realms/kyc`;
    if (req.url === '/realms/kyc/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/protocol/openid-connect/auth`,
          token_endpoint: `${issuer}/protocol/openid-connect/token`,
          jwks_uri: `${issuer}/protocol/openid-connect/certs`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        }),
      );
    } else if (req.url === '/realms/kyc/protocol/openid-connect/certs') {
      jwksHits++;
      res.setHeader('content-type', 'application/jwk-set+json');
      res.end(JSON.stringify(publicJwks));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const issuer = new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}/realms/kyc`);
  const caFile = tls.caCertPath!;

  const base = {
    issuer,
    clientId: 'kyc-appliance',
    clientSecret: 'secret-0123456789',
    audience: 'kyc-appliance',
    redirectUri: 'https://127.0.0.1:9/auth/callback',
    postLogoutRedirectUri: 'https://127.0.0.1:9/',
  };
  const jwk = keys.keys[0]!;
  const token = await new SignJWT({ typ: 'Bearer', azp: 'kyc-cli', preferred_username: 'auditor1', realm_access: { roles: ['auditor'] } })
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
    .setIssuer(issuer.href)
    .setAudience('kyc-appliance')
    .setSubject('sub-auditor1')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(await importJWK(jwk, 'RS256'));

  const untrusting = new OidcService(base);
  t.match(await untrusting.probe(), { status: 'down' }, 'without the CA: the issuer is not trusted');
  await t.rejects(untrusting.verifyAccessToken(token), 'nor are its tokens');
  t.equal(jwksHits, 0);

  const trusting = new OidcService({ ...base, caFile });
  t.same(await trusting.probe(), { status: 'up' }, 'with KYC_OIDC_CA_FILE: readiness sees the issuer');
  t.same(await trusting.verifyAccessToken(token), { subject: 'sub-auditor1', username: 'auditor1', roles: ['auditor'], branch: null }, 'discovery and the JWKS over the private CA');
  t.ok(jwksHits >= 1, 'the JWKS was fetched through the CA-trusting fetch');
  const login = await trusting.beginLogin();
  t.equal(login.url.origin, issuer.origin, 'the sign-in URL points at the issuer');

  // Config: the file must exist and hold a certificate.
  const secret = join(dir, 'client-secret');
  await writeFile(secret, 'x', { mode: 0o600 });
  const env = { KYC_PROFILE: 'development', KYC_DATA_DIR: dir, KYC_OIDC_CLIENT_SECRET_FILE: secret };
  t.equal(loadConfig({ env: { ...env, KYC_OIDC_CA_FILE: caFile }, cwd: '/', allowMissingGeneratedSecrets: true }).oidc.caFile, caFile);
  t.throws(() => loadConfig({ env: { ...env, KYC_OIDC_CA_FILE: join(dir, 'none.pem') }, cwd: '/', allowMissingGeneratedSecrets: true }), /KYC_OIDC_CA_FILE: cannot read/);
  await writeFile(join(dir, 'bad.pem'), 'not a certificate');
  t.throws(() => loadConfig({ env: { ...env, KYC_OIDC_CA_FILE: join(dir, 'bad.pem') }, cwd: '/', allowMissingGeneratedSecrets: true }), ConfigError);
});
