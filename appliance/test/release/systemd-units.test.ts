// The unit files in systemd/ as installed on servers: `systemd-analyze security --offline=true` scores each
// service (exposure must stay ≤ 2.0, the scores are printed), and the properties the layout relies on are checked
// in the files themselves.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const UNITS = fileURLToPath(new URL('../../../systemd/', import.meta.url));
const MAX_EXPOSURE = 2.0;

function analyze(unit: string): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile('systemd-analyze', ['security', '--offline=true', '--no-pager', join(UNITS, unit)], (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

/** Every `Key=value` of the [Service] section, repeated keys in order. */
function serviceSettings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sec = /^\[(\w+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      continue;
    }
    if (section !== 'Service') continue;
    const i = line.indexOf('=');
    const k = line.slice(0, i);
    out.set(k, [...(out.get(k) ?? []), line.slice(i + 1)]);
  }
  return out;
}

const EXPECTED = ['kyc-appliance.service', 'kyc-checkpoint-ship.service', 'kyc-janus.service', 'kyc-migrate.service', 'kyc-worker.service'];
const USERS: Record<string, string> = {
  'kyc-appliance.service': 'kyc-app',
  'kyc-worker.service': 'kyc-worker',
  'kyc-janus.service': 'kyc-janus',
  'kyc-migrate.service': 'kyc-owner',
  'kyc-checkpoint-ship.service': 'kyc-ship',
};

t.test('every service in systemd/ scores ≤ 2.0 and is sandboxed as the layout says', async (t) => {
  const files = (await readdir(UNITS)).sort();
  const services = files.filter((f) => f.endsWith('.service'));
  t.same(services, EXPECTED, 'the five services');
  const scores: Record<string, number> = {};
  for (const unit of services) {
    const r = await analyze(unit);
    const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(r.out);
    t.ok(m, `${unit}: systemd-analyze printed a score (exit ${r.code})`);
    const score = Number(m?.[1] ?? 99);
    scores[unit.replace(/\.service$/, '')] = score;
    t.ok(score <= MAX_EXPOSURE, `${unit}: exposure ${score} ≤ ${MAX_EXPOSURE}`);

    const text = await readFile(join(UNITS, unit), 'utf8');
    t.notMatch(text, /\{\{|\{%|@@|%i/, `${unit}: plain file, no template syntax`);
    const s = serviceSettings(text);
    const one = (k: string) => s.get(k)?.at(-1);
    t.equal(one('User'), USERS[unit], `${unit}: runs as ${USERS[unit]}`);
    t.equal(one('NoNewPrivileges'), 'yes', `${unit}: NoNewPrivileges`);
    t.equal(one('ProtectSystem'), 'strict', `${unit}: ProtectSystem=strict`);
    t.equal(one('CapabilityBoundingSet'), '', `${unit}: empty capability bounding set`);
    t.equal(one('AmbientCapabilities'), '', `${unit}: no ambient capabilities`);
    t.same(s.get('SystemCallFilter')?.[0], '@system-service', `${unit}: SystemCallFilter=@system-service`);
    const families = (one('RestrictAddressFamilies') ?? '').split(/\s+/).sort();
    // netlink: Janus enumerates interfaces for ICE; the appliance's HTTP server lists them when it listens on all
    // addresses (without it, it exits at start-up).
    const netlink = unit === 'kyc-janus.service' || unit === 'kyc-appliance.service';
    t.same(families, netlink ? ['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX'] : ['AF_INET', 'AF_INET6', 'AF_UNIX'], `${unit}: address families`);
    const writable = (s.get('ReadWritePaths') ?? []).flatMap((v) => v.split(/\s+/)).map((p) => p.replace(/^-/, ''));
    t.same(
      writable.filter((p) => !/^\/var\/lib\/kyc\/|^\/mnt\/kyc-checkpoints$/.test(p)),
      [],
      `${unit}: writes only its own data`,
    );
    const execStart = one('ExecStart') ?? '';
    if (execStart.includes('/runtime/node')) t.not(one('MemoryDenyWriteExecute'), 'yes', `${unit}: MemoryDenyWriteExecute off for Node.js`);
    t.notMatch(execStart, /--daemon|-b\b/, `${unit}: runs in the foreground`);
  }
  t.not(scores['kyc-janus'], undefined);
  t.comment(`systemd-analyze exposure: ${JSON.stringify(scores)}`);

  // The checkpoint signer and its readers.
  const appliance = serviceSettings(await readFile(join(UNITS, 'kyc-appliance.service'), 'utf8'));
  const worker = serviceSettings(await readFile(join(UNITS, 'kyc-worker.service'), 'utf8'));
  t.match(appliance.get('Environment')?.join(' '), /KYC_AUDIT_CHECKPOINTER=worker/, 'the worker signs checkpoints, the appliance does not load the key');
  t.match(worker.get('Environment')?.join(' '), /KYC_AUDIT_CHECKPOINTER=worker/, 'the same setting for the worker');
  t.notMatch((appliance.get('ReadWritePaths') ?? []).join(' '), /checkpoints|archive/, 'the appliance cannot write checkpoints or the archive');
});

t.test('the timer starts the checkpoint shipper', async (t) => {
  const timers = (await readdir(UNITS)).filter((f) => f.endsWith('.timer'));
  t.same(timers, ['kyc-checkpoint-ship.timer']);
  const text = await readFile(join(UNITS, 'kyc-checkpoint-ship.timer'), 'utf8');
  t.match(text, /^\[Timer\]$/m);
  t.match(text, /^OnUnitActiveSec=\S+/m);
  t.match(text, /^WantedBy=timers\.target$/m);
  // No Unit= line: a timer starts the service of its own name, which must exist.
  t.notMatch(text, /^Unit=/m);
  t.ok((await readdir(UNITS)).includes('kyc-checkpoint-ship.service'));
});
