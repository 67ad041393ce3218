// A booted Debian 12 container for the install test: a copy of the cached root (ansible/test/rootfs.sh) run by
// `systemd-nspawn -b` with a private network (loopback only: nothing it runs reaches, or is reached from, outside
// the namespaces this test makes). Commands enter it with nsenter, the way Ansible's community.docker.nsenter
// connection does. Needs root.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program, collecting its output; never throws on a non-zero exit (callers decide). */
export function run(cmd: string, args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // stdin only when there is input: a program that exits before reading it would otherwise fail the write (EPIPE).
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : null;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
  });
}

/** Like run(), but a non-zero exit is an error carrying the output. */
export async function must(cmd: string, args: readonly string[], opts: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The container's init: the process below nspawn whose innermost PID is 1. */
async function findInit(nspawnPid: number): Promise<number | null> {
  const queue = [nspawnPid];
  while (queue.length) {
    const pid = queue.shift()!;
    let children: string[] = [];
    try {
      const tasks = await readdir(`/proc/${pid}/task`);
      for (const tid of tasks) {
        children.push(...(await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8')).split(/\s+/).filter(Boolean));
      }
    } catch {
      children = [];
    }
    for (const c of children.map(Number)) {
      try {
        const status = await readFile(`/proc/${c}/status`, 'utf8');
        const nspid = /^NSpid:\s+(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
        if (nspid.length > 1 && nspid[nspid.length - 1] === '1') return c;
      } catch {
        // gone
      }
      queue.push(c);
    }
  }
  return null;
}

/** The environment commands get inside the container. */
export const CONTAINER_ENV: NodeJS.ProcessEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' };

export class Container {
  private constructor(
    readonly name: string,
    /** the container's root folder on this host */
    readonly root: string,
    /** PID of the container's systemd, on this host (ansible_nsenter_pid) */
    readonly pid: number,
    private readonly nspawn: ChildProcess,
    private readonly exited: Promise<void>,
  ) {}

  /** Copies `image` to `dir`/<name>, writes its /etc/hosts, boots it and waits until systemd has started. */
  static async boot(image: string, dir: string, hosts: readonly string[], log: string): Promise<Container> {
    const name = `kyc-test-${randomBytes(3).toString('hex')}`;
    const root = join(dir, name);
    await must('cp', ['-a', '--reflink=auto', image, root]);
    await writeFile(join(root, 'etc/hosts'), `127.0.0.1 localhost ${hosts.join(' ')}\n::1 localhost ip6-localhost\n`);
    await writeFile(join(root, 'etc/hostname'), `${hosts[0] ?? 'kyc-test'}\n`);
    // A throwaway container: dpkg need not fsync every file it unpacks (minutes saved on a busy disk).
    await writeFile(join(root, 'etc/dpkg/dpkg.cfg.d/kyc-test-unsafe-io'), 'force-unsafe-io\n');
    const out = createWriteStream(log);
    const nspawn = spawn('systemd-nspawn', ['-b', '--register=no', '--keep-unit', '--private-network', `--machine=${name}`, '--console=pipe', '-D', root], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    nspawn.stdout!.pipe(out);
    nspawn.stderr!.pipe(out);
    const exited = new Promise<void>((resolve) => nspawn.once('exit', () => resolve()));
    let pid: number | null = null;
    for (let i = 0; i < 300 && pid === null; i++) {
      if (nspawn.exitCode !== null) break;
      pid = await findInit(nspawn.pid!);
      if (pid === null) await sleep(100);
    }
    if (pid === null) {
      nspawn.kill('SIGKILL');
      throw new Error(`container did not start (see ${log})`);
    }
    const c = new Container(name, root, pid, nspawn, exited);
    // "running" or "degraded" (a unit that needs what a container lacks) both mean boot has finished; until
    // systemd listens on its bus, systemctl cannot connect and is asked again.
    let state = { code: 1, stdout: '', stderr: '' };
    for (let i = 0; i < 240 && !/running|degraded/.test(state.stdout); i++) {
      state = await c.exec(['systemctl', 'is-system-running', '--wait'], { timeoutMs: 120_000 });
      if (!/running|degraded/.test(state.stdout)) await sleep(250);
    }
    if (!/running|degraded/.test(state.stdout)) {
      await c.destroy();
      throw new Error(`container boot: ${state.stdout}${state.stderr} (see ${log})`);
    }
    return c;
  }

  /** nsenter arguments entering the whole container (mount, uts, ipc, net, pid) as the Ansible connection does. */
  nsenterArgs(): string[] {
    return [`--target=${this.pid}`, '--mount', '--uts', '--ipc', '--net', '--pid', '--'];
  }

  /**
   * Runs a command inside the container (as root), with a server's plain environment: nothing of this host's. tap
   * adds its NODE_OPTIONS to every process a test spawns, whatever environment it is given, and the appliance's own
   * Node.js would then load the runner's modules; `env -i` inside the container drops it.
   */
  exec(argv: readonly string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
    const plain = Object.entries(CONTAINER_ENV).map(([k, v]) => `${k}=${v}`);
    return run('nsenter', [...this.nsenterArgs(), 'env', '-i', ...plain, ...argv], { env: CONTAINER_ENV, ...opts });
  }

  /** Runs a command of THIS host inside the container's network namespace only (curl, the test IdP). */
  inNet(argv: readonly string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
    return run('nsenter', [`--target=${this.pid}`, '--net', '--', ...argv], opts);
  }

  /** Starts a long-running program of this host in the container's network namespace. */
  spawnInNet(argv: readonly string[], log: string): ChildProcess {
    const child = spawn('nsenter', [`--target=${this.pid}`, '--net', '--', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = createWriteStream(log);
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    return child;
  }

  /** Powers the container off (SIGTERM to nspawn asks its systemd to shut down), then removes its root. */
  async destroy(): Promise<void> {
    if (this.nspawn.exitCode === null) {
      this.nspawn.kill('SIGTERM');
      const timeout = sleep(30_000).then(() => 'timeout');
      if ((await Promise.race([this.exited.then(() => 'done'), timeout])) === 'timeout') {
        this.nspawn.kill('SIGKILL');
        await this.exited;
      }
    }
    await rm(this.root, { recursive: true, force: true });
  }
}
