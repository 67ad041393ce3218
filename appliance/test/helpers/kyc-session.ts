import type { MediaMode } from '../../src/domain/vocabulary.js';
import type { TestAppliance } from './appliance.js';

/** A customer taken through the invitation (open → code → device check → consent) and admitted by the teller. */
export async function admitCustomer(
  a: TestAppliance,
  teller: Record<string, string>,
  caseId: string,
  mode?: MediaMode,
): Promise<{ sessionId: string; token: string; cookies: Record<string, string> }> {
  const inv = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/invitations`, headers: teller });
  if (inv.statusCode !== 201) throw new Error(`invitation: ${inv.statusCode} ${inv.body}`);
  const { url, code } = inv.json() as { url: string; code: string };
  const token = new URL(url).pathname.split('/')[2] ?? '';
  const open = await a.app.inject({ method: 'POST', url: `/api/join/${token}/open` });
  const device = open.cookies.find((c) => c.name === '__Host-kyc_device')?.value;
  if (!device) throw new Error('no device cookie');
  const cookies = { '__Host-kyc_device': device };
  await a.app.inject({ method: 'POST', url: `/api/join/${token}/code`, cookies, payload: { code } });
  await a.app.inject({ method: 'POST', url: `/api/join/${token}/device-check`, cookies, payload: { camera: true, microphone: true, ...(mode ? { mode } : {}) } });
  await a.app.inject({ method: 'POST', url: `/api/join/${token}/consent`, cookies, payload: { accept: true, consentVersion: '2026-11' } });
  const admit = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/admit`, headers: teller });
  if (admit.statusCode !== 200) throw new Error(`admit: ${admit.statusCode} ${admit.body}`);
  return { sessionId: admit.json().id as string, token, cookies };
}
