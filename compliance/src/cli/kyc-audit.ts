#!/usr/bin/env node
/**
 * kyc-audit — offline verifier of the tamper-evident audit log.
 *
 *   kyc-audit verify --db URL --checkpoints DIR (--verifier-key KEY | --signing-key FILE) [--origin ORIGIN] [--archive DIR]
 *                    [--tsa-cert FILE [--require-timestamps]]
 *   kyc-audit export --db URL --checkpoints DIR OUT_DIR
 *   kyc-audit verify-bundle DIR (--verifier-key KEY | --signing-key FILE) [--origin ORIGIN] [--tsa-cert FILE [--require-timestamps]]
 *   kyc-audit keygen --name NAME --out FILE
 *
 * Prints exactly one JSON line. Exit 0 when everything holds; 1 with the first bad index and the reason when
 * verification fails (no checkpoint at all is a failure); 2 on usage or operational errors (database unreachable,
 * unreadable directory, no pinned verifier key...). The verifier key is always pinned by the caller: `--verifier-key`,
 * or `--signing-key` on the appliance host (the key derived from the checkpoint signing key, which lives outside the
 * database and the checkpoint folder); the checked folder's own verifier-key.txt is never trusted.
 * --tsa-cert: the time-stamping authority's certificate(s), PEM; every checkpoint's RFC 3161 token (`.tst`) must
 * verify against it; with --require-timestamps a checkpoint without a token fails too.
 */
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { verifyDatabase, verifyBundle, exportBundle, type TsaPin, type VerifyReport } from '../audit/verifier.js';
import { parseTsaCertificates } from '../audit/timestamp.js';
import { createSigningKeyFile, loadSigningKey } from '../audit/checkpoint.js';
import { CliUsageError, printJson, runJsonCli } from './json-cli.js';

const USAGE = `usage:
  kyc-audit verify --db URL --checkpoints DIR (--verifier-key KEY | --signing-key FILE) [--origin ORIGIN] [--archive DIR]
                   [--tsa-cert FILE [--require-timestamps]]
  kyc-audit export --db URL --checkpoints DIR OUT_DIR
  kyc-audit verify-bundle DIR (--verifier-key KEY | --signing-key FILE) [--origin ORIGIN] [--tsa-cert FILE [--require-timestamps]]
  kyc-audit keygen --name NAME --out FILE`;

function summary(r: VerifyReport): Record<string, unknown> {
  const { details, ...rest } = r;
  return r.ok ? rest : { ...rest, details };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      checkpoints: { type: 'string' },
      'verifier-key': { type: 'string' },
      origin: { type: 'string' },
      name: { type: 'string' },
      out: { type: 'string' },
      archive: { type: 'string' },
      'signing-key': { type: 'string' },
      'tsa-cert': { type: 'string' },
      'require-timestamps': { type: 'boolean' },
    },
  });
  const pinnedKey = async (): Promise<string | undefined> => {
    if (values['verifier-key'] && values['signing-key']) throw new CliUsageError('give --verifier-key or --signing-key, not both');
    return values['signing-key'] ? (await loadSigningKey(values['signing-key'])).verifierKey : values['verifier-key'];
  };
  const tsaPin = async (): Promise<TsaPin | undefined> => {
    const file = values['tsa-cert'];
    if (!file) {
      if (values['require-timestamps']) throw new CliUsageError('--require-timestamps needs --tsa-cert');
      return undefined;
    }
    let pem: string;
    try {
      pem = await readFile(file, 'utf8');
    } catch {
      throw new CliUsageError(`cannot read the TSA certificate file ${file}`);
    }
    return { certs: parseTsaCertificates(pem), required: values['require-timestamps'] ?? false };
  };
  const need = (name: 'db' | 'checkpoints' | 'name' | 'out'): string => {
    const v = values[name];
    if (!v) throw new CliUsageError(`--${name} is required`);
    return v;
  };
  switch (command) {
    case 'verify': {
      if (positionals.length) throw new CliUsageError(`unexpected argument ${positionals[0]}`);
      const r = await verifyDatabase({
        db: need('db'),
        checkpointsDir: need('checkpoints'),
        verifierKey: await pinnedKey(),
        origin: values.origin,
        archiveDir: values.archive,
        tsa: await tsaPin(),
      });
      printJson(summary(r));
      return r.ok ? 0 : 1;
    }
    case 'verify-bundle': {
      if (positionals.length !== 1) throw new CliUsageError('verify-bundle takes the bundle directory');
      const r = await verifyBundle({ dir: positionals[0]!, verifierKey: await pinnedKey(), origin: values.origin, tsa: await tsaPin() });
      printJson(summary(r));
      return r.ok ? 0 : 1;
    }
    case 'export': {
      const out = positionals[0] ?? values.out;
      if (!out || positionals.length > 1) throw new CliUsageError('export takes the output directory');
      const r = await exportBundle({ db: need('db'), checkpointsDir: need('checkpoints'), out });
      printJson({ ok: true, out, ...r });
      return 0;
    }
    case 'keygen': {
      const r = await createSigningKeyFile(need('out'), need('name'));
      printJson({ ok: true, keyFile: values.out, ...r });
      return 0;
    }
    default:
      throw new CliUsageError(command ? `unknown command ${command}` : 'no command');
  }
}

runJsonCli(main, USAGE);
