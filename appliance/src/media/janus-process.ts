// Runs our own Janus (never Debian's janus.service): writes the rendered configuration into its own folder,
// starts the binary, waits until its WebSocket API answers, and stops it. Used by `make dev` and the tests;
// production runs the same files under systemd.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import { DEBIAN_JANUS_LIB_DIR, type JanusModuleInventory, type RenderedJanusConfig } from './janus-config.js';

export const JANUS_BINARY = '/usr/bin/janus';

/** Writes the rendered files; the folder is private (0700) and the files 0600, since they hold secrets. */
export async function writeJanusConfig(configDir: string, rendered: RenderedJanusConfig): Promise<void> {
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  await chmod(configDir, 0o700);
  for (const [name, content] of Object.entries(rendered.files)) {
    await writeFile(join(configDir, name), content, { mode: 0o600 });
    await chmod(join(configDir, name), 0o600);
  }
}

/** The module files installed under Janus's lib folder, so that every one we do not use gets disabled. */
export async function listJanusModules(libDir: string = DEBIAN_JANUS_LIB_DIR): Promise<JanusModuleInventory> {
  const soFiles = async (sub: string) => {
    try {
      return (await readdir(join(libDir, sub))).filter((f) => f.endsWith('.so')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  };
  return { plugins: await soFiles('plugins'), transports: await soFiles('transports'), events: await soFiles('events'), loggers: await soFiles('loggers') };
}

export interface JanusServerInfo {
  version: number;
  versionString: string;
  plugins: string[];
  transports: string[];
}

/**
 * Asks a Janus WebSocket API for its `info`. Resolves with the answer, rejects on any failure or after
 * `timeoutMs`. `url` may be ws://host:port or ws+unix:/path (the tests reach a namespaced Janus that way).
 */
export function probeJanus(url: string, opts: { apiSecret?: string | null; timeoutMs?: number } = {}): Promise<JanusServerInfo> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'janus-protocol', { handshakeTimeout: opts.timeoutMs ?? 2000 });
    const transaction = randomUUID();
    const timer = setTimeout(() => finish(new Error('Janus did not answer in time')), opts.timeoutMs ?? 2000);
    const finish = (err: Error | null, info?: JanusServerInfo) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      if (err) reject(err);
      else resolve(info as JanusServerInfo);
    };
    ws.on('error', (err) => finish(err));
    ws.on('close', () => finish(new Error('Janus closed the connection')));
    ws.on('open', () => {
      ws.send(JSON.stringify({ janus: 'info', transaction, ...(opts.apiSecret ? { apisecret: opts.apiSecret } : {}) }));
    });
    ws.on('message', (data) => {
      let msg: { janus?: string; transaction?: string; version?: number; version_string?: string; plugins?: object; transports?: object; error?: { reason?: string } };
      try {
        msg = JSON.parse(String(data));
      } catch {
        finish(new Error('Janus sent something that is not JSON'));
        return;
      }
      if (msg.transaction !== transaction) return;
      if (msg.janus === 'server_info') {
        finish(null, {
          version: Number(msg.version),
          versionString: String(msg.version_string),
          plugins: Object.keys(msg.plugins ?? {}),
          transports: Object.keys(msg.transports ?? {}),
        });
      } else {
        finish(new Error(`Janus refused info: ${msg.error?.reason ?? msg.janus}`));
      }
    });
  });
}

export interface JanusProcessOptions {
  /** from renderJanusConfig(); the files must already be in the config folder (writeJanusConfig) */
  args: string[];
  /** WebSocket URL to wait on (reachable from this process) */
  probeUrl: string;
  apiSecret?: string | null;
  binary?: string;
  /** start Janus inside this network namespace (`ip netns exec NAME janus …`, needs root) */
  netns?: string | null;
  /** default 15 s */
  startTimeoutMs?: number;
}

export interface JanusProcess {
  readonly pid: number;
  readonly info: JanusServerInfo;
  /** settles when the process has exited, however that happened */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5 s); resolves once the process is gone */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
/** A test or `make dev` that dies must not leave a Janus holding ports behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startJanus(opts: JanusProcessOptions): Promise<JanusProcess> {
  const binary = opts.binary ?? JANUS_BINARY;
  const [command, args] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, binary, ...opts.args]] : [binary, opts.args];
  installExitHook();
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  let exitedWith: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      exitedWith = { code, signal };
      resolve(exitedWith);
    });
    child.once('error', () => {
      running.delete(child);
      exitedWith = { code: null, signal: null };
      resolve(exitedWith);
    });
  });

  const stop = async (graceMs = 5000): Promise<void> => {
    if (exitedWith) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(killer);
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  let lastError: unknown;
  for (;;) {
    if (exitedWith) {
      const { code, signal } = exitedWith;
      throw new Error(`Janus exited during start-up (code ${code}, signal ${signal})${stderr ? `: ${stderr.trim()}` : ''}`);
    }
    try {
      const info = await probeJanus(opts.probeUrl, { apiSecret: opts.apiSecret ?? null, timeoutMs: 1000 });
      return {
        pid: child.pid ?? -1,
        info,
        exited,
        isRunning: () => exitedWith === null,
        stop,
      };
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      await stop(1000);
      throw new Error(`Janus did not answer on ${opts.probeUrl} in time: ${(lastError as Error)?.message ?? lastError}`);
    }
    await delay(100);
  }
}
