import t from 'tap';
import { runInstallScenario } from './install-scenario.js';

// The real install (see install-scenario.ts): ~10 minutes on a 2-core machine, longer than the suite's default
// per-file timeout. Needs root (systemd-nspawn, nsenter) and the packages of `make system`.
t.setTimeout(30 * 60_000);

t.test('install into a booted Debian 12 container: units, HTTPS, token, privileges, idempotence, upgrade, backup and restore', { timeout: 30 * 60_000 }, async (t) => {
  const { result, checks } = await runInstallScenario({ log: (line) => t.comment(line) });
  for (const c of checks) t.ok(c.ok, c.name, { detail: c.detail });
  t.equal(result.second_run_changed, 0, 'second run changed nothing');
  t.ok(result.upgrade_ok, 'upgrade kept the data and verified');
  t.ok(result.restore_ok, 'restore brought the case back and verified');
  t.comment(JSON.stringify(result));
});
