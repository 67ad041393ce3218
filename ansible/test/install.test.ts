import t from 'tap';
import { runInstallScenario } from './install-scenario.js';

// The install test of `make test`: the same scenario as `make test-install` (ansible/test/install-scenario.ts) — a
// real install of the release bundle into a booted Debian 12 container, idempotence, upgrade, backup and restore —
// with each of its checks an assertion and its JSON result printed. Needs root (nspawn, nsenter); a first run also
// builds the cached Debian root (debootstrap from the apt archive), later runs reuse it. `make test` runs it beside
// the rest of the suite with a long timeout of its own (appliance/scripts/run-tests.mjs --long).

t.test('install, second run, upgrade and restore in a booted Debian 12 container', async (t) => {
  const { result, checks } = await runInstallScenario({ log: (line) => t.comment(line) });
  for (const c of checks) t.ok(c.ok, c.name, { detail: c.detail });
  t.ok(checks.length >= 15, `the scenario made its checks (${checks.length})`);
  t.equal(result.second_run_changed, 0, 'second run changed=0');
  t.ok(result.upgrade_ok, 'upgrade_ok');
  t.ok(result.restore_ok, 'restore_ok');
  for (const [unit, exposure] of Object.entries(result.units)) t.ok(exposure <= 2.0, `${unit} exposure ${exposure} ≤ 2.0`);
  t.comment(JSON.stringify(result));
});
