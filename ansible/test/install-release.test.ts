import t from 'tap';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { must, run } from './harness/container.js';

// The kyc_appliance role's bundle check: a release is installed only when every file matches MANIFEST.sha256 and
// nothing unlisted comes with it.
const SCRIPT = fileURLToPath(new URL('../roles/kyc_appliance/files/install-release.sh', import.meta.url));

async function bundle(dir: string, version: string, tamper: (top: string) => Promise<void> = async () => undefined): Promise<string> {
  const stage = await mkdtemp(join(dir, 'stage-'));
  const top = join(stage, `kyc-appliance-${version}`);
  await mkdir(join(top, 'bin'), { recursive: true });
  await writeFile(join(top, 'VERSION'), `${version}\n`);
  await writeFile(join(top, 'bin/kyc-audit'), '#!/bin/sh\necho audit\n');
  await must('sh', ['-c', 'find . -type f ! -name MANIFEST.sha256 -printf "%P\\0" | LC_ALL=C sort -z | xargs -0 sha256sum > MANIFEST.sha256'], { cwd: top });
  await tamper(top);
  const tarball = join(dir, `kyc-appliance-${version}-${Math.random().toString(36).slice(2)}.tar.gz`);
  await must('tar', ['-C', stage, '-czf', tarball, `kyc-appliance-${version}`]);
  return tarball;
}

t.test('a bundle whose files match its manifest is installed once; damaged or padded bundles are refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-release-check-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const releases = join(dir, 'releases');
  await mkdir(releases);

  const good = await bundle(dir, '1.0.0');
  t.equal((await must('sh', [SCRIPT, good, releases, '1.0.0'])).trim(), 'installed');
  t.equal((await readFile(join(releases, '1.0.0/VERSION'), 'utf8')).trim(), '1.0.0');
  t.equal((await must('sh', [SCRIPT, good, releases, '1.0.0'])).trim(), 'present', 'a second run changes nothing');

  const altered = await bundle(dir, '1.0.1', (top) => writeFile(join(top, 'bin/kyc-audit'), '#!/bin/sh\necho altered\n'));
  const r1 = await run('sh', [SCRIPT, altered, releases, '1.0.1']);
  t.not(r1.code, 0);
  t.match(r1.stderr, /do not match MANIFEST/);

  const padded = await bundle(dir, '1.0.2', (top) => writeFile(join(top, 'bin/extra'), 'x'));
  const r2 = await run('sh', [SCRIPT, padded, releases, '1.0.2']);
  t.not(r2.code, 0);
  t.match(r2.stderr, /not listed in MANIFEST[\s\S]*bin\/extra/);

  const misnamed = await run('sh', [SCRIPT, good, releases, '9.9.9']);
  t.not(misnamed.code, 0, 'a bundle is installed only under its own version');
  const left = await run('ls', ['-A', releases]);
  t.same(left.stdout.trim().split('\n'), ['1.0.0'], 'refused bundles leave nothing behind');
});
