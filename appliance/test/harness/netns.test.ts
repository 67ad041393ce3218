import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import t from 'tap';
import { createNetns, NETNS_MEDIA_ADDRESS } from './netns.js';

const run = promisify(execFile);

t.test('a private namespace: media interface, servers and relays across it, clean removal', async (t) => {
  const ns = await createNetns(t);
  t.match(ns.mediaInterface, /^vj\d+$/);

  const { stdout: addr } = await run('ip', ['netns', 'exec', ns.name, 'ip', '-4', '-o', 'addr', 'show', 'dev', ns.mediaInterface]);
  t.match(addr, new RegExp(`inet ${NETNS_MEDIA_ADDRESS.replace(/\./g, '\\.')}/32`), 'the media address sits on the veth end');
  const { stdout: link } = await run('ip', ['netns', 'exec', ns.name, 'ip', '-o', 'link', 'show', 'dev', ns.mediaInterface]);
  t.match(link, /<[^>]*\bUP\b[^>]*LOWER_UP/, 'and it is up');
  const { stdout: hostLinks } = await run('ip', ['-o', 'link']);
  t.notMatch(hostLinks, new RegExp(`${ns.mediaInterface}[@:]`), 'the interface does not exist outside');

  // A server in this process, reached from inside the namespace.
  const { handle, port } = await ns.listen();
  const server = createServer((_req, res) => res.end('served from outside'));
  await new Promise<void>((resolve) => server.listen(handle, resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const fetched = await new Promise<string>((resolve, reject) => {
    const child = ns.spawn(process.execPath, ['-e', `fetch('http://127.0.0.1:${port}/').then(r => r.text()).then(t => process.stdout.write(t))`]);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
  });
  t.equal(fetched, 'served from outside');
  const outside = await new Promise<string>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => resolve('connected'));
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  t.equal(outside, 'ECONNREFUSED', 'the port is not open on the host');

  // A TCP service inside the namespace, reached from here through a unix socket.
  const echo = ns.spawn(process.execPath, ['-e', "require('net').createServer(s => s.pipe(s)).listen(7777, '127.0.0.1', () => console.log('ready'))"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => echo.kill());
  await new Promise((resolve) => echo.stdout?.once('data', resolve));
  const path = await ns.forward(7777);
  const echoed = await new Promise<string>((resolve, reject) => {
    const s = connect(path);
    s.once('error', reject);
    s.on('data', (d) => {
      resolve(d.toString());
      s.end();
    });
    s.write('ping through the namespace');
  });
  t.equal(echoed, 'ping through the namespace');

  const wrapper = await ns.wrapper('/usr/sbin/ip');
  const { stdout: viaWrapper } = await run(wrapper, ['-o', 'link']);
  t.match(viaWrapper, new RegExp(`${ns.mediaInterface}@`), 'the wrapper runs its program inside');

  await ns.destroy();
  const { stdout: list } = await run('ip', ['netns', 'list']);
  t.notMatch(list, ns.name, 'the namespace is gone');
  t.notOk(existsSync(ns.dir), 'its folder too');
  await ns.destroy();
  t.pass('a second destroy() is harmless');
});
