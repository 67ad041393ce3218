// A real recorded call for the recording tests: a network namespace with a veth address (Janus skips loopback
// interfaces when gathering ICE candidates), our own Janus (VideoRoom + WebSockets only) inside it, and headless
// Chromium inside it publishing fake camera and microphone for each party. Janus writes the .mjr files the
// seal pipeline consumes, in the appliance's layout: <recordings>/<sessionId>/<party>-s<NN>-{audio,video}.mjr.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../harness/browser.js';

const run = promisify(execFile);
const JANUS_LIB = '/usr/lib/x86_64-linux-gnu/janus';

export interface Netns {
  name: string;
  /** runs a command inside the namespace */
  exec(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }>;
  remove(): Promise<void>;
}

export async function createNetns(): Promise<Netns> {
  const name = `kycrec${randomBytes(3).toString('hex')}`;
  await run('ip', ['netns', 'add', name]);
  const ip = (...args: string[]) => run('ip', ['-n', name, ...args]);
  try {
    await ip('link', 'set', 'lo', 'up');
    await ip('link', 'add', 'vj0', 'type', 'veth', 'peer', 'name', 'vj1');
    await ip('addr', 'add', '127.0.0.2/32', 'dev', 'vj0');
    await ip('link', 'set', 'vj0', 'up');
    await ip('link', 'set', 'vj1', 'up');
  } catch (err) {
    await run('ip', ['netns', 'del', name]).catch(() => undefined);
    throw err;
  }
  return {
    name,
    exec: (cmd, args) => run('ip', ['netns', 'exec', name, cmd, ...args]),
    async remove() {
      await run('ip', ['netns', 'del', name]).catch(() => undefined);
    },
  };
}

export interface JanusInNetns {
  wsUrl: string;
  logFile: string;
  stop(): Promise<void>;
}

/** Our own Janus in the namespace: its own config folder, WebSockets on the namespace's 127.0.0.1. */
export async function startJanus(ns: Netns, workDir: string): Promise<JanusInNetns> {
  const conf = join(workDir, 'janus-conf');
  await mkdir(conf, { recursive: true, mode: 0o700 });
  const plugins = (await readdir(join(JANUS_LIB, 'plugins'))).filter((f) => f.endsWith('.so') && f !== 'libjanus_videoroom.so');
  const transports = (await readdir(join(JANUS_LIB, 'transports'))).filter((f) => f.endsWith('.so') && f !== 'libjanus_websockets.so');
  const logFile = join(workDir, 'janus.log');
  const port = 8188;
  await writeFile(
    join(conf, 'janus.jcfg'),
    `general: {
  configs_folder = "${conf}"
  plugins_folder = "${JANUS_LIB}/plugins"
  transports_folder = "${JANUS_LIB}/transports"
  events_folder = "${JANUS_LIB}/events"
  loggers_folder = "${JANUS_LIB}/loggers"
  log_to_stdout = false
  log_to_file = "${logFile}"
  debug_level = 4
  interface = "127.0.0.2"
  session_timeout = 60
  admin_secret = "${randomBytes(8).toString('hex')}"
  recordings_tmp_ext = "tmp"
}
media: {
  rtp_port_range = "20000-20100"
}
nat: {
  full_trickle = false
  ignore_mdns = true
  ice_enforce_list = "vj0"
}
plugins: { disable = "${plugins.join(',')}" }
transports: { disable = "${transports.join(',')}" }
events: { broadcast = false }
`,
  );
  await writeFile(join(conf, 'janus.plugin.videoroom.jcfg'), 'general: {\n}\n');
  await writeFile(
    join(conf, 'janus.transport.websockets.jcfg'),
    `general: {\n  json = "compact"\n  ws = true\n  ws_ip = "127.0.0.1"\n  ws_port = ${port}\n  wss = false\n}\nadmin: {\n  admin_ws = false\n}\n`,
  );
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns.name, 'janus', '-C', join(conf, 'janus.jcfg'), '-F', conf, '-N', '-o'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // ready when its WebSocket port listens inside the namespace
  for (let i = 0; ; i++) {
    const { stdout } = await ns.exec('ss', ['-ltnH', `sport = :${port}`]);
    if (stdout.trim()) break;
    if (child.exitCode !== null || i > 100) throw new Error(`Janus did not start (see ${logFile})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    wsUrl: `ws://127.0.0.1:${port}`,
    logFile,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** The Chromium of the tests, started inside the namespace through a small wrapper script. */
export async function launchBrowserInNetns(ns: Netns, workDir: string, extraArgs: string[] = []): Promise<TestBrowser> {
  const wrapper = join(workDir, 'chromium-in-netns.sh');
  await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${ns.name} /usr/bin/chromium "$@"\n`, { mode: 0o700 });
  return launchBrowser({ executablePath: wrapper, extraArgs, timeoutMs: 30_000 });
}

const PUBLISHER_PAGE = `<!doctype html><meta charset="utf-8"><title>publisher</title><p id="state">idle</p>`;

/**
 * In the page: Janus API over WebSocket, VideoRoom publisher with audio+video, recording on, non-trickle offer.
 * Resolves once the PeerConnection is connected; `window.hangup()` unpublishes and closes everything. Plain
 * JavaScript text, so that the test's TypeScript transform adds nothing the page lacks.
 */
const PUBLISH_SCRIPT = `async (o) => {
  const ws = new WebSocket(o.wsUrl, 'janus-protocol');
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  const pending = new Map();
  let pc = null;
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data));
    if (m.janus === 'trickle' && pc && m.candidate) { pc.addIceCandidate(m.candidate.completed ? null : m.candidate); return; }
    if (m.janus === 'ack' || !m.transaction) return;
    const done = pending.get(m.transaction);
    if (done) { pending.delete(m.transaction); done(m); }
  };
  const send = (msg) => new Promise((resolve) => {
    const transaction = Math.random().toString(36).slice(2);
    pending.set(transaction, resolve);
    ws.send(JSON.stringify({ ...msg, transaction }));
  });
  const session = await send({ janus: 'create' });
  const sid = session.data.id;
  const keepalive = setInterval(() => ws.send(JSON.stringify({ janus: 'keepalive', session_id: sid, transaction: 'k' })), 15000);
  const handle = await send({ janus: 'attach', session_id: sid, plugin: 'janus.plugin.videoroom' });
  const hid = handle.data.id;
  const msg = (body, jsep) => send({ janus: 'message', session_id: sid, handle_id: hid, body, ...(jsep ? { jsep } : {}) });
  if (o.create) {
    const r = await msg({ request: 'create', room: o.room, publishers: 4, audiocodec: 'opus', videocodec: 'vp8', record: false });
    if (r.plugindata?.data?.videoroom !== 'created') throw new Error('room not created: ' + JSON.stringify(r.plugindata?.data));
  }
  const joined = await msg({ request: 'join', ptype: 'publisher', room: o.room, display: o.display });
  if (joined.plugindata?.data?.videoroom !== 'joined') throw new Error('not joined: ' + JSON.stringify(joined.plugindata?.data));
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480, frameRate: 20 } });
  pc = new RTCPeerConnection({ iceServers: [] });
  for (const track of stream.getTracks()) pc.addTrack(track, stream);
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
  });
  const answer = await msg({ request: 'publish', audio: true, video: true, record: true, filename: o.recBase }, { type: 'offer', sdp: pc.localDescription.sdp });
  if (!answer.jsep) throw new Error('no answer: ' + JSON.stringify(answer.plugindata?.data));
  await pc.setRemoteDescription(answer.jsep);
  await new Promise((resolve, reject) => {
    const check = () => {
      if (pc.connectionState === 'connected') resolve();
      if (pc.connectionState === 'failed') reject(new Error('PeerConnection failed'));
    };
    pc.onconnectionstatechange = check;
    check();
  });
  document.getElementById('state').textContent = 'publishing';
  window.hangup = async () => {
    await msg({ request: 'unpublish' }).catch(() => undefined);
    await msg({ request: 'leave' }).catch(() => undefined);
    for (const t of stream.getTracks()) t.stop();
    pc.close();
    clearInterval(keepalive);
    ws.close();
  };
}`;

async function publish(page: Page, o: { wsUrl: string; room: number; create: boolean; display: string; recBase: string }): Promise<void> {
  await page.evaluate(`(${PUBLISH_SCRIPT})(${JSON.stringify(o)})`);
}

export interface RecordedCall {
  /** wall-clock times around the call, as the appliance would store admitted_at / ended_at */
  startedAt: Date;
  endedAt: Date;
  /** files Janus wrote into the session folder */
  files: string[];
}

export interface RecordCallOptions {
  wsUrl: string;
  /** the session's recording folder (made 0700 here) */
  sessionDir: string;
  seconds: number;
  /** a reconnect of the customer half-way: a second, marked segment */
  customerReconnects?: boolean;
}

/** Teller and customer publish into a fresh room for `seconds`, then hang up; Janus records both. */
export async function recordCall(browser: TestBrowser, o: RecordCallOptions): Promise<RecordedCall> {
  await mkdir(o.sessionDir, { recursive: true, mode: 0o700 });
  await chmod(o.sessionDir, 0o700);
  const room = 1 + Math.floor(Math.random() * 2 ** 40);
  const pageDir = await mkdtemp(join(tmpdir(), 'kyc-call-page-'));
  try {
    await writeFile(join(pageDir, 'index.html'), PUBLISHER_PAGE);
    const teller = await browser.newPage();
    const customer = await browser.newPage();
    await teller.goto(`file://${pageDir}/index.html`);
    await customer.goto(`file://${pageDir}/index.html`);
    const startedAt = new Date();
    await publish(teller, { wsUrl: o.wsUrl, room, create: true, display: 'teller', recBase: join(o.sessionDir, 'teller-s01') });
    await publish(customer, { wsUrl: o.wsUrl, room, create: false, display: 'customer', recBase: join(o.sessionDir, 'customer-s01') });
    const hangup = (p: Page) => p.evaluate('window.hangup()');
    if (o.customerReconnects) {
      await new Promise((r) => setTimeout(r, (o.seconds * 1000) / 2));
      await hangup(customer);
      await customer.reload();
      await publish(customer, { wsUrl: o.wsUrl, room, create: false, display: 'customer', recBase: join(o.sessionDir, 'customer-s02') });
      await new Promise((r) => setTimeout(r, (o.seconds * 1000) / 2));
    } else {
      await new Promise((r) => setTimeout(r, o.seconds * 1000));
    }
    await hangup(customer);
    await hangup(teller);
    const endedAt = new Date();
    // Janus closes (renames) the recordings once the publishers are gone
    for (let i = 0; i < 100; i++) {
      const names = await readdir(o.sessionDir);
      if (names.length > 0 && !names.some((n) => n.endsWith('.tmp'))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await teller.close();
    await customer.close();
    return { startedAt, endedAt, files: (await readdir(o.sessionDir)).sort() };
  } finally {
    await rm(pageDir, { recursive: true, force: true });
  }
}
