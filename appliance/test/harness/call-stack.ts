// The whole media path for tests and benchmarks, inside a private network namespace: our Janus (rendered
// config, candidates on the namespace's veth), the janode gateway, the signaling hub and route on a minimal
// Fastify app, a test page running the web call client, and headless Chromium — all real.
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import websocket from '@fastify/websocket';
import { build } from 'esbuild';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { JanusGateway } from '../../src/media/janus-gateway.js';
import type { JanusProcess } from '../../src/media/janus-process.js';
import type { JanusConfigOptions } from '../../src/media/janus-config.js';
import type { Party } from '../../src/media/protocol.js';
import { SignalingHub, signalingRoutes, SIGNALING_WEBSOCKET_OPTIONS, type SignalingEvent, type SignalingHubOptions, type SignalingIdentity } from '../../src/media/signaling.js';
import { launchBrowser, type TestBrowser } from './browser.js';
import { startTestJanus } from './janus.js';
import { createNetns, type Netns } from './netns.js';

const CALL_CLIENT_ENTRY = fileURLToPath(new URL('../../../web/src/lib/call/index.ts', import.meta.url));

let bundled: Promise<string> | null = null;
/** The web call client as one script defining the global `KycCall`. */
export function callClientBundle(): Promise<string> {
  bundled ??= build({ entryPoints: [CALL_CLIENT_ENTRY], bundle: true, format: 'iife', globalName: 'KycCall', target: 'chrome120', write: false }).then((r) => r.outputFiles[0]?.text ?? '');
  return bundled;
}

// The page drives one CallClient and keeps what the test asserts on: every event with its time, and helpers
// that read getStats(). Times are epoch milliseconds (performance.timeOrigin + now) so that two browsers
// on one machine share a clock.
const CALL_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>call</title>
<video id="local" autoplay muted playsinline width="160"></video>
<video id="remote" autoplay muted playsinline width="320"></video>
<script src="/call-client.js"></script>
<script>
  const now = () => performance.timeOrigin + performance.now();
  const params = new URLSearchParams(location.search);
  const url = 'ws://' + location.host + '/api/signaling?token=' + encodeURIComponent(params.get('token'));
  const client = new KycCall.CallClient({ url, reconnectDelaysMs: [100, 200, 400, 800], iceGraceMs: 1000 });
  const events = [];
  window.__client = client;
  window.__events = events;
  for (const name of ['state', 'peer', 'janus', 'chat', 'fallback', 'error', 'ended', 'peer-media', 'connection', 'recovery']) {
    client.on(name, (p) => events.push({ name, at: now(), data: p instanceof Error ? { code: p.code, message: p.message } : p }));
  }
  client.on('local-stream', (s) => { document.getElementById('local').srcObject = s; });
  client.on('remote-stream', (s) => {
    document.getElementById('remote').srcObject = s;
    events.push({ name: 'remote-stream', at: now(), data: s !== null });
  });
  window.__start = () => { window.__startedAt = now(); return client.start().then(() => window.__startedAt); };
  window.__eventsOf = (name) => events.filter((e) => e.name === name);
  // Resolves with the time framesDecoded was first seen above \`above\`, polling every 10 ms.
  window.__decoding = (above, timeoutMs) => new Promise((resolve, reject) => {
    const until = now() + timeoutMs;
    const poll = async () => {
      const s = await client.getStats();
      if (s.inboundVideo && s.inboundVideo.framesDecoded > above) return resolve(now());
      if (now() > until) return reject(new Error('no decoded video; stats ' + JSON.stringify(s)));
      setTimeout(poll, 10);
    };
    poll();
  });
</script>`;

export interface CallStackOptions {
  /** also called for every signaling event (after it is recorded in `events`); reject to refuse */
  onEvent?: (e: SignalingEvent) => Promise<void>;
  /** the stored chat of a session the hub has not seen yet (as after an appliance restart) */
  chatHistory?: SignalingHubOptions['chatHistory'];
  reconnectGraceMs?: number;
  rateLimit?: { burst: number; ratePerSec: number };
  /** the hub's join/slowlink counts */
  metrics?: SignalingHubOptions['metrics'];
  /** Janus's event handler: where it POSTs (an address reachable inside the namespace) */
  janusEventHandler?: JanusConfigOptions['eventHandler'];
}

export interface CallStack {
  ns: Netns;
  gateway: JanusGateway;
  hub: SignalingHub;
  app: FastifyInstance;
  /** http://127.0.0.1:<port>, as seen from inside the namespace */
  baseUrl: string;
  /** ws+unix URL of the signaling route, usable from this process (raw protocol tests) */
  signalingUrlFromHost(token: string): string;
  recordingRoot: string;
  janusLogFile: string;
  /** every signaling event, in order */
  events: SignalingEvent[];
  /** the TCP connection under each upgraded WebSocket, by token: destroy one to cut a socket */
  sockets: Map<string, Duplex>;
  /** a credential for `party` of `sessionId` (what the app's authenticate() would check) */
  credential(sessionId: string, party: Party): string;
  janus(): JanusProcess;
  stopJanus(): Promise<void>;
  startJanus(): Promise<void>;
  launchBrowser(): Promise<TestBrowser>;
  /** opens the test page for `token` in a new tab of `browser` */
  openCallPage(browser: TestBrowser, token: string): Promise<Page>;
  close(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function startCallStack(t: Teardown, opts: CallStackOptions = {}): Promise<CallStack> {
  const ns = await createNetns(t);
  const closers: (() => Promise<unknown>)[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const c of closers.reverse()) await c().catch(() => {});
    await ns.destroy();
  };
  t.teardown(close);

  const recordingRoot = join(ns.dir, 'recordings');
  await mkdir(recordingRoot, { mode: 0o700 });
  const janus = await startTestJanus(ns, { eventHandler: opts.janusEventHandler ?? null });
  closers.push(() => janus.stop());

  const gateway = new JanusGateway({ url: janus.url, roomAdminKey: janus.roomAdminKey, reconnectDelaysMs: [100, 200, 400] });
  gateway.start();
  closers.push(() => gateway.stop());
  await gateway.whenUp();

  const events: SignalingEvent[] = [];
  const hub = new SignalingHub({
    gateway,
    recordingDir: (sessionId) => join(recordingRoot, sessionId),
    onEvent: async (e) => {
      events.push(e);
      await opts.onEvent?.(e);
    },
    ...(opts.chatHistory ? { chatHistory: opts.chatHistory } : {}),
    ...(opts.reconnectGraceMs !== undefined ? { reconnectGraceMs: opts.reconnectGraceMs } : {}),
    ...(opts.rateLimit ? { rateLimit: opts.rateLimit } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
  closers.push(() => hub.shutdown());

  const identities = new Map<string, SignalingIdentity>();
  const tokenOf = (url: string | undefined) => new URL(url ?? '/', 'http://x').searchParams.get('token') ?? '';
  const app = Fastify({ logger: false });
  await app.register(websocket, { options: SIGNALING_WEBSOCKET_OPTIONS });
  const { handle, port } = await ns.listen();
  const baseUrl = `http://127.0.0.1:${port}`;
  await app.register(signalingRoutes, {
    hub,
    authenticate: async (request) => identities.get(tokenOf(request.url)) ?? null,
    // The test page's origin; raw clients in this process send none and are refused unless they set it.
    allowedOrigins: [baseUrl],
  });
  const script = await callClientBundle();
  app.get('/call', async (_req, reply) => reply.type('text/html; charset=utf-8').send(CALL_PAGE));
  app.get('/call-client.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(script));
  await app.ready();
  const sockets = new Map<string, Duplex>();
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex) => sockets.set(tokenOf(req.url), socket));
  await new Promise<void>((resolve) => app.server.listen(handle, resolve));
  closers.push(() => app.close());
  const appRelay = await ns.forward(port);

  const browsers: TestBrowser[] = [];
  closers.push(async () => Promise.all(browsers.map((b) => b.close())));
  const chromium = await ns.wrapper('/usr/bin/chromium');

  return {
    ns,
    gateway,
    hub,
    app,
    baseUrl,
    signalingUrlFromHost: (token) => `ws+unix:${appRelay}:/api/signaling?token=${encodeURIComponent(token)}`,
    recordingRoot,
    janusLogFile: janus.logFile,
    events,
    sockets,
    credential(sessionId, party) {
      const token = randomUUID();
      identities.set(token, { sessionId, party, actor: party === 'teller' ? { kind: 'teller', username: 'teller1' } : { kind: 'invitation', invitationId: `inv-${sessionId}` } });
      return token;
    },
    janus: () => janus.process(),
    stopJanus: () => janus.stop(),
    startJanus: () => janus.start(),
    async launchBrowser() {
      const b = await launchBrowser({ executablePath: chromium, timeoutMs: 30_000 });
      browsers.push(b);
      return b;
    },
    async openCallPage(browser, token) {
      const page = await browser.newPage();
      await page.goto(`${baseUrl}/call?token=${encodeURIComponent(token)}`);
      return page;
    },
    close,
  };
}
