import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { probeJanus } from '../../src/media/janus-process.js';

const CLI = fileURLToPath(new URL('../../src/cli/kyc-janus.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

const cli = (...args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--import', TSX, CLI, ...args], (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve) => {
          const s = createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

t.test('render: files and secrets in their own folder, private', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-janus-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const r = await cli('render', '--config-dir', dir, '--media-interface', 'ens192', '--rtp-ports', '30000-30099', '--stun', 'stun.branch.example:3478');
  t.equal(r.code, 0, r.stderr);
  t.match(JSON.parse(r.stdout), { configDir: dir, command: ['janus', '-C', join(dir, 'janus.jcfg')] });
  const core = await readFile(join(dir, 'janus.jcfg'), 'utf8');
  t.match(core, /ice_enforce_list = "ens192"/);
  t.match(core, /rtp_port_range = "30000-30099"/);
  t.match(core, /stun_server = "stun.branch.example"/);
  const roomKey = (await readFile(join(dir, 'secrets', 'room-key'), 'utf8')).trim();
  t.match(await readFile(join(dir, 'janus.plugin.videoroom.jcfg'), 'utf8'), `admin_key = "${roomKey}"`, 'the room key file feeds the plugin');
  t.equal((await stat(join(dir, 'secrets', 'admin-secret'))).mode & 0o777, 0o600);

  const again = await cli('render', '--config-dir', dir);
  t.equal(again.code, 0);
  t.equal((await readFile(join(dir, 'secrets', 'room-key'), 'utf8')).trim(), roomKey, 'existing secrets are kept');
});

t.test('bad options: all reported, exit 2', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-janus-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const r = await cli('render', '--config-dir', dir, '--ws-port', 'x', '--rtp-ports', '5-6', '--media-interface', 'eth0;reboot');
  t.equal(r.code, 2);
  t.match(r.stderr, /--ws-port: a number/);
  t.match(r.stderr, /rtpPortRange/);
  t.match(r.stderr, /mediaInterface/);
  t.equal((await cli('explode')).code, 2, 'unknown command');
});

t.test('run: Janus in the foreground until SIGTERM', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-janus-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [ws, admin] = await freePorts(2);
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'run', '--config-dir', dir, '--ws-port', String(ws), '--admin-port', String(admin), '--rtp-ports', '41000-41099'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  const line = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
  t.match(JSON.parse(line), { janus: '1.1.2', ws: `ws://127.0.0.1:${ws}` });
  t.match(await probeJanus(`ws://127.0.0.1:${ws}`), { plugins: ['janus.plugin.videoroom'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'a clean stop');
  await t.rejects(probeJanus(`ws://127.0.0.1:${ws}`), 'and Janus is gone');
});
