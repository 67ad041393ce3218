/**
 * The verifier on bundles big enough to use whole-batch subtree appends (4096-leaf batches hashed on the worker),
 * with checkpoints inside and on batch boundaries, against a plain leaf-by-leaf recomputation.
 */
import t from 'tap';
import { mkdtemp, mkdir, rm, writeFile, unlink, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Frontier, hashLeaf } from '../../src/audit/merkle.js';
import { generateSigningKey, parseSigningKey, signCheckpoint } from '../../src/audit/checkpoint.js';
import { BUNDLE_FORMAT, verifyBundle } from '../../src/audit/verifier.js';
import { canonicalJson } from '../../src/audit/event.js';
import { pad12 } from '../../src/audit/checkpointer.js';

const ORIGIN = 'kyc-appliance.local/audit';
const N = 40_000;
// batches [12288, 36864) hold no checkpoint: they are appended whole; the consistency proof 9001 → 40000 needs
// subtrees that those whole-batch appends produce (levels above the batch)
const SIZES = [1, 4095, 4096, 5000, 8192, 9001, N];

async function makeBundle(lines: string[], withLeaves = true): Promise<{ dir: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-verifier-'));
  const signer = parseSigningKey(generateSigningKey(ORIGIN).signingKey);
  await mkdir(join(dir, 'checkpoints'));
  const hashes = lines.map((l) => hashLeaf(Buffer.from(l, 'utf8')));
  const f = new Frontier();
  let last = 0;
  for (const size of SIZES) {
    while (f.size < size) f.append(hashes[f.size]!);
    const ts = `20260101T0000${String(SIZES.indexOf(size)).padStart(2, '0')}000Z`;
    await writeFile(join(dir, 'checkpoints', `${pad12(size)}-${ts}.checkpoint`), signCheckpoint({ origin: ORIGIN, size, rootHash: f.root() }, signer));
    if (withLeaves) await writeFile(join(dir, 'checkpoints', `${pad12(last)}-${pad12(size)}.leaves`), Buffer.concat(hashes.slice(last, size)));
    last = size;
  }
  await writeFile(join(dir, 'events.jsonl'), lines.join('\n') + '\n');
  await writeFile(join(dir, 'verifier-key.txt'), `${signer.verifierKey}\n`);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify({ format: BUNDLE_FORMAT, treeSize: f.size, rootHash: f.root().toString('base64') }));
  return { dir, key: signer.verifierKey };
}

const lines = Array.from({ length: N }, (_, i) => canonicalJson({ v: 1, action: 'case.view', i, pad: 'x'.repeat(i % 300) }));

t.test('a clean bundle verifies and gives the same root as a leaf-by-leaf recomputation', async (t) => {
  const { dir, key } = await makeBundle(lines);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const r = await verifyBundle({ dir, verifierKey: key });
  t.equal(r.ok, true, JSON.stringify(r.details));
  t.equal(r.treeSize, N);
  const f = new Frontier();
  for (const l of lines) f.append(hashLeaf(Buffer.from(l)));
  t.equal(r.rootHash, f.root().toString('base64'));
  t.equal(r.checkpoints, SIZES.length);
});

for (const at of [0, 4095, 4096, 6000, 8191, 9000, 20_000, 32_767, N - 1]) {
  t.test(`an altered line ${at} is named exactly (with the exported leaf hashes) or bounded (without)`, async (t) => {
    const bad = [...lines];
    bad[at] = bad[at]!.replace('"case.view"', '"case.edit"');
    const { dir, key } = await makeBundle(lines);
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'events.jsonl'), bad.join('\n') + '\n');
    const r = await verifyBundle({ dir, verifierKey: key });
    t.equal(r.ok, false);
    t.equal(r.firstBadIndex, at, `${r.reason}`);
    for (const name of await readdir(join(dir, 'checkpoints'))) if (name.endsWith('.leaves')) await unlink(join(dir, 'checkpoints', name));
    const q = await verifyBundle({ dir, verifierKey: key });
    const lower = [...SIZES].reverse().find((s) => s <= at) ?? 0;
    t.equal(q.firstBadIndex, lower, `bounded from below by the last good checkpoint: ${q.reason}`);
  });
}

t.test('a missing line at a batch boundary', async (t) => {
  const { dir, key } = await makeBundle(lines);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'events.jsonl'), [...lines.slice(0, 4096), ...lines.slice(4097)].join('\n') + '\n');
  const r = await verifyBundle({ dir, verifierKey: key });
  t.equal(r.firstBadIndex, 4096, `${r.reason}`);
});
