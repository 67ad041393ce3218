import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config/load.js';

function load(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'kyc-face-config-'));
  writeFileSync(join(dir, 'client-secret'), 's3cret', { mode: 0o600 });
  writeFileSync(join(dir, 'hook-secret'), 'h00k', { mode: 0o600 });
  const vars = { KYC_PROFILE: 'development', KYC_DATA_DIR: dir, KYC_OIDC_CLIENT_SECRET_FILE: join(dir, 'client-secret'), ...env };
  for (const [k, v] of Object.entries(vars)) vars[k as keyof typeof vars] = v.replace('$DIR', dir);
  return loadConfig({ env: vars, cwd: '/', allowMissingGeneratedSecrets: true });
}

const problems = (env: Record<string, string>): string[] => {
  try {
    load(env);
    return [];
  } catch (err) {
    return err instanceof ConfigError ? err.problems : [String(err)];
  }
};

t.test('face configuration: defaults, decimals, the hook', async (t) => {
  const c = load({});
  t.same({ engine: c.face.engine, match: c.face.matchDistance, review: c.face.reviewDistance, workers: c.face.workers }, { engine: 'builtin', match: 0.5, review: 0.6, workers: 2 });
  t.equal(c.face.hook.url, null);
  const h = load({ KYC_FACE_ENGINE: 'hook', KYC_FACE_HOOK_URL: 'https://faces.bank.local/verify', KYC_FACE_HOOK_SECRET_FILE: '$DIR/hook-secret', KYC_FACE_MATCH_DISTANCE: '0.45' });
  t.equal(h.face.hook.url?.href, 'https://faces.bank.local/verify');
  t.equal(h.face.matchDistance, 0.45);

  t.match(problems({ KYC_FACE_MATCH_DISTANCE: 'half' }), [/KYC_FACE_MATCH_DISTANCE: must be a number/]);
  t.match(problems({ KYC_FACE_REVIEW_DISTANCE: '3' }), [/KYC_FACE_REVIEW_DISTANCE: must be between/]);
  t.match(problems({ KYC_FACE_MATCH_DISTANCE: '0.6', KYC_FACE_REVIEW_DISTANCE: '0.5' }), [/must not be below KYC_FACE_MATCH_DISTANCE/]);
  t.match(problems({ KYC_FACE_ENGINE: 'hook' }), [/KYC_FACE_HOOK_URL: required with KYC_FACE_ENGINE=hook/]);
  t.match(problems({ KYC_FACE_HOOK_URL: 'http://faces.bank.local/verify', KYC_FACE_HOOK_SECRET_FILE: '$DIR/hook-secret' }), [/KYC_FACE_HOOK_URL: must be an https:\/\/ URL/]);
  t.match(problems({ KYC_FACE_HOOK_URL: 'https://faces.bank.local/verify' }), [/KYC_FACE_HOOK_SECRET_FILE: required/]);
});
