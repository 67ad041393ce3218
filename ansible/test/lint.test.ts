import t from 'tap';
import { fileURLToPath } from 'node:url';
import { must, run } from './harness/container.js';

// ansible-lint (production profile) and a syntax check of every playbook; the install test runs them for real.
const ANSIBLE = fileURLToPath(new URL('../', import.meta.url));

t.test('ansible-lint passes on ansible/', async (t) => {
  await must(fileURLToPath(new URL('./system-packages.sh', import.meta.url)), []);
  const r = await run('ansible-lint', ['--nocolor', '--profile', 'production'], { cwd: ANSIBLE, timeoutMs: 600_000 });
  t.equal(r.code, 0, `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-15).join('\n'));
});

t.test('site.yml and restore.yml pass a syntax check with both inventories', async (t) => {
  for (const inventory of ['inventories/single-host', 'inventories/split']) {
    for (const playbook of ['site.yml', 'restore.yml']) {
      const r = await run('ansible-playbook', ['--syntax-check', '-i', inventory, playbook], { cwd: ANSIBLE, timeoutMs: 120_000 });
      t.equal(r.code, 0, `${playbook} with ${inventory}: ${r.stderr.trim().split('\n').slice(-5).join(' ')}`);
    }
  }
});
