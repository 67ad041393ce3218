import { generateKeyPair } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { calculateJwkThumbprint } from 'jose';

/** An RSA private key in JWK form, as the dev IdP signs with it (RS256, like a Keycloak realm's default key). */
export interface RsaSigningJwk {
  kty: 'RSA';
  kid: string;
  alg: 'RS256';
  use: 'sig';
  n: string;
  e: string;
  d: string;
  p: string;
  q: string;
  dp: string;
  dq: string;
  qi: string;
}

export interface SigningKeys {
  keys: RsaSigningJwk[];
}

export interface PublicJwk {
  kty: 'RSA';
  kid: string;
  alg: 'RS256';
  use: 'sig';
  n: string;
  e: string;
}

const generateRsaKeyPair = promisify(generateKeyPair);
const PRIVATE_MEMBERS = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const;

export async function generateSigningKeys(): Promise<SigningKeys> {
  const { privateKey } = await generateRsaKeyPair('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const members = Object.fromEntries(PRIVATE_MEMBERS.map((m) => [m, jwk[m]]));
  const kid = await calculateJwkThumbprint({ kty: 'RSA', n: jwk.n, e: jwk.e }, 'sha256');
  return { keys: [{ kty: 'RSA', kid, alg: 'RS256', use: 'sig', ...members } as RsaSigningJwk] };
}

/** Throws unless `value` is a JWKS of RSA private signing keys as written by generateSigningKeys. */
export function parseSigningKeys(value: unknown, source: string): SigningKeys {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new Error(`${source}: expected a JWKS with at least one key`);
  }
  keys.forEach((key: Record<string, unknown>, i) => {
    const missing = ['kid', ...PRIVATE_MEMBERS].filter((m) => typeof key[m] !== 'string' || key[m] === '');
    if (key.kty !== 'RSA' || key.alg !== 'RS256' || key.use !== 'sig' || missing.length > 0) {
      throw new Error(`${source}: key ${i} is not an RS256 private signing key${missing.length ? ` (missing ${missing.join(', ')})` : ''}`);
    }
  });
  return { keys: keys as RsaSigningJwk[] };
}

/**
 * Reads the signing keys from `file`, or creates them there (mode 0600) on first use, so that tokens and
 * the appliance's cached JWKS stay valid across restarts of the dev IdP.
 */
export async function loadOrCreateSigningKeys(file: string): Promise<SigningKeys> {
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== undefined) return parseSigningKeys(JSON.parse(text), file);
  const created = await generateSigningKeys();
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${JSON.stringify(created, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return created;
}

export function publicJwks(keys: SigningKeys): { keys: PublicJwk[] } {
  return { keys: keys.keys.map(({ kty, kid, alg, use, n, e }) => ({ kty, kid, alg, use, n, e })) };
}
