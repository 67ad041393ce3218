import t from 'tap';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';

function dirWithSecrets(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kyc-config-'));
  writeFileSync(join(dir, 'client-secret'), 's3cret', { mode: 0o600 });
  return dir;
}

t.test('defaults resolve under the data dir', async (t) => {
  const dir = dirWithSecrets();
  const c = loadConfig({
    env: { KYC_PROFILE: 'development', KYC_DATA_DIR: dir, KYC_OIDC_CLIENT_SECRET_FILE: join(dir, 'client-secret') },
    cwd: '/',
    allowMissingGeneratedSecrets: true,
  });
  t.equal(c.listen.port, 8443);
  t.equal(c.publicUrl.href, 'https://127.0.0.1:8443/');
  t.equal(c.session.keyFile, join(dir, 'secrets/session.key'));
  t.equal(c.janus.wsUrl, null);
});

t.test('every bad key is reported together', async (t) => {
  const dir = dirWithSecrets();
  const loose = join(dir, 'loose');
  writeFileSync(loose, 'x');
  chmodSync(loose, 0o644);
  try {
    loadConfig({
      env: {
        KYC_DATA_DIR: dir,
        KYC_LISTEN_PORT: 'eighty',
        KYC_PUBLIC_URL: 'http://insecure.example',
        KYC_LOG_LEVEL: 'loud',
        KYC_OIDC_CLIENT_SECRET_FILE: loose,
        KYC_NO_SUCH_THING: '1',
        KYC_DB_URL: 'postgresql://kyc_app:pw@/kyc',
      },
      cwd: '/',
      allowMissingGeneratedSecrets: true,
    });
    t.fail('should throw');
  } catch (err) {
    t.ok(err instanceof ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    for (const key of ['KYC_LISTEN_PORT', 'KYC_PUBLIC_URL', 'KYC_LOG_LEVEL', 'KYC_OIDC_CLIENT_SECRET_FILE', 'KYC_NO_SUCH_THING', 'KYC_DB_URL']) {
      t.match(problems, key, `${key} reported`);
    }
    t.notMatch(problems, 'pw', 'the password itself is not echoed');
  }
});

t.test('config file, overridden by variables', async (t) => {
  const dir = dirWithSecrets();
  const file = join(dir, 'kyc.json');
  writeFileSync(file, JSON.stringify({ listenPort: 9443, KYC_LOG_LEVEL: 'warn', OIDC_CLIENT_SECRET_FILE: join(dir, 'client-secret') }));
  const c = loadConfig({ env: { KYC_PROFILE: 'development', KYC_CONFIG_FILE: file, KYC_DATA_DIR: dir, KYC_LOG_LEVEL: 'error' }, cwd: '/', allowMissingGeneratedSecrets: true });
  t.equal(c.listen.port, 9443);
  t.equal(c.logLevel, 'error');
  writeFileSync(file, JSON.stringify({ bogusKey: 1 }));
  t.throws(() => loadConfig({ env: { KYC_CONFIG_FILE: file, KYC_DATA_DIR: dir }, cwd: '/', allowMissingGeneratedSecrets: true }), /bogusKey/);
});

t.test('missing generated secrets are an error unless the appliance may create them', async (t) => {
  const dir = dirWithSecrets();
  t.throws(() => loadConfig({ env: { KYC_PROFILE: 'development', KYC_DATA_DIR: dir, KYC_OIDC_CLIENT_SECRET_FILE: join(dir, 'client-secret') }, cwd: '/' }), /KYC_SESSION_KEY_FILE/);
});

t.test('the README documents every configuration key', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { CONFIG_KEYS } = await import('../../src/config/schema.js');
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  for (const key of Object.keys(CONFIG_KEYS)) t.ok(readme.includes(`| \`${key}\` |`), `${key} in the README`);
});
