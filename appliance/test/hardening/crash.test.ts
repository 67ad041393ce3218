// Crash suite: the appliance, the worker, Janus and PostgreSQL each killed with SIGKILL at least three times, at
// different moments of a live recorded call (mid-call with media flowing, just after hang-up, mid-seal), then started
// again. Afterwards every recording is sealed or failed with its reason (inputs kept), no plaintext media is left
// beside a sealed recording, no session stays live, the customer's link is refused once its session ended, and
// `kyc-audit verify` passes against the verifier key pinned before the first kill.
//
// Real parts: the appliance and the worker as their own processes (as systemd runs them), a private PostgreSQL
// cluster made for this test (the shared one is never killed), a real Janus in a network namespace, the dev IdP, and
// two headless Chromium in that namespace running the built UI: the customer from the invitation link (code, device
// check, consent), the teller signed in through the IdP's login page admitting them. Both publish fake camera and
// microphone through the appliance's signaling into Janus, which writes the session's .mjr files itself; a call counts
// as live once each side decodes the other's video. The appliance and the IdP listen here and are relayed into the
// namespace at the same addresses. Needs root (initdb as postgres, ip netns) and the built UI (`make build`).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import t from 'tap';
import { applyMigrations } from '@kyc/compliance';
import { startDevIdp } from '../../src/dev-idp/server.js';
import { allMigrations } from '../../src/migrations-dir.js';
import type { Page } from 'playwright-core';
import { freePort, newCaseBody, relayIntoNetns, WEB_BUILD } from '../helpers/appliance.js';
import { findPlaintextMedia, waitFor } from '../helpers/recording-fixtures.js';
import { TRACK_PEER_CONNECTIONS, waitDecodingRises } from '../helpers/ui-browser.js';
import { launchBrowser, signInThroughIdp, spkiHash } from '../harness/browser.js';
import { startTestJanus } from '../harness/janus.js';
import { createNetns } from '../harness/netns.js';

const run = promisify(execFile);
// The built programs, as the units run them (`make test` builds first): compiling the whole tree with tsx on each of
// the dozen restarts would dominate the run time.
const SERVER = fileURLToPath(new URL('../../dist/server.js', import.meta.url));
const WORKER = fileURLToPath(new URL('../../dist/worker.js', import.meta.url));
const KYC_AUDIT = fileURLToPath(new URL('../../../compliance/dist/cli/kyc-audit.js', import.meta.url));
const PG_BIN = '/usr/lib/postgresql/15/bin';

type Component = 'appliance' | 'worker' | 'janus' | 'postgres';
type Moment = 'mid-call' | 'after-hangup' | 'mid-seal';

/** A PostgreSQL cluster of this test only: initdb into a temp folder, run as the postgres user, socket in the folder. */
async function privateCluster(dir: string) {
  const data = join(dir, 'pgdata');
  const sock = join(dir, 'pgsock');
  await mkdir(sock, { recursive: true });
  const { uid, gid } = await pgIds();
  await chown(dir, uid, gid);
  await chown(sock, uid, gid);
  const port = await freePort();
  const asPg = (cmd: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', cmd, ...args], { cwd: dir });
  await asPg(join(PG_BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const start = async () => {
    // after a SIGKILL the orphaned backends notice the postmaster's death and leave; until then the start is refused
    for (let i = 0; ; i++) {
      try {
        await asPg(join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'pg.log'), '-w', '-t', '30', '-o', `-p ${port} -k ${sock} -c listen_addresses='' -c fsync=off`, 'start']);
        return;
      } catch (err) {
        if (i > 40) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  await start();
  const url = (user: string, db = 'kyc') => `postgresql://${user}@/${db}?host=${encodeURIComponent(sock)}&port=${port}`;
  const su = new pg.Client({ connectionString: url('postgres', 'postgres') });
  await su.connect();
  await su.query('CREATE ROLE kyc_owner LOGIN CREATEDB; CREATE ROLE kyc_app LOGIN');
  await su.query('CREATE DATABASE kyc OWNER kyc_owner');
  await su.end();
  const kyc = new pg.Client({ connectionString: url('postgres') });
  await kyc.connect();
  await kyc.query('REVOKE ALL ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO kyc_owner; GRANT USAGE ON SCHEMA public TO kyc_app');
  await kyc.end();
  const owner = new pg.Pool({ connectionString: url('kyc_owner'), max: 1 });
  await applyMigrations(owner, allMigrations);
  await owner.end();
  return {
    url,
    async kill() {
      const pid = Number((await readFile(join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]);
      process.kill(pid, 'SIGKILL');
    },
    start,
    async stop() {
      await asPg(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
    },
  };
}

async function pgIds(): Promise<{ uid: number; gid: number }> {
  const { stdout } = await run('id', ['postgres']);
  const uid = Number(/uid=(\d+)/.exec(stdout)?.[1]);
  const gid = Number(/gid=(\d+)/.exec(stdout)?.[1]);
  return { uid, gid };
}

/**
 * A process of ours (appliance or worker) that can be killed and started again with the same configuration. Like its
 * systemd unit (Restart=on-failure), it is started again when it exits by itself; those exits are counted.
 */
function service(name: string, entry: string, env: Record<string, string>, cwd: string) {
  let child: ChildProcess | null = null;
  let log = '';
  let expectedExit = false;
  let closing = false;
  const state = { failures: 0 };
  const start = () => {
    expectedExit = false;
    const c = spawn(process.execPath, [entry], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
    child = c;
    c.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
    c.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
    c.once('exit', (code, signal) => {
      if (expectedExit || closing || child !== c) return;
      state.failures++;
      log += `\n[${name} exited by itself: ${code ?? signal}; started again]\n`;
      setTimeout(() => !closing && child === c && start(), 1000);
    });
  };
  const running = () => child !== null && child.exitCode === null && child.signalCode === null;
  return {
    state,
    start,
    running,
    async kill() {
      const c = child;
      if (!c || !running()) throw new Error(`${name} is not running`);
      expectedExit = true;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await gone;
    },
    async stop() {
      closing = true;
      const c = child;
      if (!c || !running()) return;
      expectedExit = true;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const force = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(force);
    },
    log: () => log,
  };
}

interface Answer {
  status: number;
  text: string;
  json: Record<string, unknown>;
  cookies: string[];
}

// Twelve recordings sealed by ffmpeg: minutes on a loaded two-core machine, beyond the suite's default file timeout;
// `make test` runs this file in its long group (appliance/scripts/run-tests.mjs --long), with a timeout of its own.
t.test('kill -9 of the appliance, the worker, Janus and PostgreSQL during recorded calls', { timeout: 1_500_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-crash-'));
  await chmod(dir, 0o755);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pgc = await privateCluster(dir);
  t.teardown(() => pgc.stop());
  // one connection per query: PostgreSQL is killed under this test's feet too
  const su = {
    async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
      const c = new pg.Client({ connectionString: pgc.url('postgres') });
      c.on('error', () => undefined);
      await c.connect();
      try {
        return await c.query<R>(sql, params);
      } finally {
        await c.end().catch(() => undefined);
      }
    },
  };

  const ns = await createNetns(t);
  const janus = await startTestJanus(ns);
  t.teardown(() => janus.stop());

  const dataDir = join(dir, 'data');
  await mkdir(join(dataDir, 'secrets'), { recursive: true, mode: 0o700 });
  const roomKeyFile = join(dataDir, 'secrets', 'janus-room-key');
  await writeFile(roomKeyFile, janus.roomAdminKey, { mode: 0o600 });
  const secretFile = join(dataDir, 'secrets', 'oidc-client-secret');
  const clientSecret = `crash-${Math.random().toString(36).slice(2)}`;
  await writeFile(secretFile, clientSecret, { mode: 0o600 });
  const port = await freePort();
  const publicUrl = `https://127.0.0.1:${port}`;
  const idp = await startDevIdp({ port: 0, publicBaseUrl: publicUrl, clientSecret, applianceCaFile: join(dataDir, 'pki', 'ca.crt'), onError: () => undefined });
  t.teardown(() => idp.close().catch(() => undefined));
  // the browsers run in the namespace: the appliance and the IdP are relayed there at the same addresses
  for (const p of [port, Number(new URL(idp.issuer).port)]) {
    const relay = await relayIntoNetns(ns, p);
    t.teardown(() => new Promise<void>((r) => relay.close(() => r())));
  }

  const common = {
    KYC_PROFILE: 'development',
    KYC_DATA_DIR: dataDir,
    KYC_DB_URL: pgc.url('kyc_app'),
    KYC_DB_MIGRATE_URL: pgc.url('kyc_owner'),
    KYC_OIDC_ISSUER: idp.issuer,
    KYC_OIDC_CLIENT_SECRET_FILE: secretFile,
    KYC_PUBLIC_URL: publicUrl,
    KYC_LISTEN_PORT: String(port),
    KYC_JANUS_WS_URL: janus.url,
    KYC_JANUS_ROOM_KEY_FILE: roomKeyFile,
    KYC_WORKER_IN_PROCESS: 'false',
    KYC_RECORDING_SETTLE_SECONDS: '1',
    KYC_SEAL_RECONCILE_SECONDS: '1',
    KYC_SEAL_CONCURRENCY: '2',
    KYC_SEAL_RETRY_DELAY_SECONDS: '1',
    KYC_SEAL_ORPHAN_SECONDS: '2',
    KYC_AUDIT_CHECKPOINT_EVERY_EVENTS: '1',
    KYC_AUDIT_CHECKPOINT_EVERY_SECONDS: '1',
    KYC_LOG_LEVEL: 'info',
    KYC_WEB_ROOT: WEB_BUILD,
    // tests run side by side: no fixed metrics port
    KYC_METRICS_LISTEN: 'off',
  };
  const appliance = service('appliance', SERVER, common, dataDir);
  const worker = service('worker', WORKER, common, dataDir);
  t.teardown(() => appliance.stop());
  t.teardown(() => worker.stop());

  let agent: Agent | null = null;
  const api = async (method: string, path: string, o: { token?: string; body?: unknown; cookie?: string } = {}): Promise<Answer> => {
    if (!agent) agent = new Agent({ keepAlive: false, ca: await readFile(join(dataDir, 'pki', 'ca.crt'), 'utf8') });
    const body = o.body === undefined ? null : Buffer.from(JSON.stringify(o.body));
    const headers: Record<string, string> = {};
    if (o.token) headers['authorization'] = `Bearer ${o.token}`;
    if (o.cookie) headers['cookie'] = o.cookie;
    if (body) headers['content-type'] = 'application/json';
    return new Promise((resolve, reject) => {
      const r = httpsRequest({ host: '127.0.0.1', port, method, path, headers, agent: agent ?? undefined, timeout: 20_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let json: Record<string, unknown> = {};
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            /* empty */
          }
          resolve({ status: res.statusCode ?? 0, text, json, cookies: res.headers['set-cookie'] ?? [] });
        });
      });
      r.on('timeout', () => r.destroy(new Error('timeout')));
      r.on('error', (err) => {
        // read the CA again next time: the first read may have raced with the appliance writing it
        agent = null;
        reject(err);
      });
      r.end(body ?? undefined);
    });
  };
  const ready = () =>
    waitFor('the appliance to answer', async () => (await api('GET', '/healthz').catch(() => null))?.status === 200, 180_000).catch((err: Error) => {
      t.comment(appliance.log().slice(-3000));
      throw err;
    });
  const token = async (username: string) => {
    const res = await fetch(`${idp.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'kyc-cli', username, password: username, scope: 'openid' }),
    });
    return ((await res.json()) as { access_token: string }).access_token;
  };

  const began = Date.now();
  const phases: string[] = [];
  const phase = (name: string) => phases.push(`${name} ${((Date.now() - began) / 1000).toFixed(0)} s`);
  appliance.start();
  worker.start();
  await ready();
  // the IdP's access tokens live for minutes, the run for longer: the teller's is fetched again when it gets old
  let tellerToken = { token: await token('teller1'), at: Date.now() };
  const teller = async () => {
    if (Date.now() - tellerToken.at > 60_000) tellerToken = { token: await token('teller1'), at: Date.now() };
    return tellerToken.token;
  };
  const auditor = await token('auditor1');
  // the verifier key, pinned before anything is killed
  const pinned = await api('GET', '/api/audit/verifier-key', { token: auditor });
  t.equal(pinned.status, 200, 'verifier key read before the first kill');
  const verifierKey = pinned.text.trim();
  t.ok(verifierKey.length > 10, 'a verifier key to pin');

  // Two browsers for the whole run, each as on its own machine: the teller signed in once through the IdP's login page
  // (the sign-in is kept in the database, so it outlives the appliance's restarts), the customer opening each link.
  const chromium = await ns.wrapper('/usr/bin/chromium');
  const trustedSpkiHashes = [spkiHash(await readFile(join(dataDir, 'pki', 'ca.crt'), 'utf8'))];
  const tellerBrowser = await launchBrowser({ executablePath: chromium, trustedSpkiHashes, timeoutMs: 30_000 });
  t.teardown(() => tellerBrowser.close());
  const customerBrowser = await launchBrowser({ executablePath: chromium, trustedSpkiHashes, timeoutMs: 30_000, viewport: { width: 390, height: 844 } });
  t.teardown(() => customerBrowser.close());
  for (const b of [tellerBrowser, customerBrowser]) await b.context.addInitScript(TRACK_PEER_CONNECTIONS);
  const signIn = await tellerBrowser.newPage();
  await signIn.goto(publicUrl);
  await signInThroughIdp(signIn, publicUrl, 'teller1', 'teller1');
  await signIn.close();

  interface Call {
    caseId: string;
    sessionId: string;
    invitationToken: string;
    device: string;
    pages: Page[];
    /** each side decoded the other's video before the kill or the hang-up */
    live: boolean;
  }
  /**
   * A live call: the case and invitation through the API, the customer through the link in the UI (code, device check,
   * consent), admitted by the teller in the UI; both publish into Janus until each decodes the other's video.
   */
  const startCall = async (): Promise<Call> => {
    const c = await api('POST', '/api/cases', { token: await teller(), body: newCaseBody() });
    if (c.status !== 201) throw new Error(`case: ${c.status} ${JSON.stringify(c.json)}`);
    const caseId = String(c.json['id']);
    const inv = await api('POST', `/api/cases/${caseId}/invitations`, { token: await teller() });
    if (inv.status !== 201) throw new Error(`invitation: ${inv.status} ${JSON.stringify(inv.json)}`);
    const link = String(inv.json['url']);
    const invitationToken = link.split('/').pop() ?? '';
    const customer = await customerBrowser.newPage();
    await customer.goto(link);
    await customer.getByTestId('join-code-input').fill(String(inv.json['code']));
    await customer.getByTestId('join-code-submit').click();
    await customer.getByTestId('device-check-ok').click({ timeout: 30_000 });
    await customer.getByTestId('consent-accept').click();
    await customer.getByTestId('waiting-room').waitFor();
    const device = (await customerBrowser.context.cookies(publicUrl)).find((x) => x.name === '__Host-kyc_device');
    if (!device) throw new Error("no device cookie in the customer's browser");
    const tellerPage = await tellerBrowser.newPage();
    await tellerPage.goto(`${publicUrl}/cases/${caseId}`);
    await tellerPage.getByTestId('admit-button').click({ timeout: 30_000 });
    await tellerPage.getByTestId('remote-video').waitFor({ timeout: 30_000 });
    await customer.getByTestId('remote-video').waitFor({ timeout: 30_000 });
    const sessions = await api('GET', `/api/cases/${caseId}/sessions`, { token: await teller() });
    const listed = (sessions.json['items'] ?? sessions.json) as { id: string }[];
    const sessionId = listed[0]?.id ?? '';
    if (!sessionId) throw new Error(`no session: ${sessions.status} ${sessions.text}`);
    const [[tFirst, tLater], [cFirst, cLater]] = await Promise.all([waitDecodingRises(tellerPage), waitDecodingRises(customer)]);
    const live = tFirst > 0 && tLater > tFirst && cFirst > 0 && cLater > cFirst;
    t.comment(`call ${sessionId}: teller decodes ${tFirst} → ${tLater} frames, customer ${cFirst} → ${cLater}`);
    return { caseId, sessionId, invitationToken, device: `${device.name}=${device.value}`, pages: [tellerPage, customer], live };
  };
  /** the teller hangs up in the UI; both sides see the end */
  const hangupInUi = async (call: Call) => {
    const [tellerPage, customer] = call.pages;
    await tellerPage?.getByTestId('hangup-button').click();
    await tellerPage?.getByTestId('session-ended').waitFor({ timeout: 15_000 });
    await customer?.locator('[data-testid="join-refusal"][data-reason="ended"]').waitFor({ timeout: 15_000 });
  };
  /** after a kill the UI may be recovering: the teller's hang-up through the API */
  const hangup = async (call: Call) => {
    const r = await api('POST', `/api/sessions/${call.sessionId}/hangup`, { token: await teller() });
    if (r.status !== 200 && r.status !== 204) throw new Error(`hangup: ${r.status} ${JSON.stringify(r.json)}`);
  };
  const closePages = async (call: Call) => {
    for (const p of call.pages) await p.close().catch(() => undefined);
  };
  const recordingOf = async (sessionId: string) =>
    (
      await su.query<{ id: string; status: string; step: string | null; failure_reason: string | null }>('SELECT id, status, step, failure_reason FROM recordings WHERE session_id = $1', [
        sessionId,
      ])
    ).rows[0] ?? null;

  const kills: Record<Component, number> = { appliance: 0, worker: 0, janus: 0, postgres: 0 };
  const caughtMidSeal: Record<Component, number> = { appliance: 0, worker: 0, janus: 0, postgres: 0 };
  const kill = async (c: Component) => {
    kills[c]++;
    if (c === 'appliance') await appliance.kill();
    else if (c === 'worker') await worker.kill();
    else if (c === 'janus') process.kill(janus.process().pid, 'SIGKILL');
    else await pgc.kill();
  };
  const restart = async (c: Component) => {
    if (c === 'appliance') {
      appliance.start();
      await ready();
    } else if (c === 'worker') worker.start();
    else if (c === 'janus') {
      await janus.stop().catch(() => undefined);
      await janus.start();
    } else {
      await pgc.start();
      await waitFor(
        'the appliance back on the database',
        async () => (await api('POST', '/api/cases', { token: await teller(), body: newCaseBody() }).catch(() => null))?.status === 201,
        120_000,
      ).catch((err: Error) => {
        t.comment(`appliance running: ${appliance.running()}\n${appliance.log().slice(-4000)}`);
        throw err;
      });
    }
  };

  const calls: Call[] = [];
  /** every session ended (the sweep ends abandoned ones after the reconnect grace), every recording sealed or failed */
  const settle = (what: string) =>
    waitFor(
      what,
      async () => {
        const live = await su.query<{ c: string }>(`SELECT count(*)::text AS c FROM call_sessions WHERE state = 'live'`);
        // a failure that will be retried is still open: the worker claims it again (and clears its reason)
        const open = await su.query<{ c: string }>(`SELECT count(*)::text AS c FROM recordings WHERE status IN ('queued', 'processing') OR (status = 'failed' AND will_retry)`);
        const recs = await su.query<{ c: string }>('SELECT count(*)::text AS c FROM recordings');
        return live.rows[0]?.c === '0' && open.rows[0]?.c === '0' && Number(recs.rows[0]?.c) === calls.length;
      },
      600_000,
    ).catch(async (err: Error) => {
      t.comment(worker.log().slice(-3000));
      t.comment(JSON.stringify((await su.query('SELECT id, state, end_reason FROM call_sessions')).rows));
      t.comment(JSON.stringify((await su.query('SELECT session_id, status, step, failure_reason FROM recordings')).rows));
      throw err;
    });
  phase('set up (appliance, worker, browsers, teller signed in)');
  const rounds: [Component, Moment][] = [];
  for (const m of ['mid-call', 'after-hangup', 'mid-seal'] as const) for (const c of ['appliance', 'worker', 'janus', 'postgres'] as const) rounds.push([c, m]);
  const roundOf = new Map<string, string>();
  /** mid-call kills of Janus, the worker and PostgreSQL after which both sides decoded video again */
  const mediaAfterRestart: string[] = [];
  for (const [component, moment] of rounds) {
    const call = await startCall().catch((err: Error) => {
      t.comment(appliance.log().slice(-3000));
      throw err;
    });
    calls.push(call);
    roundOf.set(call.sessionId, `${component} ${moment}`);
    if (moment === 'mid-call') {
      // media flowing: both sides have just decoded each other's video
      await kill(component);
      if (component === 'appliance') {
        // the parties give up while it is down: nobody comes back, so the restarted appliance must end the session itself
        await closePages(call);
        await restart(component);
      } else {
        await restart(component);
        const decoding = await Promise.all(call.pages.map((p) => waitDecodingRises(p, 10_000).catch(() => [0, 0] as const)));
        if (decoding.every(([first, later]) => first > 0 && later > first)) mediaAfterRestart.push(component);
        await hangup(call).catch((err: Error) => t.comment(`hang-up after ${component} restart: ${err.message}`));
        await closePages(call);
      }
    } else if (moment === 'after-hangup') {
      await hangupInUi(call);
      await kill(component);
      await closePages(call);
      await restart(component);
    } else {
      await hangupInUi(call);
      await closePages(call);
      // the kill falls once this call's recording is being sealed (earlier ones may still be sealed beside it)
      const mid = await waitFor(
        'the seal to start',
        async () => {
          const r = await recordingOf(call.sessionId);
          return r && r.status !== 'queued' ? r : null;
        },
        600_000,
      );
      if (mid.status === 'processing') caughtMidSeal[component]++;
      await kill(component);
      await restart(component);
    }
    t.comment(`${component} killed ${moment}`);
  }

  phase('calls and kills done');
  const settled = await settle('every recording sealed or failed');
  phase('all sealed or failed');
  t.ok(settled, 'no session live, no recording queued, processing or waiting for a retry');

  let sealed = 0;
  let failed = 0;
  const outcomes: string[] = [];
  for (const call of calls) {
    const round = roundOf.get(call.sessionId) ?? '?';
    const rec = await recordingOf(call.sessionId);
    const folder = join(dataDir, 'recordings', call.sessionId);
    const session = (await su.query<{ state: string; end_reason: string | null }>('SELECT state, end_reason FROM call_sessions WHERE id = $1', [call.sessionId])).rows[0];
    t.equal(session?.state, 'ended', `${round}: the session ended (${session?.end_reason})`);
    // nobody came back after the appliance's restart: the restarted appliance ended the session by itself
    if (round === 'appliance mid-call') t.match(session?.end_reason, /appliance restart/, 'the restarted appliance ended the abandoned session');
    if (rec?.status === 'sealed') {
      sealed++;
      const left = await readdir(folder).catch(() => []);
      t.same(left, [], `${round}: sealed ${rec.id}, no plaintext left in its recording folder`);
      // what Janus recorded of the live call: both parties, with media
      const view = await api('GET', `/api/sessions/${call.sessionId}/recording`, { token: await teller() });
      const parties = (view.json['parties'] ?? []) as { party: string; durationMs: number; bytes: number }[];
      const issues = ((view.json['issues'] ?? []) as { code: string }[]).map((i) => i.code);
      for (const party of ['teller', 'customer']) {
        const p = parties.find((x) => x.party === party);
        t.ok(p && p.durationMs > 1000 && p.bytes > 10_000, `${round}: ${party} sealed with ${p?.durationMs} ms, ${p?.bytes} bytes`);
      }
      // Janus killed while writing: the files it never closed are sealed with what they hold, and that is noted
      if (round === 'janus mid-call') t.ok(issues.includes('stream_unclosed'), `janus mid-call: the unclosed streams are noted (${issues.join(', ')})`);
      outcomes.push(`${round}: sealed ${parties.map((p) => `${p.party} ${(p.durationMs / 1000).toFixed(1)} s`).join(', ')}${issues.length ? ` [${[...new Set(issues)].join(', ')}]` : ''}`);
    } else {
      failed++;
      t.ok(rec?.failure_reason, `${round}: failed recording of ${call.sessionId} has its reason (${rec?.failure_reason})`);
      t.ok((await readdir(folder).catch(() => [])).length > 0, `${round}: a failed recording keeps its inputs`);
      outcomes.push(`${round}: failed (${rec?.failure_reason})`);
    }
    const state = await api('GET', `/api/join/${call.invitationToken}`, { cookie: call.device });
    const joined = await api('POST', `/api/join/${call.invitationToken}/open`, { cookie: call.device });
    t.not(state.json['step'], 'in_call', 'the customer link does not lead into the ended session');
    t.ok(
      joined.status >= 400 && joined.status < 500,
      `the customer link is refused after the session ended (${joined.status} ${String((joined.json['error'] as { code?: string } | undefined)?.code)})`,
    );
  }
  t.same(await findPlaintextMedia(join(dataDir, 'archive')), [], 'no plaintext media in the archive');
  t.equal(sealed + failed, calls.length);

  await appliance.stop();
  await worker.stop();
  // the whole log against the key pinned before the first kill
  const checkpoints = join(dataDir, 'audit', 'checkpoints');
  t.ok((await stat(checkpoints)).isDirectory());
  const verify = await run(
    process.execPath,
    [KYC_AUDIT, 'verify', '--db', pgc.url('postgres'), '--checkpoints', checkpoints, '--verifier-key', verifierKey, '--archive', join(dataDir, 'archive')],
    {
      cwd: dir,
    },
  ).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
  t.equal(verify.code, 0, `kyc-audit verify passes with the pinned key\n${verify.out.slice(-2000)}`);

  t.comment(`elapsed: ${phases.join(', ')}`);
  t.comment(`outcomes:\n${outcomes.join('\n')}`);
  const live = calls.filter((c) => c.live).length;
  t.equal(live, calls.length, "every call had live media (each side decoded the other's video) before its kill or hang-up");
  t.comment(
    `crash: live calls ${live}/${calls.length} (kills per moment: ${rounds.map(([c, m]) => `${c} ${m}`).join(', ')}); ` +
      `media flowing again after a mid-call restart of ${mediaAfterRestart.join(', ') || 'none'}; kills appliance=${kills.appliance} worker=${kills.worker} janus=${kills.janus} postgres=${kills.postgres}; ` +
      `caught mid-seal appliance=${caughtMidSeal.appliance} worker=${caughtMidSeal.worker} janus=${caughtMidSeal.janus} postgres=${caughtMidSeal.postgres}; ` +
      `recordings sealed=${sealed} failed=${failed}; exits by themselves (restarted as systemd would) appliance=${appliance.state.failures} worker=${worker.state.failures}`,
  );
  for (const c of Object.keys(kills) as Component[]) t.ok(kills[c] >= 3, `${c} killed ${kills[c]} times`);
});
