/**
 * The convention of the appliance's admin tools (kyc-audit, kyc-archive): one JSON object per line on stdout, exit 0
 * when all holds, 1 when a check failed, 2 for a usage error or a failure (with `{ok:false, error, code?}`).
 */

/** A wrong command line: reported with the usage text. */
export class CliUsageError extends Error {}

export function printJson(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/** Runs `main` with the arguments and sets the exit code by the convention above. */
export function runJsonCli(main: (argv: string[]) => Promise<number>, usage: string): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const e = err as Error & { code?: string };
      printJson({ ok: false, error: e.message, ...(e.code ? { code: e.code } : {}) });
      if (err instanceof CliUsageError) process.stderr.write(`${usage}\n`);
      process.exitCode = 2;
    },
  );
}
