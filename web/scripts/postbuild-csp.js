// Runs after `vite build`. SvelteKit writes its start-up code as an inline <script> into each page, which
// the appliance's CSP (script-src 'self', no 'unsafe-inline', no hashes) refuses. Moves those scripts into
// content-hashed files under build/_app/immutable/ and fails the build if anything inline remains, in the
// pages or in the markup that the built scripts insert.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import config from '../svelte.config.js';
import { externalizeInlineScripts, findCspViolations, findCspViolationsInScript } from './csp-html.js';

const webDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(webDir, process.argv[2] ?? 'build');
const appDir = config.kit?.appDir ?? '_app';
const base = config.kit?.paths?.base ?? '';
const scriptFolder = join(buildDir, appDir, 'immutable', 'inline');
const urlPrefix = `${base}/${appDir}/immutable/inline/`;

/**
 * @param {string} dir
 * @param {string} suffix
 * @returns {Promise<string[]>}
 */
async function filesEndingIn(dir, suffix) {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(suffix)).map((e) => join(e.parentPath, e.name));
}

const pages = await filesEndingIn(buildDir, '.html');
if (pages.length === 0) {
  console.error(`postbuild-csp: no HTML files in ${buildDir}`);
  process.exit(1);
}

let moved = 0;
/** @type {string[]} */
const problems = [];
for (const page of pages) {
  const { html, scripts } = externalizeInlineScripts(await readFile(page, 'utf8'), urlPrefix);
  if (scripts.length > 0) {
    await mkdir(scriptFolder, { recursive: true });
    for (const script of scripts) await writeFile(join(scriptFolder, script.fileName), script.content);
    await writeFile(page, html);
    moved += scripts.length;
  }
  for (const violation of findCspViolations(html)) problems.push(`${relative(webDir, page)}: ${violation}`);
}

const scripts = await filesEndingIn(join(buildDir, appDir), '.js');
for (const script of scripts) {
  for (const violation of findCspViolationsInScript(await readFile(script, 'utf8'))) {
    problems.push(`${relative(webDir, script)}: ${violation}`);
  }
}

if (problems.length > 0) {
  console.error(`postbuild-csp: the build would break the appliance's Content-Security-Policy:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`postbuild-csp: ${pages.length} page(s) and ${scripts.length} script(s) checked, ` + `${moved} inline script(s) moved to ${relative(webDir, scriptFolder)}`);
