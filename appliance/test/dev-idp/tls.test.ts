import t from 'tap';
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { startDevIdp } from '../../src/dev-idp/server.js';
import { DEV_APPLIANCE_URL } from '../../src/dev-idp/realm.js';
import { createCaCertificate, createServerCertificate, newRsaKey } from '../../src/pki/certificate-authority.js';

// The dev IdP over HTTPS under a name of its own, as the install test runs it (an institution's Keycloak is HTTPS
// with a certificate from the institution's CA).
const caKey = newRsaKey().privatePem;
const caCert = createCaCertificate('Test IdP CA', caKey, ['localhost']);
const key = newRsaKey().privatePem;
const cert = createServerCertificate(['localhost'], key, caCert, caKey);
const clientSecret = randomBytes(32).toString('base64url');

function getJson(url: string, ca: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('HTTPS with the given certificate; the issuer carries https and the issuer host, not the listening address', async (t) => {
  const idp = await startDevIdp({ port: 0, host: '127.0.0.1', issuerHost: 'localhost', tls: { cert, key }, publicBaseUrl: DEV_APPLIANCE_URL, clientSecret });
  t.teardown(() => idp.close());
  t.match(idp.issuer, /^https:\/\/localhost:\d+\/realms\/kyc$/);
  const { status, body } = await getJson(`${idp.issuer}/.well-known/openid-configuration`, caCert);
  t.equal(status, 200);
  t.equal(body.issuer, idp.issuer);
  t.equal(body.token_endpoint, `${idp.issuer}/protocol/openid-connect/token`);

  const other = createCaCertificate('Some other CA', newRsaKey().privatePem, ['localhost']);
  await t.rejects(getJson(`${idp.issuer}/.well-known/openid-configuration`, other), 'a client trusting another CA refuses it');
});

t.test('TLS and issuer-host options are checked with the others', async (t) => {
  await t.rejects(
    startDevIdp({ port: 0, issuerHost: 'bad host/', tls: { cert, key: '' }, publicBaseUrl: DEV_APPLIANCE_URL, clientSecret }),
    /issuerHost must be a host name.*tls needs both cert and key/,
  );
});
