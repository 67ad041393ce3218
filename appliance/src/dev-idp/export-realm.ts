#!/usr/bin/env node
// Writes the Keycloak realm exports generated from realm.ts:
//   node appliance/dist/dev-idp/export-realm.js [--appliance-url https://kyc.example.internal] [--out-dir DIR]
// Without options it regenerates the committed files in appliance/keycloak/ (made for the dev appliance URL);
// an institution passes its own appliance URL and imports the resulting realm-kyc.json into Keycloak.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { COMMITTED_EXPORT_DIR, realmExportFiles } from './keycloak-realm-export.js';
import { DEV_APPLIANCE_URL, realmDefinition } from './realm.js';

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'appliance-url': { type: 'string', default: DEV_APPLIANCE_URL },
      'out-dir': { type: 'string', default: COMMITTED_EXPORT_DIR },
    },
    strict: true,
  });
  const outDir = values['out-dir'];
  const files = realmExportFiles(realmDefinition({ applianceUrl: values['appliance-url'] }));
  await mkdir(outDir, { recursive: true });
  for (const file of files) {
    const path = join(outDir, file.name);
    await writeFile(path, file.content);
    process.stdout.write(`wrote ${path}\n`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`export-realm: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
