/**
 * The verifier's check without files or a database: leaves pushed into the rebuilder, then the signed and stored
 * claims compared with the rebuilt tree.
 */
import t from 'tap';
import { Frontier, hashLeaf } from '../../src/audit/merkle.js';
import { Rebuilder } from '../../src/audit/verifier/rebuilder.js';
import { checkClaims, consistencyNodes, type Claims } from '../../src/audit/verifier/check.js';
import type { LoadedCheckpoint } from '../../src/audit/verifier/checkpoint-folder.js';

const leaves = Array.from({ length: 10 }, (_, i) => hashLeaf(Buffer.from(`leaf ${i}`)));

function rootAt(size: number): Buffer {
  const f = new Frontier();
  for (const h of leaves.slice(0, size)) f.append(h);
  return f.root();
}

function checkpoint(size: number, rootHash = rootAt(size)): LoadedCheckpoint {
  return { source: `cp-${size}`, size, rootHash, origin: 'test', issuedAt: null };
}

/** Rebuilds the tree of the first `count` leaves for the given claims, then checks them. */
function check(claims: Claims, count = leaves.length): ReturnType<typeof checkClaims> {
  const sizes = [...claims.checkpoints.map((c) => c.size), ...claims.heads.map((h) => h.size)];
  const rb = new Rebuilder(sizes, consistencyNodes(claims.checkpoints.map((c) => c.size)), []);
  for (let i = 0; i < count; i++) rb.push(i, leaves[i]!, leaves[i]!);
  rb.finish();
  return checkClaims(rb, claims);
}

t.test('checkpoints and heads that the leaves give, and that are consistent, hold', async (t) => {
  t.same(check({ checkpoints: [checkpoint(3), checkpoint(7), checkpoint(10)], heads: [{ size: 10, rootHash: rootAt(10) }] }), []);
});

t.test('a wrong signed root names the range since the last good checkpoint', async (t) => {
  const [p, ...rest] = check({ checkpoints: [checkpoint(4), checkpoint(10, rootAt(9))], heads: [] });
  t.same(rest, []);
  t.match(p, { index: 4, exact: false, end: 10, reason: /root of the first 10 leaves differs/ });
});

t.test('a checkpoint larger than the log names the first missing leaf', async (t) => {
  const problems = check({ checkpoints: [checkpoint(4), checkpoint(10)], heads: [] }, 6);
  t.equal(problems.length, 1);
  t.match(problems, [{ index: 6, exact: true, reason: /signed tree size 10 is larger than the log's 6 leaves/ }]);
});

t.test('a stored head whose root the leaves do not give', async (t) => {
  const problems = check({
    checkpoints: [checkpoint(10)],
    heads: [
      { size: 5, rootHash: rootAt(5) },
      { size: 8, rootHash: rootAt(7) },
    ],
  });
  t.equal(problems.length, 1);
  t.match(problems, [{ index: 5, exact: false, end: 8, reason: /stored tree head of size 8/ }]);
});

t.test('an older checkpoint served as the latest', async (t) => {
  const problems = check({ checkpoints: [checkpoint(4), checkpoint(10)], heads: [], servedLatestSize: 4 });
  t.equal(problems.length, 1);
  t.match(problems, [{ index: 4, exact: true, reason: /serves a checkpoint of size 4 as its latest/ }]);
});

t.test('no checkpoint at all fails closed', async (t) => {
  const problems = check({ checkpoints: [], heads: [] });
  t.equal(problems.length, 1);
  t.match(problems, [{ index: null, reason: /^no checkpoints/ }]);
});
