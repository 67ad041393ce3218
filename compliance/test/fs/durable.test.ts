// A process killed while it writes a file durably leaves nothing under the file's name: readers (the audit verifier
// reading checkpoints, the keyring reading keys) never see a torn file. The writer is a process of its own, killed
// with SIGKILL as soon as its bytes reach the folder.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { pathExists, writeFileDurably } from '../../src/fs/durable.js';

const DURABLE = new URL('../../src/fs/durable.ts', import.meta.url);
const SIZE = 128 * 1024 * 1024;

for (const how of ['exclusive', 'replace'] as const) {
  t.test(`${how}: killed mid-write, nothing is left under the name`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'kyc-durable-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const target = join(dir, '000000000001-20261203T000000000000Z.checkpoint');
    const script = `const { writeFileDurably } = await import(${JSON.stringify(DURABLE.href)});
await writeFileDurably(${JSON.stringify(target)}, Buffer.alloc(${SIZE}, 97), { mode: 0o644, how: ${JSON.stringify(how)} });`;
    // the test's own TypeScript loader (tap's), so that the child runs the source under test
    const loader = process.execArgv.filter((a) => a.startsWith('--import=')).filter((a) => a.includes('typescript'));
    const child = spawn(process.execPath, [...loader, '--input-type=module', '-e', script], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let caught = false;
    while (child.exitCode === null) {
      const sizes = await Promise.all((await readdir(dir)).map(async (n) => (await stat(join(dir, n)).catch(() => null))?.size ?? 0));
      if (sizes.some((s) => s > 0)) {
        caught = true;
        child.kill('SIGKILL');
        break;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    await exited;
    t.ok(caught, 'the writer was killed while its bytes were being written');
    t.notOk(await pathExists(target), 'no torn file under the name');
  });
}

t.test('a finished write: the whole content under the name, no temporary file; exclusive refuses a taken name', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-durable-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'note');
  await writeFileDurably(path, 'first\n', { mode: 0o644, how: 'exclusive' });
  await t.rejects(writeFileDurably(path, 'second\n', { mode: 0o644, how: 'exclusive' }), { code: 'EEXIST' });
  t.equal(await readFile(path, 'utf8'), 'first\n');
  t.equal(((await stat(path)).mode & 0o777).toString(8), '644');
  await writeFileDurably(path, 'third\n', { mode: 0o644, how: 'replace' });
  t.equal(await readFile(path, 'utf8'), 'third\n');
  t.same(await readdir(dir), ['note'], 'no temporary file left');
});
