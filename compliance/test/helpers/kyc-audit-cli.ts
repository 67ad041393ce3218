import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = join(root, 'dist/cli/kyc-audit.js');

/**
 * The real CLI: the built one when it is up to date (as after `make build`), else the same source run through tsx
 * (never rebuilding dist here: other test files may be importing it in parallel).
 */
function cliCommand(): string[] {
  const newest = (dir: string): number =>
    Math.max(...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  if (existsSync(cli) && statSync(cli).mtimeMs >= newest(join(root, 'src'))) return [cli];
  return ['--import', 'tsx', join(root, 'src/cli/kyc-audit.ts')];
}
const cliArgs = cliCommand();

export interface CliResult {
  code: number;
  json: Record<string, unknown> & { ok: boolean; firstBadIndex?: number | null; reason?: string };
  lines: number;
}

/** Runs `kyc-audit ARGS` and parses its last output line. */
export function kycAudit(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...cliArgs, ...args], { maxBuffer: 1 << 24 }, (err, stdout) => {
      const lines = stdout.trim().split('\n');
      resolve({
        code: err ? ((err as { code?: number }).code ?? 1) : 0,
        json: JSON.parse(lines[lines.length - 1]!) as CliResult['json'],
        lines: lines.length,
      });
    });
  });
}
