// The layers table of appliance/README.md, checked: every import of every module under appliance/src is classified
// by the layer of the importing file and the layer (or package) it reaches. A new import across a forbidden boundary
// fails this test. The imports that broke the table before it was checked are listed in KNOWN_DEBT, each by file and
// target; moving one of them to its proper layer makes its line stale, and a stale line fails the test too, so the
// list only shrinks.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

type Layer = 'entry' | 'composition' | 'http' | 'services' | 'repositories' | 'api-types' | 'pure' | 'config' | 'dev-idp';

/** Pure modules named in the layers table, beside the folder-wide rules. */
const PURE_FILES = new Set(['recording/media-commands.ts', 'recording/recording-layout.ts', 'media/protocol.ts', 'http/byte-range.ts']);

function layerOf(file: string): Layer {
  if (PURE_FILES.has(file)) return 'pure';
  if (file === 'server.ts' || file === 'worker.ts' || file.startsWith('cli/')) return 'entry';
  if (['bootstrap.ts', 'app.ts', 'app-context.ts', 'audit-setup.ts', 'migrations-dir.ts'].includes(file)) return 'composition';
  if (file.startsWith('dev-idp/')) return 'dev-idp';
  if (file.startsWith('config/')) return 'config';
  if (file.startsWith('routes/') || file.startsWith('http/') || file === 'media/signaling.ts') return 'http';
  if (file.startsWith('repositories/') || file.startsWith('db/') || /(^|\/)[\w-]*\.?repository\.ts$/.test(file)) return 'repositories';
  if (file.endsWith('api-types.ts')) return 'api-types';
  if (file.startsWith('domain/') || file.startsWith('lib/') || file.endsWith('.d.ts')) return 'pure';
  // services, recording, media (hub, gateway), kyc, face, ocr, pki
  return 'services';
}

/** What a layer must not reach: another layer of src, or a package. */
const FORBIDDEN: Record<Layer, { layers: Layer[]; packages: RegExp[] }> = {
  entry: { layers: ['dev-idp'], packages: [] },
  composition: { layers: ['dev-idp'], packages: [] },
  config: { layers: ['http', 'services', 'repositories', 'dev-idp'], packages: [/^fastify$/, /^@fastify\//, /^pg$/] },
  http: { layers: ['repositories', 'dev-idp'], packages: [/^pg$/] },
  services: { layers: ['http', 'dev-idp'], packages: [/^fastify$/, /^@fastify\//] },
  repositories: { layers: ['http', 'services', 'api-types', 'dev-idp'], packages: [/^fastify$/, /^@fastify\//] },
  'api-types': { layers: ['http', 'services', 'repositories', 'dev-idp', 'entry', 'composition'], packages: [/^fastify$/, /^@fastify\//, /^pg$/] },
  pure: { layers: ['http', 'services', 'repositories', 'dev-idp', 'entry', 'composition'], packages: [/^fastify$/, /^@fastify\//, /^pg$/] },
  'dev-idp': { layers: [], packages: [] },
};

/** Imports that broke the table when it was first checked: `importer -> target` (a src path or a package). */
const KNOWN_DEBT = new Set<string>([]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sourceFiles(path);
      return name.endsWith('.ts') ? [path] : [];
    });
}

/** The src-relative path of a relative import (`.js` written for `.ts`), or the package name of a bare one. */
function targetOf(importer: string, specifier: string): { kind: 'src'; path: string } | { kind: 'package'; name: string } | null {
  if (specifier.startsWith('node:')) return null;
  if (!specifier.startsWith('.')) {
    const parts = specifier.split('/');
    return { kind: 'package', name: specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]! };
  }
  const abs = resolve(dirname(join(SRC, importer)), specifier);
  const rel = relative(SRC, abs);
  if (rel.startsWith('..')) return { kind: 'package', name: rel };
  const candidates = [rel.replace(/\.js$/, '.ts'), rel.replace(/\.js$/, '.d.ts'), `${rel}.ts`, join(rel, 'index.ts')];
  for (const candidate of candidates) {
    try {
      if (statSync(join(SRC, candidate)).isFile()) return { kind: 'src', path: candidate };
    } catch {
      /* try the next spelling */
    }
  }
  return { kind: 'src', path: rel };
}

function violations(): string[] {
  const found: string[] = [];
  for (const abs of sourceFiles(SRC)) {
    const file = relative(SRC, abs);
    const layer = layerOf(file);
    const rule = FORBIDDEN[layer];
    const info = ts.preProcessFile(readFileSync(abs, 'utf8'), true, true);
    for (const ref of info.importedFiles) {
      const target = targetOf(file, ref.fileName);
      if (!target) continue;
      if (target.kind === 'package') {
        if (rule.packages.some((p) => p.test(target.name))) found.push(`${file} -> ${target.name}`);
      } else if (rule.layers.includes(layerOf(target.path))) {
        found.push(`${file} -> ${target.path}`);
      }
    }
  }
  return [...new Set(found)].sort();
}

t.test('the layers are told apart as the README table says', async (t) => {
  t.equal(layerOf('routes/cases.ts'), 'http');
  t.equal(layerOf('media/signaling.ts'), 'http');
  t.equal(layerOf('media/signaling-hub.ts'), 'services');
  t.equal(layerOf('media/protocol.ts'), 'pure');
  t.equal(layerOf('http/byte-range.ts'), 'pure');
  t.equal(layerOf('kyc/product.repository.ts'), 'repositories');
  t.equal(layerOf('kyc/identity-repository.ts'), 'repositories');
  t.equal(layerOf('kyc/identity-service.ts'), 'services');
  t.equal(layerOf('repositories/case.repository.ts'), 'repositories');
  t.equal(layerOf('dev-idp/server.ts'), 'dev-idp');
  t.equal(layerOf('cli/kyc-audit.ts'), 'entry');
});

t.test('a forbidden import is found', async (t) => {
  // The checker itself, on a file it has never seen: a route importing a repository and pg.
  const info = ts.preProcessFile("import { x } from '../repositories/case.repository.js';\nimport pg from 'pg';\n", true, true);
  const names = info.importedFiles.map((f) => targetOf('routes/new-route.ts', f.fileName));
  t.same(names, [
    { kind: 'src', path: 'repositories/case.repository.ts' },
    { kind: 'package', name: 'pg' },
  ]);
  t.ok(FORBIDDEN.http.layers.includes(layerOf('repositories/case.repository.ts')));
  t.ok(FORBIDDEN.http.packages.some((p) => p.test('pg')));
});

t.test('no module crosses a boundary beyond the listed debt, and the list holds no stale line', async (t) => {
  const found = violations();
  const fresh = found.filter((v) => !KNOWN_DEBT.has(v));
  const stale = [...KNOWN_DEBT].filter((v) => !found.includes(v));
  t.same(fresh, [], 'new imports across a boundary (see the layers table in appliance/README.md)');
  t.same(stale, [], 'debt lines that no longer occur: remove them from KNOWN_DEBT');
  t.ok(found.length > 0 || KNOWN_DEBT.size === 0);
});
