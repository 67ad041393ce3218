// Crash suite: the appliance, the worker, Janus and PostgreSQL each killed with SIGKILL at least three times, at
// different moments of a recorded call (mid-call, just after hang-up, mid-seal), then started again. Afterwards every
// recording is sealed or failed with its reason (inputs kept), no plaintext media is left beside a sealed recording,
// no session stays live, the customer's link is refused once its session ended, and `kyc-audit verify` passes
// against the verifier key pinned before the first kill.
//
// Real parts: the appliance and the worker as their own processes (as systemd runs them), a private PostgreSQL
// cluster made for this test (the shared one is never killed), a real Janus in a network namespace, the dev IdP.
// Each call's media is the committed Janus recording of a real call (appliance/test/fixtures/recording-reconnect),
// placed in the session's folder as Janus writes it; the call itself (invitation, code, device check, consent,
// admission, hang-up) goes through the appliance's API. Needs root (initdb as postgres, ip netns).
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
import { freePort, newCaseBody } from '../helpers/appliance.js';
import { RECONNECT_FIXTURE, copyFixture, findPlaintextMedia, fixtureCallTimes, waitFor } from '../helpers/recording-fixtures.js';
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
  const idp = await startDevIdp({ port: 0, publicBaseUrl: publicUrl, clientSecret, onError: () => undefined });
  t.teardown(() => idp.close().catch(() => undefined));

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

  appliance.start();
  worker.start();
  await ready();
  const teller = await token('teller1');
  const auditor = await token('auditor1');
  // the verifier key, pinned before anything is killed
  const pinned = await api('GET', '/api/audit/verifier-key', { token: auditor });
  t.equal(pinned.status, 200, 'verifier key read before the first kill');
  const verifierKey = pinned.text.trim();
  t.ok(verifierKey.length > 10, 'a verifier key to pin');

  const window = await fixtureCallTimes();
  interface Call {
    caseId: string;
    sessionId: string;
    invitationToken: string;
    device: string;
  }
  /** invitation → code → device check → consent → admission, through the API; Janus's files of the call in place */
  const startCall = async (): Promise<Call> => {
    const c = await api('POST', '/api/cases', { token: teller, body: newCaseBody() });
    if (c.status !== 201) throw new Error(`case: ${c.status} ${JSON.stringify(c.json)}`);
    const caseId = String(c.json['id']);
    const inv = await api('POST', `/api/cases/${caseId}/invitations`, { token: teller });
    if (inv.status !== 201) throw new Error(`invitation: ${inv.status} ${JSON.stringify(inv.json)}`);
    const invitationToken = String(inv.json['url']).split('/').pop() ?? '';
    const code = String(inv.json['code']);
    const open = await api('POST', `/api/join/${invitationToken}/open`);
    const device = (open.cookies.find((x) => x.startsWith('__Host-kyc_device=')) ?? '').split(';')[0] ?? '';
    for (const [step, body] of [
      ['code', { code }],
      ['device-check', { camera: true, microphone: true }],
      ['consent', { accept: true, consentVersion: '2026-11' }],
    ] as const) {
      const r = await api('POST', `/api/join/${invitationToken}/${step}`, { cookie: device, body });
      if (r.status !== 200) throw new Error(`${step}: ${r.status} ${JSON.stringify(r.json)}`);
    }
    const admit = await api('POST', `/api/cases/${caseId}/admit`, { token: teller });
    if (admit.status !== 200) throw new Error(`admit: ${admit.status} ${JSON.stringify(admit.json)}`);
    const sessionId = String(admit.json['id']);
    // the call's media as Janus wrote it; the session placed at the recording's times
    await copyFixture(RECONNECT_FIXTURE, join(dataDir, 'recordings', sessionId));
    await su.query('UPDATE call_sessions SET admitted_at = $2 WHERE id = $1', [sessionId, window.admittedAt]);
    return { caseId, sessionId, invitationToken, device };
  };
  const hangup = async (call: Call) => {
    const r = await api('POST', `/api/sessions/${call.sessionId}/hangup`, { token: teller });
    if (r.status !== 200 && r.status !== 204) throw new Error(`hangup: ${r.status} ${JSON.stringify(r.json)}`);
    await su.query('UPDATE call_sessions SET ended_at = $2 WHERE id = $1', [call.sessionId, window.endedAt]);
  };
  const recordingOf = async (sessionId: string) =>
    (await su.query<{ id: string; status: string; step: string | null; failure_reason: string | null }>('SELECT id, status, step, failure_reason FROM recordings WHERE session_id = $1', [sessionId])).rows[0] ?? null;

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
      await waitFor('the appliance back on the database', async () => (await api('POST', '/api/cases', { token: teller, body: newCaseBody() }).catch(() => null))?.status === 201, 120_000).catch(
        (err: Error) => {
          t.comment(`appliance running: ${appliance.running()}\n${appliance.log().slice(-4000)}`);
          throw err;
        },
      );
    }
  };

  const calls: Call[] = [];
  /** every session ended (the sweep ends abandoned ones after the reconnect grace), every recording sealed or failed */
  const settle = (what: string) =>
    waitFor(
      what,
      async () => {
        const live = await su.query<{ c: string }>(`SELECT count(*)::text AS c FROM call_sessions WHERE state = 'live'`);
        const open = await su.query<{ c: string }>(`SELECT count(*)::text AS c FROM recordings WHERE status IN ('queued', 'processing')`);
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
  const rounds: [Component, Moment][] = [];
  for (const m of ['mid-call', 'after-hangup', 'mid-seal'] as const) for (const c of ['appliance', 'worker', 'janus', 'postgres'] as const) rounds.push([c, m]);
  for (const [component, moment] of rounds) {
    // mid-seal: alone in the queue, so that the kill falls while this call's recording is being sealed
    if (moment === 'mid-seal') await settle(`the recordings before ${component} mid-seal`);
    const call = await startCall().catch((err: Error) => {
      t.comment(appliance.log().slice(-3000));
      throw err;
    });
    calls.push(call);
    if (moment === 'mid-call') {
      await kill(component);
      await restart(component);
      // the appliance's own restart leaves nobody to hang up: the sweep must end the session by itself
      if (component !== 'appliance') await hangup(call).catch((err: Error) => t.comment(`hang-up after ${component} restart: ${err.message}`));
    } else if (moment === 'after-hangup') {
      await hangup(call);
      await kill(component);
      await restart(component);
    } else {
      await hangup(call);
      const mid = await waitFor('the seal to start', async () => {
        const r = await recordingOf(call.sessionId);
        return r && r.status !== 'queued' ? r : null;
      }, 120_000);
      if (mid.status === 'processing') caughtMidSeal[component]++;
      await kill(component);
      await restart(component);
    }
    t.comment(`${component} killed ${moment}`);
  }

  const settled = await settle('every recording sealed or failed');
  t.ok(settled, 'no session live, no recording queued or processing');

  let sealed = 0;
  let failed = 0;
  for (const call of calls) {
    const rec = await recordingOf(call.sessionId);
    const folder = join(dataDir, 'recordings', call.sessionId);
    if (rec?.status === 'sealed') {
      sealed++;
      const left = await readdir(folder).catch(() => []);
      t.same(left, [], `sealed ${rec.id}: no plaintext left in its recording folder`);
    } else {
      failed++;
      t.ok(rec?.failure_reason, `failed recording of ${call.sessionId} has its reason (${rec?.failure_reason})`);
      t.ok((await readdir(folder).catch(() => [])).length > 0, 'a failed recording keeps its inputs');
    }
    const state = await api('GET', `/api/join/${call.invitationToken}`, { cookie: call.device });
    const joined = await api('POST', `/api/join/${call.invitationToken}/open`, { cookie: call.device });
    t.not(state.json['step'], 'in_call', 'the customer link does not lead into the ended session');
    t.ok(joined.status >= 400 && joined.status < 500, `the customer link is refused after the session ended (${joined.status} ${String((joined.json['error'] as { code?: string } | undefined)?.code)})`);
  }
  t.same(await findPlaintextMedia(join(dataDir, 'archive')), [], 'no plaintext media in the archive');
  t.equal(sealed + failed, calls.length);

  await appliance.stop();
  await worker.stop();
  // the whole log against the key pinned before the first kill
  const checkpoints = join(dataDir, 'audit', 'checkpoints');
  t.ok((await stat(checkpoints)).isDirectory());
  const verify = await run(process.execPath, [KYC_AUDIT, 'verify', '--db', pgc.url('postgres'), '--checkpoints', checkpoints, '--verifier-key', verifierKey, '--archive', join(dataDir, 'archive')], {
    cwd: dir,
  }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
  t.equal(verify.code, 0, `kyc-audit verify passes with the pinned key\n${verify.out.slice(-2000)}`);

  t.comment(
    `crash: kills appliance=${kills.appliance} worker=${kills.worker} janus=${kills.janus} postgres=${kills.postgres}; ` +
      `caught mid-seal appliance=${caughtMidSeal.appliance} worker=${caughtMidSeal.worker} janus=${caughtMidSeal.janus} postgres=${caughtMidSeal.postgres}; ` +
      `recordings sealed=${sealed} failed=${failed}; exits by themselves (restarted as systemd would) appliance=${appliance.state.failures} worker=${worker.state.failures}`,
  );
  for (const c of Object.keys(kills) as Component[]) t.ok(kills[c] >= 3, `${c} killed ${kills[c]} times`);
});
