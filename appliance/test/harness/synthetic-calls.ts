// Recorded 1:1 calls between synthetic parties (synthetic-party.ts) through the real appliance: its HTTPS API and
// signaling served inside a network namespace, our Janus there recording, the in-process worker sealing. Each call
// goes the product's way: the teller creates a case and invites, the customer opens the link, types the code, passes
// the device check and consents, the teller admits; then both parties join over the signaling socket, publish and
// subscribe. For the capacity benchmark and its test.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestAppliance, type Teardown, type TestAppliance } from '../helpers/appliance.js';
import { waitingCustomer } from '../helpers/signaling-client.js';
import { parseStreamFileName, type Party } from '../../src/recording/recording-layout.js';
import { SIGNALING_PATH } from '../../src/media/protocol.js';
import { startTestJanus, type TestJanus } from './janus.js';
import { createNetns, type Netns } from './netns.js';
import { prepareRtpLoop, startPartyHost, type PartyHost, type PartyStats } from './synthetic-party.js';

export interface SyntheticCallStack {
  ns: Netns;
  janus: TestJanus;
  a: TestAppliance;
  hosts: PartyHost[];
  tellerHeaders: Record<string, string>;
}

export interface SyntheticCallStackOptions {
  /** processes running the parties (they compete for the CPU with what is measured) */
  partyHosts?: number;
  /** recordings the in-process worker seals at once */
  sealConcurrency?: number;
}

/** Janus and the appliance (recording, sealing) in a fresh namespace, the media loop, and the party processes. */
export async function startSyntheticCallStack(t: Teardown, o: SyntheticCallStackOptions = {}): Promise<SyntheticCallStack> {
  const ns = await createNetns(t);
  const janus = await startTestJanus(ns);
  t.teardown(() => janus.stop());
  const roomKeyFile = join(ns.dir, 'janus-room-key');
  await writeFile(roomKeyFile, janus.roomAdminKey, { mode: 0o600 });
  const a = await startTestAppliance(t, {
    netns: ns,
    env: {
      KYC_JANUS_WS_URL: janus.url,
      KYC_JANUS_ROOM_KEY_FILE: roomKeyFile,
      KYC_RECORDING_SETTLE_SECONDS: '2',
      KYC_SEAL_RECONCILE_SECONDS: '2',
      KYC_SEAL_CONCURRENCY: String(o.sealConcurrency ?? 1),
    },
  });
  if (!a.caCertPath) throw new Error('the appliance serves no TLS');
  const mediaDir = await mkdtemp(join(tmpdir(), 'kyc-synthetic-media-'));
  t.teardown(() => rm(mediaDir, { recursive: true, force: true }));
  const loopFile = await prepareRtpLoop(mediaDir);
  const hosts: PartyHost[] = [];
  for (let i = 0; i < (o.partyHosts ?? 1); i++) {
    const host = await startPartyHost(ns, loopFile, a.caCertPath);
    hosts.push(host);
    t.teardown(() => host.close());
  }
  const tellerHeaders = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  // the access token expires after a few minutes: a long run renews it
  const renew = setInterval(() => {
    a.tokenFor('teller1', true).then(
      (token) => (tellerHeaders.authorization = `Bearer ${token}`),
      () => undefined,
    );
  }, 60_000);
  renew.unref();
  t.teardown(() => clearInterval(renew));
  return { ns, janus, a, hosts, tellerHeaders };
}

export interface SyntheticCall {
  caseId: string;
  sessionId: string;
  /** the host running each party */
  hosts: Record<Party, PartyHost>;
  /** party ids on their hosts */
  ids: Record<Party, string>;
}

let callSeq = 0;

/**
 * Opens a call: case, invitation, the customer's way to the waiting room, admission; then both parties join, publish
 * and subscribe (teller on `hosts[0]`, customer on `hosts[1]` or the same). Resolves once both send and receive
 * (`subscribe: false`: once both send; nobody receives, Janus only records).
 */
export async function openSyntheticCall(s: SyntheticCallStack, hosts: [PartyHost, PartyHost], o: { subscribe?: boolean } = {}): Promise<SyntheticCall> {
  const { a } = s;
  const c = await waitingCustomer(a, s.tellerHeaders);
  const admit = await a.app.inject({ method: 'POST', url: `/api/cases/${c.caseId}/admit`, headers: s.tellerHeaders });
  if (admit.statusCode !== 200) throw new Error(`admit: ${admit.statusCode} ${admit.body}`);
  const sessionId = admit.json().id as string;
  const n = ++callSeq;
  const ids = { teller: `call${n}-teller`, customer: `call${n}-customer` };
  const wss = `wss://127.0.0.1:${a.config.publicUrl.port}${SIGNALING_PATH}`;
  const origin = a.config.publicUrl.origin;
  const call: SyntheticCall = { caseId: c.caseId, sessionId, hosts: { teller: hosts[0], customer: hosts[1] }, ids };
  const started = await Promise.allSettled([
    hosts[0].start(ids.teller, { url: `${wss}?session=${sessionId}`, headers: { ...s.tellerHeaders, origin }, ...o }),
    hosts[1].start(ids.customer, { url: `${wss}?invitation=${c.token}`, headers: { cookie: `__Host-kyc_device=${c.cookies['__Host-kyc_device']}`, origin }, ...o }),
  ]);
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // a call that did not come up is ended, so that it holds nothing
    await hangUpSyntheticCall(s, call).catch(() => undefined);
    throw new Error(`session ${sessionId}: ${failed.reason instanceof Error ? failed.reason.message : String(failed.reason)}`);
  }
  return call;
}

/** The teller hangs up (the appliance ends the session and requests its seal); both parties stop. */
export async function hangUpSyntheticCall(s: SyntheticCallStack, call: SyntheticCall): Promise<void> {
  const r = await s.a.app.inject({ method: 'POST', url: `/api/sessions/${call.sessionId}/hangup`, headers: s.tellerHeaders });
  if (r.statusCode !== 200) throw new Error(`hangup: ${r.statusCode} ${r.body}`);
  await Promise.all([call.hosts.teller.stop(call.ids.teller), call.hosts.customer.stop(call.ids.customer)]);
}

export async function partyStats(call: SyntheticCall): Promise<Record<Party, PartyStats | undefined>> {
  const [t, c] = await Promise.all([call.hosts.teller.stats(), call.hosts.customer.stats()]);
  return { teller: t[call.ids.teller], customer: c[call.ids.customer] };
}

export interface StreamContinuity {
  file: string;
  packets: number;
  /** RTP sequence numbers missing between the first and the last packet written */
  lost: number;
  /** the longest time between two packets written, ms */
  maxPauseMs: number;
  /** time from the first to the last packet written, ms */
  spanMs: number;
}

/**
 * A recording has a gap when an RTP packet is missing from it (lost and not retransmitted: the post-processed media
 * freezes or falls silent there), or when nothing arrived for this long (a freeze the other party saw live; packets
 * merely late are put back in place by their RTP timestamps when the recording is post-processed).
 */
export const GAP_PAUSE_MS = 1000;

/**
 * Continuity of every stream Janus is writing or wrote into a session's folder, read from the .mjr frames (each:
 * "MEET", arrival ms since the start, length, the RTP packet). A file still being written may end in a partial frame,
 * which is ignored.
 */
export async function recordingContinuity(sessionDir: string): Promise<StreamContinuity[]> {
  const out: StreamContinuity[] = [];
  for (const name of (await readdir(sessionDir)).sort()) {
    if (!parseStreamFileName(name)) continue;
    const buf = await readFile(join(sessionDir, name));
    if (buf.length < 10 || buf.subarray(0, 8).toString('latin1') !== 'MJR00002') {
      out.push({ file: name, packets: 0, lost: 0, maxPauseMs: 0, spanMs: 0 });
      continue;
    }
    let off = 10 + buf.readUInt16BE(8);
    const seqs = new Set<number>();
    let ext = -1;
    let lastAt = -1;
    let firstAt = -1;
    let maxPauseMs = 0;
    let packets = 0;
    while (off + 10 <= buf.length && buf.subarray(off, off + 4).toString('latin1') === 'MEET') {
      const at = buf.readUInt32BE(off + 4);
      const size = buf.readUInt16BE(off + 8);
      if (off + 10 + size > buf.length || size < 12) break;
      const seq = buf.readUInt16BE(off + 10 + 2);
      // extend the 16-bit sequence number around the last one seen (retransmissions arrive out of order)
      if (ext < 0) ext = seq;
      else {
        const delta = ((seq - (ext & 0xffff) + 0x8000) & 0xffff) - 0x8000;
        ext += delta;
      }
      seqs.add(ext);
      if (firstAt < 0) firstAt = at;
      if (lastAt >= 0) maxPauseMs = Math.max(maxPauseMs, at - lastAt);
      lastAt = Math.max(lastAt, at);
      packets++;
      off += 10 + size;
    }
    const sorted = [...seqs];
    const lost = sorted.length ? Math.max(...sorted) - Math.min(...sorted) + 1 - sorted.length : 0;
    out.push({ file: name, packets, lost, maxPauseMs, spanMs: lastAt >= 0 ? lastAt - firstAt : 0 });
  }
  return out;
}

export interface SealResult {
  status: string;
  complete: boolean | null;
  issues: { code: string; severity: string; message: string }[];
  parties: { party: string; durationMs: number; bytes: number }[];
  failureReason?: string;
}

/** Polls the recording of the session (as the teller sees it) until it is sealed or failed, or `timeoutMs` passes. */
export async function waitSealed(s: SyntheticCallStack, sessionId: string, timeoutMs: number): Promise<SealResult> {
  const until = Date.now() + timeoutMs;
  let rec: SealResult = { status: 'none', complete: null, issues: [], parties: [] };
  for (;;) {
    const r = await s.a.app.inject({ method: 'GET', url: `/api/sessions/${sessionId}/recording`, headers: s.tellerHeaders });
    if (r.statusCode === 200) rec = r.json() as SealResult;
    if (rec.status === 'sealed' || rec.status === 'failed' || Date.now() > until) return rec;
    await new Promise((r) => setTimeout(r, 500));
  }
}
