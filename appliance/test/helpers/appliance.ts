import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { AuditEvent } from '@kyc/compliance';
import { createTestDatabase, type TestDatabase } from '@kyc/compliance/testing';
import { buildApp } from '../../src/app.js';
import { createRuntime, type Runtime } from '../../src/bootstrap.js';
import { loadConfig, type AppConfig } from '../../src/config/load.js';
import type { Clock } from '../../src/lib/clock.js';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/server.js';
import { allMigrations } from '../../src/migrations-dir.js';
import { seedProducts } from '../../src/kyc/seed.js';
import { ensureOwnTls } from '../../src/pki/certificate-authority.js';
import type { Netns } from '../harness/netns.js';

export const WEB_BUILD = fileURLToPath(new URL('../../../web/build/', import.meta.url));

export interface Teardown {
  teardown(fn: () => unknown): void;
  /** present on tap tests: a background failure fails the test that caused it */
  fail?(message: string): unknown;
}

/** Connections to host:port inside the namespace are piped to the same address in this process's namespace. */
export async function relayIntoNetns(ns: Netns, port: number): Promise<Server> {
  const { handle } = await ns.listen(port, '127.0.0.1');
  const open = new Set<Socket>();
  const relay = createServer((inside) => {
    const outside = connect(port, '127.0.0.1');
    open.add(inside).add(outside);
    inside.pipe(outside).pipe(inside);
    const end = () => {
      inside.destroy();
      outside.destroy();
      open.delete(inside);
      open.delete(outside);
    };
    for (const s of [inside, outside]) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  // Closing the relay ends what still runs through it: close() alone would wait for every connection, and one whose
  // ends were killed (a process of the test under kill -9, a closed browser) can stay half-open for ever.
  const close = relay.close.bind(relay);
  relay.close = ((callback?: (err?: Error) => void) => {
    for (const s of open) s.destroy();
    open.clear();
    return close(callback);
  }) as typeof relay.close;
  await new Promise<void>((resolve) => relay.listen(handle, () => resolve()));
  return relay;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface TestAppliance {
  app: FastifyInstance;
  db: TestDatabase;
  idp: DevIdp;
  config: AppConfig;
  runtime: Runtime;
  /** base URL when started with `listen: true` */
  baseUrl: string;
  caCertPath: string | null;
  /** an access token for a demo user from the dev IdP's password grant (client kyc-cli) */
  tokenFor(username: string, fresh?: boolean): Promise<string>;
  /** every audit event written so far, in log order (sequences what is committed first) */
  auditEvents(): Promise<AuditEvent[]>;
}

export interface TestApplianceOptions {
  /** listen on HTTPS on a free port (browser tests); otherwise use inject() */
  listen?: boolean;
  /**
   * Serve inside this network namespace instead (live-call tests): the appliance listens there, and the dev IdP,
   * which runs in this process, is reachable there at the same address as here through an in-process relay.
   */
  netns?: Netns;
  webRoot?: string | null;
  env?: Record<string, string>;
  /**
   * Background failures (audit sequencer and checkpointer, the in-process worker, session purge, face hook) fail the
   * test by default; a test that provokes them on purpose names the ones it expects.
   */
  expectBackgroundErrors?: RegExp;
  /** the appliance's clock (sessions, cached tokens, service offers); a ManualClock lets a test reach an expiry without waiting */
  clock?: Clock;
}

/**
 * A real appliance for a test: its own database (all migrations), the real dev IdP on a free port, secrets in a
 * temporary data dir. Everything is torn down with the test.
 */
export async function startTestAppliance(t: Teardown, opts: TestApplianceOptions = {}): Promise<TestAppliance> {
  const backgroundErrors: string[] = [];
  // registered first, so it runs last: after the appliance closed (its final checkpoint, the worker's shutdown)
  t.teardown(() => {
    for (const e of backgroundErrors) t.fail?.(`background failure: ${e}`);
  });
  const onBackgroundError = (what: string, err: unknown): void => {
    const inner = err !== null && typeof err === 'object' && 'err' in err ? (err as { err: unknown }).err : err;
    const text = `${what}: ${inner instanceof Error ? inner.message : JSON.stringify(err)}`;
    if (!opts.expectBackgroundErrors?.test(text)) backgroundErrors.push(text);
  };
  const db = await createTestDatabase(allMigrations);
  t.teardown(() => db.drop());
  const dataDir = mkdtempSync(join(tmpdir(), 'kyc-appliance-'));
  const secretFile = join(dataDir, 'oidc-client-secret');
  const clientSecret = `test-secret-${Math.random().toString(36).slice(2)}`;
  writeFileSync(secretFile, clientSecret, { mode: 0o600 });
  const listening = opts.listen || opts.netns !== undefined;
  const port = listening ? await freePort() : 8443;
  const publicUrl = `https://127.0.0.1:${port}`;
  const idp = await startDevIdp({ port: 0, publicBaseUrl: publicUrl, clientSecret, applianceCaFile: join(dataDir, 'pki', 'ca.crt'), onError: () => undefined });
  t.teardown(() => idp.close().catch(() => undefined));
  if (opts.netns) {
    const idpPort = Number(new URL(idp.issuer).port);
    const relay = await relayIntoNetns(opts.netns, idpPort);
    t.teardown(() => new Promise<void>((r) => relay.close(() => r())));
  }
  const config = loadConfig({
    env: {
      KYC_PROFILE: 'development',
      KYC_DATA_DIR: dataDir,
      KYC_DB_URL: db.appUrl,
      KYC_DB_MIGRATE_URL: db.ownerUrl,
      KYC_OIDC_ISSUER: idp.issuer,
      KYC_OIDC_CLIENT_SECRET_FILE: secretFile,
      KYC_PUBLIC_URL: publicUrl,
      KYC_LISTEN_PORT: String(port),
      KYC_LOG_LEVEL: 'silent',
      // tests run side by side: a test that scrapes sets its own free port
      KYC_METRICS_LISTEN: 'off',
      ...opts.env,
    },
    cwd: dataDir,
    allowMissingGeneratedSecrets: true,
  });
  const runtime = await createRuntime(config, onBackgroundError, undefined, opts.clock);
  await seedProducts(runtime.ctx.pool);
  const tls = listening ? ensureOwnTls(dataDir, ['127.0.0.1', 'localhost']) : null;
  const app = await buildApp(runtime.ctx, {
    logger: false,
    webRoot: opts.webRoot === undefined ? null : opts.webRoot,
    https: tls ? { cert: tls.cert, key: tls.key } : undefined,
  });
  app.addHook('onClose', async () => runtime.close());
  t.teardown(() => app.close());
  if (opts.netns) {
    const { handle } = await opts.netns.listen(port, '127.0.0.1');
    await app.ready();
    await new Promise<void>((resolve, reject) => {
      app.server.once('error', reject);
      app.server.listen(handle, () => resolve());
    });
  } else if (opts.listen) await app.listen({ host: '127.0.0.1', port });
  else await app.ready();
  const tokens = new Map<string, string>();
  return {
    app,
    db,
    idp,
    config,
    runtime,
    baseUrl: publicUrl,
    caCertPath: tls?.caCertPath ?? null,
    async auditEvents() {
      await runtime.auditLog.sequence();
      const all: AuditEvent[] = [];
      let cursor: string | null = null;
      do {
        const page = await runtime.auditLog.listEvents({}, cursor, 1000);
        all.push(...page.events.map((e) => e.event));
        cursor = page.nextCursor;
      } while (cursor);
      return all;
    },
    async tokenFor(username: string, fresh = false) {
      const cached = tokens.get(username);
      if (cached && !fresh) return cached;
      const res = await fetch(`${idp.issuer}/protocol/openid-connect/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'password', client_id: 'kyc-cli', username, password: username, scope: 'openid' }),
      });
      if (!res.ok) throw new Error(`password grant for ${username} failed: ${res.status} ${await res.text()}`);
      const token = ((await res.json()) as { access_token: string }).access_token;
      tokens.set(username, token);
      return token;
    },
  };
}

/** A 1×1 PNG. */
export const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a1b3f1e40000000049454e44ae426082', 'hex');

/** A multipart/form-data body with one `file` field, for inject(). */
export function multipartFile(filename: string, content: Buffer, type = 'application/octet-stream'): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----kyc${Math.random().toString(16).slice(2)}`;
  const payload = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`),
    content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** A valid new-case body (test data: the GB 11643 worked example, a test mobile number, a Luhn-valid card). */
export function newCaseBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    customerName: '张三',
    customerIdNumber: '11010519491231002X',
    customerPhone: '13812345678',
    bankCard: '4111111111111111',
    // a catalogue product without required steps: completion needs no script (see appliance/src/kyc/seed.ts)
    product: 'VIDEO-WITNESS',
    ...overrides,
  };
}
