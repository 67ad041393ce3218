import t from 'tap';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { EMPTY_ROOT, Frontier, consistencyRanges, hashChildren, hashLeaf, inclusionRanges, naiveRoot, proofFromNodes, verifyConsistency, verifyInclusion } from '../../src/audit/merkle.js';

const sha = (...parts: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest();
const leaves = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => hashLeaf(Buffer.from(`leaf ${i}`)));

/** Naive in-memory node source: hashes every complete subtree from the leaves. */
function nodeSource(hs: Buffer[]) {
  return (level: number, index: number): Buffer => naiveRoot(hs, index * 2 ** level, (index + 1) * 2 ** level);
}

/** RFC 9162 PATH and PROOF by their recursive definitions, straight from the text. */
function naivePath(m: number, d: Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m < k ? [...naivePath(m, d.slice(0, k)), naiveRoot(d.slice(k))] : [...naivePath(m - k, d.slice(k)), naiveRoot(d.slice(0, k))];
}
function naiveSubproof(m: number, d: Buffer[], b: boolean): Buffer[] {
  const n = d.length;
  if (m === n) return b ? [] : [naiveRoot(d)];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m <= k ? [...naiveSubproof(m, d.slice(0, k), b), naiveRoot(d.slice(k))] : [...naiveSubproof(m - k, d.slice(k), false), naiveRoot(d.slice(0, k))];
}

t.test('RFC 6962 vectors', async (t) => {
  t.equal(EMPTY_ROOT.toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  t.same(hashLeaf(Buffer.alloc(0)), sha(Buffer.from([0])), 'leaf = SHA-256(0x00 ‖ bytes)');
  t.equal(hashLeaf(Buffer.alloc(0)).toString('hex'), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  const l = leaves(2);
  t.same(hashChildren(l[0]!, l[1]!), sha(Buffer.from([1]), l[0]!, l[1]!), 'node = SHA-256(0x01 ‖ l ‖ r)');
  // certificate-transparency-go's reference tree of 8 leaves (hex leaf inputs from RFC 6962 test data)
  const inputs = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
  const hs = inputs.map((x) => hashLeaf(Buffer.from(x, 'hex')));
  const roots = [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ];
  const f = new Frontier();
  hs.forEach((h, i) => {
    f.append(h);
    t.equal(f.root().toString('hex'), roots[i], `root of ${i + 1} leaves`);
    t.equal(naiveRoot(hs.slice(0, i + 1)).toString('hex'), roots[i]);
  });
});

t.test('frontier root equals naive root for sizes 0..300, and restores from its nodes', async (t) => {
  const hs = leaves(300);
  const f = new Frontier();
  t.same(f.root(), EMPTY_ROOT);
  for (let n = 1; n <= 300; n++) {
    f.append(hs[n - 1]!);
    if (!f.root().equals(naiveRoot(hs.slice(0, n)))) t.fail(`size ${n}`);
    const g = new Frontier(n, f.nodes());
    if (!g.root().equals(f.root())) t.fail(`restore ${n}`);
  }
  t.pass('all sizes agree');
});

t.test('proof ranges match the RFC recursive definitions and verify, sizes 1..64', async (t) => {
  const hs = leaves(64);
  for (let n = 1; n <= 64; n++) {
    const d = hs.slice(0, n);
    const root = naiveRoot(d);
    for (let m = 0; m < n; m++) {
      const proof = proofFromNodes(inclusionRanges(m, n), nodeSource(d));
      if (!Buffer.concat(proof).equals(Buffer.concat(naivePath(m, d)))) t.fail(`PATH(${m}, ${n})`);
      if (!verifyInclusion(m, n, d[m]!, proof, root)) t.fail(`inclusion ${m}/${n}`);
    }
    for (let m = 1; m < n; m++) {
      const proof = proofFromNodes(consistencyRanges(m, n), nodeSource(d));
      if (!Buffer.concat(proof).equals(Buffer.concat(naiveSubproof(m, d, true)))) t.fail(`PROOF(${m}, ${n})`);
      if (!verifyConsistency(m, n, naiveRoot(d.slice(0, m)), root, proof)) t.fail(`consistency ${m}->${n}`);
    }
  }
  t.pass('every proof of trees up to 64 leaves');
});

t.test('property: inclusion proofs verify against naive recomputation, and wrong inputs fail', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 600 }).chain((n) => fc.tuple(fc.constant(n), fc.nat(n - 1), fc.nat(n - 1), fc.nat(31))),
      ([n, m, other, byte]) => {
        const d = leaves(n);
        const root = naiveRoot(d);
        const proof = proofFromNodes(inclusionRanges(m, n), nodeSource(d));
        if (!verifyInclusion(m, n, d[m]!, proof, root)) return false;
        const badRoot = Buffer.from(root);
        badRoot[byte]! ^= 1;
        if (verifyInclusion(m, n, d[m]!, proof, badRoot)) return false;
        if (other !== m && verifyInclusion(other, n, d[m]!, proof, root)) return false;
        if (proof.length > 0) {
          const tampered = proof.map((p) => Buffer.from(p));
          tampered[byte % tampered.length]![byte]! ^= 0x80;
          if (verifyInclusion(m, n, d[m]!, tampered, root)) return false;
        }
        return true;
      },
    ),
    { numRuns: 300 },
  );
  t.pass('300 random trees');
});

t.test('property: consistency proofs verify against naive recomputation, and wrong inputs fail', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 600 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n - 1 }), fc.nat(31))),
      ([n, m, byte]) => {
        const d = leaves(n);
        const root = naiveRoot(d);
        const old = naiveRoot(d.slice(0, m));
        const proof = proofFromNodes(consistencyRanges(m, n), nodeSource(d));
        if (!verifyConsistency(m, n, old, root, proof)) return false;
        const badOld = Buffer.from(old);
        badOld[byte]! ^= 1;
        if (verifyConsistency(m, n, badOld, root, proof)) return false;
        const badNew = Buffer.from(root);
        badNew[byte]! ^= 1;
        if (verifyConsistency(m, n, old, badNew, proof)) return false;
        if (m + 1 < n && verifyConsistency(m + 1, n, old, root, proof)) return false;
        // a forked history: same size, one leaf changed before m
        const forked = [...d];
        forked[Math.floor(m / 2)] = hashLeaf(Buffer.from('forged'));
        if (verifyConsistency(m, n, old, naiveRoot(forked), proof)) return false;
        return true;
      },
    ),
    { numRuns: 300 },
  );
  t.pass('300 random pairs');
});

t.test('edge cases', async (t) => {
  const d = leaves(5);
  t.notOk(verifyInclusion(5, 5, d[0]!, [], naiveRoot(d)), 'index ≥ size fails');
  t.ok(verifyConsistency(0, 5, EMPTY_ROOT, naiveRoot(d), []), 'empty tree is a prefix');
  t.ok(verifyConsistency(5, 5, naiveRoot(d), naiveRoot(d), []), 'same size, same root');
  t.notOk(verifyConsistency(5, 5, naiveRoot(d), naiveRoot(d.slice(0, 4)), []), 'same size, other root');
  t.notOk(verifyConsistency(4, 3, naiveRoot(d), naiveRoot(d), []), 'from > to');
  t.throws(() => inclusionRanges(3, 3), RangeError);
  t.throws(() => consistencyRanges(0, 3), RangeError);
});
