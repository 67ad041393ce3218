import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DEBIAN_JANUS_MODULES, loadJanusTemplates, renderJanusConfig } from '../../src/media/janus-config.js';
import { listJanusModules, startJanus, writeJanusConfig } from '../../src/media/janus-process.js';
import { createNetns } from '../harness/netns.js';

t.test('the module inventory matches what Debian installs', async (t) => {
  const found = await listJanusModules();
  t.ok(found.plugins.includes('libjanus_videoroom.so'));
  t.ok(found.transports.includes('libjanus_websockets.so'));
  t.same(found, DEBIAN_JANUS_MODULES, 'the built-in list is current for this machine');
  t.same(await listJanusModules('/nonexistent'), { plugins: [], transports: [], events: [], loggers: [] });
});

t.test('config files are written private', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-janus-cfg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const configDir = join(dir, 'janus');
  const rendered = renderJanusConfig(
    { configDir, logFile: join(dir, 'janus.log'), adminSecret: 'admin-secret-0123456789', videoroomAdminKey: 'room-key-0123456789ab' },
    await loadJanusTemplates(),
  );
  await writeJanusConfig(configDir, rendered);
  t.equal((await stat(configDir)).mode & 0o777, 0o700);
  for (const name of Object.keys(rendered.files)) {
    t.equal((await stat(join(configDir, name))).mode & 0o777, 0o600, `${name} is 0600`);
    t.equal(await readFile(join(configDir, name), 'utf8'), rendered.files[name as keyof typeof rendered.files]);
  }
});

t.test('a Janus that cannot start is reported with its reason', async (t) => {
  const ns = await createNetns(t);
  const err = await startJanus({ args: ['-C', '/nonexistent/janus.jcfg', '-F', '/nonexistent', '-N'], probeUrl: 'ws://127.0.0.1:1', netns: ns.name, startTimeoutMs: 5000 }).catch(
    (e: unknown) => e,
  );
  t.match(err, /Janus exited during start-up/);
});

t.test('a Janus that never answers is stopped and reported', async (t) => {
  const ns = await createNetns(t);
  const dir = await mkdtemp(join(tmpdir(), 'kyc-janus-cfg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const rendered = renderJanusConfig(
    { configDir: dir, logFile: join(dir, 'janus.log'), adminSecret: 'admin-secret-0123456789', videoroomAdminKey: 'room-key-0123456789ab' },
    await loadJanusTemplates(),
  );
  await writeJanusConfig(dir, rendered);
  // Janus is up inside the namespace, but this probe looks at a port nothing listens on.
  const err = await startJanus({ args: rendered.args, probeUrl: `ws+unix:${join(dir, 'nothing.sock')}:/`, netns: ns.name, startTimeoutMs: 1500 }).catch((e: unknown) => e);
  t.match(err, /did not answer/);
  const pids = execFileSync('ip', ['netns', 'pids', ns.name]).toString();
  t.equal(pids.trim().split(/\s+/).filter(Boolean).length, 1, 'only the namespace helper is left: Janus was stopped');
});
