#!/usr/bin/env node
// The development identity provider as a process:
//   node appliance/dist/dev-idp/main.js --port 8180 --public-url https://127.0.0.1:8443 \
//     --client-secret-file var/secrets/oidc-client-secret --data-dir var/dev-idp
// HTTPS (e.g. a test that needs the institution's arrangement: a CA-signed IdP under its own name):
//   ... --tls-cert-file idp.crt --tls-key-file idp.key --issuer-host idp.kyc.test
// The client secret file is shared with the appliance; it is created (random, mode 0600) when missing.
// With --data-dir the realm signing keys are kept there, so tokens stay verifiable across restarts.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadOrCreateSigningKeys } from './keys.js';
import { DEV_APPLIANCE_URL } from './realm.js';
import { startDevIdp } from './server.js';

const USAGE = `usage: main.js [--port 8180] [--host 127.0.0.1] [--public-url ${DEV_APPLIANCE_URL}]
               --client-secret-file FILE [--data-dir DIR]
               [--tls-cert-file FILE --tls-key-file FILE] [--issuer-host NAME]`;

async function readOrCreateSecret(file: string): Promise<string> {
  try {
    const secret = (await readFile(file, 'utf8')).trim();
    if (!secret) throw new Error(`${file} is empty`);
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(32).toString('base64url');
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  process.stdout.write(`created client secret in ${file}\n`);
  return secret;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8180' },
      host: { type: 'string', default: '127.0.0.1' },
      'public-url': { type: 'string', default: DEV_APPLIANCE_URL },
      'client-secret-file': { type: 'string' },
      'data-dir': { type: 'string' },
      'tls-cert-file': { type: 'string' },
      'tls-key-file': { type: 'string' },
      'issuer-host': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = Number(values.port);
  const secretFile = values['client-secret-file'];
  if (!secretFile || !/^\d+$/.test(values.port)) throw new Error(USAGE);
  const certFile = values['tls-cert-file'];
  const keyFile = values['tls-key-file'];
  if (Boolean(certFile) !== Boolean(keyFile)) throw new Error(`--tls-cert-file and --tls-key-file go together\n${USAGE}`);
  const tls = certFile && keyFile ? { cert: await readFile(certFile), key: await readFile(keyFile) } : undefined;

  const clientSecret = await readOrCreateSecret(secretFile);
  const dataDir = values['data-dir'];
  const keys = dataDir ? await loadOrCreateSigningKeys(join(dataDir, 'jwks.json')) : undefined;
  const idp = await startDevIdp({
    port,
    host: values.host,
    issuerHost: values['issuer-host'],
    tls,
    publicBaseUrl: values['public-url'],
    clientSecret,
    keys,
  });

  const lines = [
    `dev IdP (Keycloak-compatible) issuer: ${idp.issuer}`,
    `discovery: ${idp.issuer}/.well-known/openid-configuration`,
    'clients:',
    ...idp.realm.clients.map((c) => `  ${c.clientId} (${c.publicClient ? 'public' : 'confidential'})${c.redirectUris.length ? ` redirect ${c.redirectUris.join(', ')}` : ''}`),
    'demo users (development only): username / password  roles',
    ...idp.realm.users.map((u) => `  ${`${u.username} / ${u.password}`.padEnd(22)} ${u.roles.join(', ')}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  const stop = (signal: string) => {
    process.stdout.write(`dev IdP: ${signal}, stopping\n`);
    idp.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`dev IdP: close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`dev IdP: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
