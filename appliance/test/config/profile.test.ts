import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../src/config/load.js';

function load(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'kyc-profile-'));
  writeFileSync(join(dir, 'client-secret'), 's3cret', { mode: 0o600 });
  return loadConfig({ env: { KYC_DATA_DIR: dir, KYC_OIDC_CLIENT_SECRET_FILE: join(dir, 'client-secret'), ...env }, cwd: '/', allowMissingGeneratedSecrets: true });
}

function problemsOf(env: Record<string, string>): string {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  return '';
}

t.test('production (the default): the issuer must be configured and https', async (t) => {
  t.match(problemsOf({}), /KYC_OIDC_ISSUER: required in production/, 'no profile means production: no dev default issuer');
  t.match(problemsOf({ KYC_PROFILE: 'production' }), /KYC_OIDC_ISSUER: required in production/);
  t.match(problemsOf({ KYC_PROFILE: 'production', KYC_OIDC_ISSUER: 'http://127.0.0.1:8180/realms/kyc' }), /KYC_OIDC_ISSUER: must be https in production/, 'not even the dev IdP on loopback');
  t.match(problemsOf({ KYC_PROFILE: 'production', KYC_OIDC_ISSUER: 'http://idp.bank.local/realms/kyc' }), /must be https/);
  t.match(problemsOf({ KYC_PROFILE: 'production', KYC_OIDC_ISSUER: 'ftp://idp.bank.local/realms/kyc' }), /must be an https URL/);
  const c = load({ KYC_PROFILE: 'production', KYC_OIDC_ISSUER: 'https://idp.bank.local/realms/kyc' });
  t.equal(c.profile, 'production');
  t.equal(c.oidc.issuer.href, 'https://idp.bank.local/realms/kyc');
  t.match(problemsOf({ KYC_PROFILE: 'staging' }), /KYC_PROFILE: must be one of production, development/);
});

t.test('development: the dev IdP by default, http only on a loopback address', async (t) => {
  t.equal(load({ KYC_PROFILE: 'development' }).oidc.issuer.href, 'http://127.0.0.1:8180/realms/kyc');
  for (const issuer of [
    'http://127.0.0.1:9999/realms/kyc',
    'http://localhost:8180/realms/kyc',
    'http://127.0.0.2/realms/kyc',
    'http://[::1]:8180/realms/kyc',
    'https://idp.bank.local/realms/kyc',
  ]) {
    t.equal(load({ KYC_PROFILE: 'development', KYC_OIDC_ISSUER: issuer }).oidc.issuer.href, new URL(issuer).href, `${issuer} accepted`);
  }
  for (const issuer of [
    'http://10.0.0.5:8180/realms/kyc',
    'http://idp.bank.local/realms/kyc',
    'http://127.0.0.1.evil.example/realms/kyc',
    'http://localhost.evil.example/realms/kyc',
    'http://0.0.0.0:8180/realms/kyc',
  ]) {
    t.match(problemsOf({ KYC_PROFILE: 'development', KYC_OIDC_ISSUER: issuer }), /http is allowed only for a loopback issuer in development/, `${issuer} refused`);
  }
});

/** Relative imports of one TypeScript source (static and dynamic), as file paths. */
function importsOf(file: string): { files: string[]; packages: string[] } {
  const text = readFileSync(file, 'utf8');
  const files: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)) {
    const spec = m[1]!;
    if (spec.startsWith('.')) files.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    else packages.push(spec);
  }
  return { files, packages };
}

t.test('the production entry points cannot reach the dev identity provider', async (t) => {
  const src = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
  const devIdp = join(src, 'dev-idp');
  for (const entry of ['server.ts', 'worker.ts', 'cli/kyc-archive.ts', 'cli/kyc-janus.ts', 'cli/migrate.ts']) {
    const seen = new Set<string>();
    const pending = [join(src, entry)];
    const packages = new Set<string>();
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const found = importsOf(file);
      for (const p of found.packages) packages.add(p);
      pending.push(...found.files.filter((f) => f.startsWith(src)));
    }
    t.ok(seen.size > 1 || entry.startsWith('cli/'), `${entry}: ${seen.size} modules walked`);
    t.same(
      [...seen].filter((f) => f.startsWith(`${devIdp}/`)),
      [],
      `${entry} imports nothing under src/dev-idp`,
    );
    t.notOk(packages.has('oidc-provider'), `${entry} does not import oidc-provider`);
  }
});
