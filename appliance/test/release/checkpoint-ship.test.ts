// kyc-checkpoint-ship (appliance/scripts/kyc-checkpoint-ship.sh, run by kyc-checkpoint-ship.service) against a
// local destination folder: ships new checkpoints, never overwrites, and fails loudly when the copy differs.
import t from 'tap';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../scripts/kyc-checkpoint-ship.sh', import.meta.url));

function ship(env: Record<string, string>): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  return new Promise((done) => {
    execFile('sh', [SCRIPT], { env: { PATH: '/usr/bin:/bin', ...env } }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, json: JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>, stderr });
    });
  });
}

t.test('ships new checkpoints, verifies them, and fails on a differing or missing destination', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-ship-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const src = join(dir, 'checkpoints');
  const dest = join(dir, 'worm');
  await mkdir(src);
  await mkdir(dest);
  await writeFile(join(src, '00000000000000000001.checkpoint'), 'origin\n1\nAAAA\n\n— sig\n');
  await writeFile(join(src, 'verifier-key.txt'), 'kyc+abcd+KEY\n');
  const env = { CHECKPOINT_DIR: src, CHECKPOINT_SHIP_DEST: dest };

  const first = await ship(env);
  t.equal(first.code, 0, first.stderr);
  t.match(first.json, { ok: true, shipped: 2, verified: 2, dest });
  t.same((await readdir(dest)).sort(), ['00000000000000000001.checkpoint', 'verifier-key.txt']);
  t.equal(await readFile(join(dest, '00000000000000000001.checkpoint'), 'utf8'), 'origin\n1\nAAAA\n\n— sig\n');

  await writeFile(join(src, '00000000000000000002.checkpoint'), 'origin\n2\nBBBB\n\n— sig\n');
  const second = await ship(env);
  t.equal(second.code, 0);
  t.match(second.json, { ok: true, shipped: 1, verified: 3 }, 'only the new checkpoint is copied');

  // Someone changes a shipped checkpoint at the destination (same size and time): caught by content.
  const shipped = join(dest, '00000000000000000001.checkpoint');
  await chmod(shipped, 0o644);
  await writeFile(shipped, 'origin\n1\nZZZZ\n\n— sig\n');
  const tampered = await ship(env);
  t.equal(tampered.code, 1, 'exit status 1');
  t.match(tampered.json, { ok: false, error: /differs.*00000000000000000001\.checkpoint/ });
  t.match(tampered.stderr, /kyc-checkpoint-ship: destination differs/);
  t.equal(await readFile(shipped, 'utf8'), 'origin\n1\nZZZZ\n\n— sig\n', 'never overwrites what is at the destination');

  const unmounted = await ship({ CHECKPOINT_DIR: src, CHECKPOINT_SHIP_DEST: join(dir, 'not-mounted') });
  t.equal(unmounted.code, 1);
  t.match(unmounted.json, { ok: false, error: /not a folder/ });
  const unset = await ship({ CHECKPOINT_DIR: src });
  t.equal(unset.code, 1);
  t.match(unset.json, { ok: false, error: /CHECKPOINT_SHIP_DEST is not set/ });
  const sshNoKey = await ship({ CHECKPOINT_DIR: src, CHECKPOINT_SHIP_DEST: 'ship@backup.example:/srv/kyc' });
  t.equal(sshNoKey.code, 1);
  t.match(sshNoKey.json, { ok: false, error: /CHECKPOINT_SHIP_SSH_KEY/ });
});
