// The offline release bundle (`make release`, appliance/scripts/release.sh): built from this checkout's dist into a
// temporary folder, unpacked, and checked the way an installer would use it — manifest, contents, and the bundled
// Node.js running the bundled code (migrations against a fresh database; the server refusing to start unconfigured).
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, readlink, rm, stat, appendFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '@kyc/compliance/testing';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const VERSION = '0.0.0-releasetest';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

t.test('make release builds a verifiable production-only bundle that runs on its own Node.js', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'kyc-release-test-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const built = await run('bash', [join(ROOT, 'appliance/scripts/release.sh')], {
    env: { ...process.env, VERSION: '0.0.0', VERSION_SUFFIX: '-releasetest', RELEASE_OUT: join(work, 'out'), RELEASE_GZIP_LEVEL: '1' },
  });
  t.equal(built.code, 0, `release.sh succeeds: ${built.stderr}`);
  const tarball = join(work, 'out', `kyc-appliance-${VERSION}.tar.gz`);
  t.equal(built.stdout.trim().split('\n').pop(), tarball, 'prints the tarball path');
  const unpacked = await run('tar', ['-C', work, '-xzf', tarball]);
  t.equal(unpacked.code, 0, 'unpacks');
  const top = (await readdir(work)).filter((n) => n !== 'out');
  t.same(top, [`kyc-appliance-${VERSION}`], 'one top-level folder named after the version');
  const b = join(work, `kyc-appliance-${VERSION}`);

  t.equal((await readFile(join(b, 'VERSION'), 'utf8')).trim(), VERSION);

  // Manifest: verifies, and lists every file (symlinks must stay inside the bundle).
  const check = await run('sha256sum', ['--strict', '--quiet', '-c', 'MANIFEST.sha256'], { cwd: b });
  t.equal(check.code, 0, `sha256sum -c passes: ${check.stdout}${check.stderr}`);
  const lines = (await readFile(join(b, 'MANIFEST.sha256'), 'utf8')).trim().split('\n');
  t.same(
    lines.filter((line) => !/^[0-9a-f]{64} {2}\S/.test(line)),
    [],
    'manifest lines are "<sha256>  <path>"',
  );
  const listed = new Set(lines.map((line) => line.slice(66)));
  const files = await walk(b);
  const unlisted: string[] = [];
  const escaping: string[] = [];
  for (const f of files) {
    const rel = relative(b, f);
    if (rel === 'MANIFEST.sha256') continue;
    const st = await lstat(f);
    if (st.isSymbolicLink()) {
      const target = await readlink(f);
      const abs = resolve(dirname(f), target);
      if (target.startsWith('/') || relative(b, abs).startsWith('..')) escaping.push(`${rel} -> ${target}`);
      if ((await stat(abs)).isDirectory()) continue;
    }
    if (!listed.has(rel)) unlisted.push(rel);
  }
  t.same(unlisted, [], 'every file is in the manifest');
  t.same(escaping, [], 'every symlink is relative and stays inside the bundle');
  t.ok(listed.size > 1000, `manifest lists ${listed.size} files`);

  // A changed byte is caught.
  await appendFile(join(b, 'app/appliance/dist/server.js'), '\n');
  const tampered = await run('sha256sum', ['--quiet', '-c', 'MANIFEST.sha256'], { cwd: b });
  t.not(tampered.code, 0, 'a modified file fails the manifest check');
  t.match(tampered.stdout, /app\/appliance\/dist\/server\.js: FAILED/);
  const fresh = await run('tar', ['-C', work, '-xzf', tarball, `kyc-appliance-${VERSION}/app/appliance/dist/server.js`]);
  t.equal(fresh.code, 0, 'restored');

  // Layout.
  for (const p of [
    'runtime/node',
    'bin/kyc-migrate',
    'bin/kyc-archive',
    'bin/kyc-audit',
    'bin/kyc-janus',
    'bin/kyc-checkpoint-ship',
    'systemd/README.md',
    'app/package.json',
    'app/package-lock.json',
    'app/appliance/package.json',
    'app/compliance/package.json',
    'app/appliance/dist/server.js',
    'app/appliance/dist/worker.js',
    'app/compliance/dist/cli/kyc-audit.js',
    'app/web/build/index.html',
    'app/appliance/keycloak/realm-kyc.json',
    'app/appliance/janus/templates/janus.jcfg',
    'app/node_modules/fastify/package.json',
    'app/node_modules/@kyc/compliance/dist/index.js',
    'app/node_modules/unix-dgram/build/Release/unix_dgram.node',
  ]) {
    t.ok(
      files.includes(join(b, p)) ||
        (await stat(join(b, p)).then(
          () => true,
          () => false,
        )),
      `has ${p}`,
    );
  }
  for (const dir of ['app/appliance/migrations', 'app/compliance/migrations']) {
    const repo = (await readdir(join(ROOT, dir.replace(/^app\//, '')))).sort();
    t.same((await readdir(join(b, dir))).sort(), repo, `${dir}: every migration`);
  }
  const repoUnits = (await readdir(join(ROOT, 'systemd'))).filter((n) => /\.(service|timer)$/.test(n)).sort();
  const bundledUnits = (await readdir(join(b, 'systemd'))).filter((n) => /\.(service|timer)$/.test(n)).sort();
  t.same(bundledUnits, repoUnits, 'the unit files of systemd/');
  for (const u of repoUnits) {
    t.equal(await readFile(join(b, 'systemd', u), 'utf8'), await readFile(join(ROOT, 'systemd', u), 'utf8'), `${u} as in the repo`);
  }

  // Nothing dev-only.
  const rels = files.map((f) => relative(b, f));
  const devOnly = /(^|\/)(dist\/dev-idp|node_modules\/(oidc-provider|koa|tap|@tapjs|tsx|typescript|playwright-core|esbuild|vite|svelte|@sveltejs|fast-check))\//;
  t.same(rels.filter((r) => devOnly.test(r)).slice(0, 5), [], 'no dev IdP, oidc-provider, koa, tap, tsx, typescript, playwright, build tools');
  t.same(
    rels.filter((r) => r.endsWith('.ts') && !r.endsWith('.d.ts') && !r.includes('node_modules/')),
    [],
    'no TypeScript sources',
  );
  const lock = JSON.parse(await readFile(join(b, 'app/node_modules/.package-lock.json'), 'utf8').catch(() => '{}')) as unknown;
  t.same(lock, {}, 'npm install bookkeeping removed');

  // The bundled Node.js runs the bundled code.
  const node = join(b, 'runtime/node');
  const version = await run(node, ['--version']);
  t.equal(version.stdout.trim(), process.version, 'runtime/node is the Node.js the tests run on');
  const bare = { PATH: '/usr/bin:/bin' };
  const server = await run(node, [join(b, 'app/appliance/dist/server.js')], { cwd: work, env: { ...bare, KYC_DATA_DIR: join(work, 'nothing-here') } });
  t.equal(server.code, 2, 'server without configuration exits 2');
  t.match(server.stderr, /invalid configuration:\n\s+KYC_OIDC_CLIENT_SECRET_FILE: file .* does not exist/, 'and says what is missing');
  const usage = await run(join(b, 'bin/kyc-janus'), [], { env: bare });
  t.equal(usage.code, 2);
  t.match(usage.stderr, /usage: kyc-janus render\|run/);

  const db = await createTestDatabase([]);
  t.teardown(() => db.drop());
  const migrate = await run(join(b, 'bin/kyc-migrate'), [], {
    cwd: work,
    env: { ...bare, KYC_PROFILE: 'development', KYC_DB_MIGRATE_URL: db.ownerUrl, KYC_DATA_DIR: join(work, 'data') },
  });
  t.equal(migrate.code, 0, `bundled kyc-migrate applies the schema: ${migrate.stderr}`);
  const applied = JSON.parse(migrate.stdout.trim()) as { migrations: number; appliedNow: string[] };
  t.ok(applied.migrations > 0 && applied.appliedNow.length === applied.migrations, `${applied.migrations} migrations applied`);
  const audit = await run(join(b, 'bin/kyc-audit'), ['verify', '--db', db.appUrl, '--checkpoints', join(work, 'no-checkpoints')], { cwd: work, env: bare });
  t.equal(audit.code, 2, 'bundled kyc-audit runs and refuses without a verifier key');
  t.match(JSON.parse(audit.stdout.trim()), { ok: false, code: 'KYC_ERR_AUDIT_KEY' });
});
