import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/dev-idp/main.ts', import.meta.url));

interface Running {
  child: ChildProcess;
  issuer: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts main.ts as `make dev` would (through tsx) and waits for it to print its issuer. */
async function startMain(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const issuer = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /issuer: (http\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    void exited.then(({ code }) => reject(new Error(`main.js exited (${code}) before it was ready:\n${out}`)));
  });
  return { child, issuer, output: () => out, exited };
}

async function kid(issuer: string): Promise<string | undefined> {
  const res = await fetch(`${issuer}/protocol/openid-connect/certs`);
  const { keys } = (await res.json()) as { keys: { kid?: string }[] };
  return keys[0]?.kid;
}

t.test('runs from argv, creates its secret and keys, keeps them across restarts, stops on SIGTERM and SIGINT', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dev-idp-main-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const secretFile = join(dir, 'secrets', 'oidc-client-secret');
  const dataDir = join(dir, 'dev-idp');
  const args = ['--port', '0', '--public-url', 'https://127.0.0.1:8443', '--client-secret-file', secretFile, '--data-dir', dataDir];

  const first = await startMain(args);
  t.teardown(() => first.child.kill('SIGKILL'));
  t.match(first.issuer, /^http:\/\/127\.0\.0\.1:\d+\/realms\/kyc$/);
  for (const user of ['teller1', 'teller2', 'auditor1', 'admin1']) {
    t.ok(first.output().includes(user), `prints demo user ${user}`);
  }
  const secret = await readFile(secretFile, 'utf8');
  t.ok(secret.trim().length >= 32, 'secret created');
  t.equal((await stat(secretFile)).mode & 0o777, 0o600, 'secret file is private');
  t.equal((await stat(join(dataDir, 'jwks.json'))).mode & 0o777, 0o600, 'key file is private');
  const kid1 = await kid(first.issuer);
  t.type(kid1, 'string');

  first.child.kill('SIGTERM');
  t.same(await first.exited, { code: 0, signal: null }, 'SIGTERM: clean exit');

  const second = await startMain(args);
  t.teardown(() => second.child.kill('SIGKILL'));
  t.equal(await kid(second.issuer), kid1, 'same signing key after a restart');
  t.equal(await readFile(secretFile, 'utf8'), secret, 'secret kept');
  const token = await fetch(`${second.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'kyc-cli', username: 'teller1', password: 'teller1' }),
  });
  t.equal(token.status, 200, 'serves tokens');
  second.child.kill('SIGINT');
  t.same(await second.exited, { code: 0, signal: null }, 'SIGINT: clean exit');
});

t.test('refuses to start without a client secret file', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString('utf8');
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.equal(code, 1);
  t.match(err, /--client-secret-file/);
});
