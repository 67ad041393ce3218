/**
 * The appliance with KYC_TSA_URL: its audit checkpoints get RFC 3161 tokens from the institution's TSA (a real
 * `openssl ts -reply` server here), which verify against the TSA certificate; bad TSA settings stop start-up.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTsaCertificates, TIMESTAMP_TOKEN_SUFFIX, verifyTimestampToken } from '@kyc/compliance';
import { startTestTsa } from '@kyc/compliance/testing';
import { newCaseBody, startTestAppliance } from '../helpers/appliance.js';
import { waitFor } from '../helpers/recording-fixtures.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';

t.test('checkpoints written by the appliance carry a TSA token that verifies against the TSA certificate', async (t) => {
  const tsa = await startTestTsa({ name: 'Branch' });
  t.teardown(() => tsa.close());
  const a = await startTestAppliance(t, { env: { KYC_TSA_URL: tsa.url, KYC_TSA_CERT_FILE: tsa.certFile, KYC_AUDIT_CHECKPOINT_EVERY_EVENTS: '1' } });
  t.equal(a.config.audit.tsa?.url.href, tsa.url);
  const teller = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const res = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody() });
  t.equal(res.statusCode, 201);
  await a.runtime.auditLog.sequence();
  const dir = a.config.audit.checkpointDir;
  const stamped = await waitFor(
    'a timestamped checkpoint',
    async () => {
      const names = (await readdir(dir)).filter((n) => n.endsWith(`.checkpoint${TIMESTAMP_TOKEN_SUFFIX}`));
      return names.length > 0 && names;
    },
    20_000,
  );
  t.ok(stamped.length > 0, `a timestamped checkpoint (${stamped.join(', ')})`);
  const certs = parseTsaCertificates(await readFile(tsa.certFile, 'utf8'));
  for (const name of stamped) {
    const note = await readFile(join(dir, name.slice(0, -TIMESTAMP_TOKEN_SUFFIX.length)));
    const info = verifyTimestampToken(await readFile(join(dir, name)), note, certs);
    t.ok(info.genTime.getTime() > Date.now() - 120_000, `${name}: verifies, TSA time ${info.genTime.toISOString()}`);
  }
  t.ok(tsa.requests >= stamped.length, 'each token came from the TSA');
});

t.test('TSA settings are checked at start-up', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kyc-tsa-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'client-secret'), 's3cret', { mode: 0o600 });
  const base = { KYC_PROFILE: 'development', KYC_DATA_DIR: dir, KYC_OIDC_CLIENT_SECRET_FILE: join(dir, 'client-secret') };
  const problems = (env: Record<string, string>): string => {
    try {
      loadConfig({ env: { ...base, ...env }, cwd: '/', allowMissingGeneratedSecrets: true });
      return '';
    } catch (err) {
      return err instanceof ConfigError ? err.problems.join('\n') : String(err);
    }
  };
  t.match(problems({ KYC_TSA_URL: 'ftp://tsa.bank.local/' }), /KYC_TSA_URL: must be an http:\/\/ or https:\/\/ URL/);
  t.match(problems({ KYC_TSA_URL: 'http://tsa.bank.local/', KYC_TSA_CERT_FILE: '/nonexistent/tsa.pem' }), /KYC_TSA_CERT_FILE: cannot read/);
  t.match(problems({ KYC_TSA_URL: 'http://tsa.bank.local/', KYC_TSA_CA_FILE: '/etc/hostname' }), /KYC_TSA_CA_FILE: \/etc\/hostname holds no PEM certificate/);
  const none = loadConfig({ env: base, cwd: '/', allowMissingGeneratedSecrets: true });
  t.equal(none.audit.tsa, null, 'unset: no timestamps');
});
