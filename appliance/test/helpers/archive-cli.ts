import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestAppliance } from './appliance.js';
import { waitFor } from './recording-fixtures.js';

const CLI = fileURLToPath(new URL('../../src/cli/kyc-archive.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

/**
 * kyc-archive as an operator runs it on the host: its own process, the appliance's configuration plus `env`
 * (SOFTHSM2_CONF passed on when a test made a SoftHSM token). Returns the exit code and the last JSON line.
 */
export function kycArchive(
  a: { config: { dataDir: string }; db: { appUrl: string } },
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; json: Record<string, unknown> }> {
  const full: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...(process.env.SOFTHSM2_CONF ? { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF } : {}),
    KYC_PROFILE: 'development',
    KYC_DATA_DIR: a.config.dataDir,
    KYC_DB_URL: a.db.appUrl,
    KYC_OIDC_CLIENT_SECRET_FILE: join(a.config.dataDir, 'oidc-client-secret'),
    KYC_LOG_LEVEL: 'silent',
    ...env,
  };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, CLI, ...args], { env: full, cwd: a.config.dataDir }, (err, stdout, stderr) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, json: last.startsWith('{') ? (JSON.parse(last) as Record<string, unknown>) : { stderr } });
    });
  });
}

/** Requests an export of a recording as an auditor and waits until the worker made it; its id and signed SHA-256. */
export async function exportAndWait(a: TestAppliance, recordingId: string, reason: string): Promise<{ id: string; sha256: string }> {
  const auth = { authorization: `Bearer ${await a.tokenFor('auditor1')}` };
  const res = await a.app.inject({ method: 'POST', url: `/api/recordings/${recordingId}/exports`, headers: auth, payload: { reason } });
  if (res.statusCode !== 202) throw new Error(`export request answered ${res.statusCode}: ${res.body}`);
  const { id } = res.json() as { id: string };
  const v = await exportFinished(a, id, auth);
  if (v.status === 'failed') throw new Error(`export failed: ${v.failureReason}`);
  return { id, sha256: v.sha256 };
}

/** An export's state once it is done or failed, polled through the API with `headers` (an auditor's). */
export function exportFinished(a: TestAppliance, id: string, headers: Record<string, string>): Promise<{ status: string; sha256: string; failureReason: string | null }> {
  return waitFor(`export ${id} done or failed`, async () => {
    const v = (await a.app.inject({ method: 'GET', url: `/api/exports/${id}`, headers })).json() as { status: string; sha256: string; failureReason: string | null };
    return (v.status === 'done' || v.status === 'failed') && v;
  });
}
