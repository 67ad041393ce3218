// `make test-install`: the install scenario on its own; progress on stderr, the checks, then the JSON result as the
// LAST line of stdout. Exit status 1 when any check failed.
import { runInstallScenario } from './install-scenario.js';

const keep = process.argv.includes('--keep');
try {
  const { result, checks } = await runInstallScenario({ log: (line) => process.stderr.write(`${line}\n`), keep });
  const failed = checks.filter((c) => !c.ok);
  process.stdout.write(`${checks.length - failed.length} checks passed, ${failed.length} failed${failed.length ? `: ${failed.map((c) => c.name).join('; ')}` : ''}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = failed.length ? 1 : 0;
} catch (err) {
  process.stderr.write(`install test failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}
