#!/usr/bin/env node
/**
 * kyc-dev-seed — puts the demonstration products (appliance/src/kyc/seed.ts) into a development appliance's
 * catalogue through its API as the dev IdP's `admin1`, so each one is created and audited like an administrator's.
 * Development only (`make dev` runs it); products whose code exists are left as they are.
 *
 *   kyc-dev-seed --appliance https://127.0.0.1:8443 --issuer http://127.0.0.1:8180/realms/kyc
 *
 * Trust the appliance's CA with NODE_EXTRA_CA_CERTS=var/pki/ca.crt. Prints one JSON line.
 */
import { parseArgs } from 'node:util';
import { SEED_PRODUCTS } from '../kyc/seed.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { appliance: { type: 'string' }, issuer: { type: 'string' } } });
  if (!values.appliance || !values.issuer) throw new Error('usage: kyc-dev-seed --appliance URL --issuer URL');
  const tokenRes = await fetch(`${values.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', client_id: 'kyc-cli', username: 'admin1', password: 'admin1', scope: 'openid' }),
  });
  if (!tokenRes.ok) throw new Error(`admin1 token: HTTP ${tokenRes.status}`);
  const token = ((await tokenRes.json()) as { access_token: string }).access_token;
  const created: string[] = [];
  for (const p of SEED_PRODUCTS) {
    const res = await fetch(`${values.appliance}/api/admin/products`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(p),
    });
    if (res.status === 201) created.push(p.code);
    else if (res.status !== 409) throw new Error(`${p.code}: HTTP ${res.status}`);
  }
  process.stdout.write(`${JSON.stringify({ products: SEED_PRODUCTS.length, created })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`kyc-dev-seed: ${(err as Error).message}\n`);
  process.exit(2);
});
