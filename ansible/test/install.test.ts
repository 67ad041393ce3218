import t from 'tap';
import { runInstallScenario } from './install-scenario.js';

// The real install (see install-scenario.ts). Needs root (systemd-nspawn, nsenter); installs its own test-machine
// packages (ansible/test/system-packages.sh). It runs longer than the per-file timeout in .taprc (600 s).

t.test('install into a booted Debian 12 container: units, HTTPS, token, privileges, idempotence, upgrade, backup and restore', { timeout: 30 * 60_000 }, async (t) => {
  const { result, checks } = await runInstallScenario({ log: (line) => t.comment(line) });
  for (const c of checks) t.ok(c.ok, c.name, { detail: c.detail });
  t.equal(result.second_run_changed, 0, 'second run changed nothing');
  t.ok(result.upgrade_ok, 'upgrade kept the data and verified');
  t.ok(result.restore_ok, 'restore brought the case back and verified');
  t.comment(JSON.stringify(result));
});
