// A private network namespace for media tests. Janus skips loopback when it gathers ICE candidates, so media
// must flow over a real interface; inside a namespace of our own that interface (a veth end holding
// 127.0.0.2/32, named vj<N>) reaches nothing outside, and everything the test starts (Janus, Chromium) talks
// over it. This process stays outside the namespace and still serves and connects inside it:
// - listen(): a helper inside the namespace opens the listening socket and hands it over (Node IPC passes
//   socket handles), so a server in this process accepts connections made inside the namespace;
// - forward(): the helper relays a unix socket (filesystems are shared) to a TCP port inside the namespace.
// Needs root (ip netns).
import { spawn, execFile, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The address media uses inside the namespace (Janus and Chromium gather candidates on it). */
export const NETNS_MEDIA_ADDRESS = '127.0.0.2';

// Runs inside the namespace: opens listening sockets and unix→TCP relays on request. CommonJS text for `node -e`.
const HELPER = `
const net = require('net');
process.on('message', (m) => {
  if (m.op === 'listen') {
    const s = net.createServer();
    s.once('error', (e) => process.send({ id: m.id, error: e.message }));
    // The server is handed over; this process keeps no copy, so every connection goes to the parent.
    s.listen(m.port, m.host, () => process.send({ id: m.id, port: s.address().port }, s, () => s.close()));
  } else if (m.op === 'forward') {
    const s = net.createServer((client) => {
      const upstream = net.connect(m.port, m.host);
      client.pipe(upstream).pipe(client);
      const end = () => { client.destroy(); upstream.destroy(); };
      client.on('error', end); upstream.on('error', end); client.on('close', end); upstream.on('close', end);
    });
    s.once('error', (e) => process.send({ id: m.id, error: e.message }));
    s.listen(m.path, () => process.send({ id: m.id, path: m.path }));
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
`;

export interface Netns {
  /** the namespace's name (ip netns) */
  readonly name: string;
  /** the veth end holding NETNS_MEDIA_ADDRESS: give it to Janus as its media interface */
  readonly mediaInterface: string;
  /** a folder of this namespace's own (unix sockets, wrapper scripts); removed by destroy() */
  readonly dir: string;
  /** spawns a command inside the namespace */
  spawn(command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** a listening TCP socket inside the namespace, for `server.listen(handle)` in this process */
  listen(port?: number, host?: string): Promise<{ handle: Server; port: number }>;
  /** a unix socket path in `dir` that leads to host:port inside the namespace */
  forward(port: number, host?: string): Promise<string>;
  /** an executable script that runs `program` inside the namespace (e.g. Playwright's executablePath) */
  wrapper(program: string): Promise<string>;
  /** kills whatever still runs inside, deletes the namespace and the folder; harmless twice */
  destroy(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Creates a fresh namespace (lo up, veth pair vj<N>/vk<N> with 127.0.0.2/32 on vj<N>), torn down with `t`. */
export async function createNetns(t?: Teardown): Promise<Netns> {
  const n = randomInt(1000, 1_000_000);
  const name = `kyc-media-${process.pid}-${n}`;
  const mediaInterface = `vj${n}`;
  const peer = `vk${n}`;
  const inside = (...args: string[]) => run('ip', ['netns', 'exec', name, ...args]);
  await run('ip', ['netns', 'add', name]);
  let helper: ChildProcess | null = null;
  let dir = '';
  let destroyed = false;

  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    helper?.kill('SIGKILL');
    const { stdout } = await run('ip', ['netns', 'pids', name]).catch(() => ({ stdout: '' }));
    for (const pid of stdout.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await run('ip', ['netns', 'del', name]).catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  };
  t?.teardown(destroy);

  try {
    await inside('ip', 'link', 'set', 'lo', 'up');
    // Both ends are created inside the namespace, so their names cannot clash with other tests'.
    await run('ip', ['link', 'add', mediaInterface, 'netns', name, 'type', 'veth', 'peer', 'name', peer, 'netns', name]);
    await inside('ip', 'addr', 'add', `${NETNS_MEDIA_ADDRESS}/32`, 'dev', mediaInterface);
    await inside('ip', 'link', 'set', mediaInterface, 'up');
    await inside('ip', 'link', 'set', peer, 'up');
    dir = await mkdtemp(join(tmpdir(), 'kyc-netns-'));

    const child = spawn('ip', ['netns', 'exec', name, process.execPath, '-e', HELPER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    helper = child;
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`netns helper exited (${code})`)));
    });
  } catch (err) {
    await destroy();
    throw err;
  }

  let seq = 0;
  const ask = <T>(msg: Record<string, unknown>): Promise<{ reply: T; handle: unknown }> =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      const onMessage = (reply: { id?: number; error?: string }, handle: unknown) => {
        if (reply.id !== id) return;
        helper?.off('message', onMessage);
        if (reply.error) reject(new Error(reply.error));
        else resolve({ reply: reply as T, handle });
      };
      helper?.on('message', onMessage);
      helper?.send({ ...msg, id });
    });

  return {
    name,
    mediaInterface,
    dir,
    spawn: (command, args, options = {}) => spawn('ip', ['netns', 'exec', name, command, ...args], options),
    async listen(port = 0, host = '127.0.0.1') {
      const { reply, handle } = await ask<{ port: number }>({ op: 'listen', port, host });
      return { handle: handle as Server, port: reply.port };
    },
    async forward(port, host = '127.0.0.1') {
      const path = join(dir, `fwd-${host}-${port}.sock`);
      await ask({ op: 'forward', port, host, path });
      return path;
    },
    async wrapper(program) {
      const path = join(dir, `in-netns-${program.replace(/\W+/g, '_')}.sh`);
      await writeFile(path, `#!/bin/sh\nexec ip netns exec ${name} ${program} "$@"\n`);
      await chmod(path, 0o755);
      return path;
    },
    destroy,
  };
}
