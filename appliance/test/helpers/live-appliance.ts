// The parts of a live-call test inside a network namespace of its own: a real Janus, the appliance serving the
// built UI with Janus wired in (short settle and reconcile times), and the Chromium wrapper that runs inside.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestAppliance, WEB_BUILD, type TestAppliance } from './appliance.js';
import { createNetns, type Netns } from '../harness/netns.js';
import { startTestJanus, type TestJanus } from '../harness/janus.js';
import { waitFor } from './recording-fixtures.js';

interface Teardown {
  teardown(fn: () => unknown): void;
  fail?(message: string): void;
}

export interface LiveAppliance {
  ns: Netns;
  janus: TestJanus;
  a: TestAppliance;
  /** the Chromium wrapper to pass as executablePath */
  chromium: string;
}

/** `env` may depend on the namespace (e.g. the port of another server the test opens in it first). */
export async function startLiveAppliance(
  t: Teardown,
  opts: { env?: Record<string, string> | ((ns: Netns) => Promise<Record<string, string>>); webRoot?: string } = {},
): Promise<LiveAppliance> {
  const ns = await createNetns(t);
  const janus = await startTestJanus(ns);
  t.teardown(() => janus.stop());
  const roomKeyFile = join(ns.dir, 'janus-room-key');
  writeFileSync(roomKeyFile, janus.roomAdminKey, { mode: 0o600 });
  const extra = typeof opts.env === 'function' ? await opts.env(ns) : (opts.env ?? {});
  const a = await startTestAppliance(t, {
    netns: ns,
    webRoot: opts.webRoot ?? WEB_BUILD,
    env: { KYC_JANUS_WS_URL: janus.url, KYC_JANUS_ROOM_KEY_FILE: roomKeyFile, KYC_RECORDING_SETTLE_SECONDS: '1', KYC_SEAL_RECONCILE_SECONDS: '2', ...extra },
  });
  return { ns, janus, a, chromium: await ns.wrapper('/usr/bin/chromium') };
}

export interface SealedRecording {
  status: string;
  parties: { party: string; durationMs: number; bytes: number; sha256: string }[];
  failureReason?: string;
}

/** The recording of the case's first call once it is sealed or failed (polled through the API as `username`). */
export async function waitForRecording(a: TestAppliance, caseId: string, username = 'teller1'): Promise<{ sessionId: string; rec: SealedRecording }> {
  const headers = { authorization: `Bearer ${await a.tokenFor(username)}` };
  const sessions = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/sessions`, headers })).json();
  const sessionId = ((sessions.items ?? sessions)[0]?.id as string | undefined) ?? '';
  const rec = await waitFor('the recording sealed or failed', async () => {
    const r = (await a.app.inject({ method: 'GET', url: `/api/sessions/${sessionId}/recording`, headers })).json() as SealedRecording;
    return (r.status === 'sealed' || r.status === 'failed') && r;
  });
  return { sessionId, rec };
}
