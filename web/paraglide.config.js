// One set of Paraglide options for the Vite plugin (build, dev) and scripts/compile-i18n.js (build, type check),
// so both emit the same runtime into src/lib/paraglide.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = dirname(fileURLToPath(import.meta.url));
const projectDir = join(webDir, 'project.inlang');

/** @type {{ project: string, outdir: string, strategy: ['localStorage', 'baseLocale'], emitReadme: boolean }} */
export const paraglideOptions = {
  project: projectDir,
  outdir: join(webDir, 'src/lib/paraglide'),
  // The UI is a client-only SPA: the choice lives in localStorage, zh-CN (baseLocale) otherwise.
  strategy: ['localStorage', 'baseLocale'],
  emitReadme: false,
};

/**
 * Paraglide's default project loads its plugins from a CDN; ours names a file of the npm package instead, so
 * the build works air-gapped. The inlang SDK silently skips a local plugin it cannot read (and then finds no
 * messages), so make a wrong path fail loudly here.
 */
export function assertPluginsAreLocal() {
  /** @type {{ modules?: string[] }} */
  const settings = JSON.parse(readFileSync(join(projectDir, 'settings.json'), 'utf8'));
  const modules = settings.modules ?? [];
  if (modules.length === 0) throw new Error('project.inlang/settings.json lists no plugin modules');
  const installed = realpathSync(createRequire(import.meta.url).resolve('@inlang/plugin-message-format'));
  for (const module of modules) {
    if (/^[a-z]+:/i.test(module)) {
      throw new Error(`project.inlang plugin "${module}" is a URL; the build must not need the network`);
    }
    // The SDK resolves module paths against the folder that holds project.inlang.
    const onDisk = resolve(dirname(projectDir), module);
    if (!existsSync(onDisk)) throw new Error(`project.inlang plugin "${module}" not found at ${onDisk}`);
    if (realpathSync(onDisk) !== installed) {
      throw new Error(`project.inlang plugin "${module}" is not the installed @inlang/plugin-message-format (${installed})`);
    }
  }
}
