#!/usr/bin/env node
import { CONFIG_KEYS, type KeySpec } from '../config/schema.js';

/** Prints the configuration reference as a Markdown table (pasted into the README). */
const rows = (Object.entries(CONFIG_KEYS) as [string, KeySpec][]).map(([key, spec]) => {
  const def = spec.default === undefined ? '(required)' : spec.default === null ? '(unset)' : spec.default === '' ? '(empty)' : `\`${spec.default}\``;
  const kind = spec.kind === 'enum' ? (spec.values ?? []).join(' \\| ') : spec.kind + (spec.secretFile ? ', secret file 0600' : '');
  return `| \`${key}\` | ${kind} | ${def} | ${spec.doc} |`;
});
process.stdout.write(['| variable | kind | default | meaning |', '|---|---|---|---|', ...rows].join('\n') + '\n');
