import t from 'tap';
import { createHash } from 'node:crypto';
import { generateSigningKey, parseSigningKey, signCheckpoint, signNote } from '@kyc/compliance';
import { base64ToBytes, bytesToBase64, eventProofState, leafHash, parseVerifierKey, ProofError, verifyCheckpointNote, verifyInclusion } from '../../src/lib/audit-proof.js';

// A reference RFC 9162 tree built with node:crypto, independent of the module under test.
const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const refLeaf = (leaf: string) => sha(Buffer.from([0]), Buffer.from(leaf, 'utf8'));
const split = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0]!;
  const k = split(leaves.length);
  return sha(Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function path(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  return m < k ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))] : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

const leaves = Array.from({ length: 13 }, (_, i) => JSON.stringify({ action: 'case.view', seq: i, note: '客户 ✓' }));
const hashes = leaves.map(refLeaf);

t.test('leaf hashes match SHA-256(0x00 ‖ UTF-8 bytes)', async (t) => {
  for (const [i, leaf] of leaves.entries()) t.same(Buffer.from(await leafHash(leaf)), hashes[i]);
});

t.test('inclusion proofs: every index of every tree size up to 13 verifies; tampered ones do not', async (t) => {
  for (let size = 1; size <= leaves.length; size++) {
    const root = mth(hashes.slice(0, size));
    for (let index = 0; index < size; index++) {
      const p = path(index, hashes.slice(0, size));
      t.ok(await verifyInclusion(index, size, hashes[index]!, p, root), `${index} in ${size}`);
      if (size > 1) {
        t.notOk(await verifyInclusion(index, size, hashes[(index + 1) % size]!, p, root), `${index} in ${size}: another leaf`);
        const bad = p.map((h) => Buffer.from(h));
        bad[0]![0]! ^= 1;
        t.notOk(await verifyInclusion(index, size, hashes[index]!, bad, root), `${index} in ${size}: flipped path bit`);
        t.notOk(await verifyInclusion(index, size, hashes[index]!, p.slice(0, -1), root), `${index} in ${size}: path too short`);
        t.notOk(await verifyInclusion(index, size, hashes[index]!, [...p, hashes[0]!], root), `${index} in ${size}: path too long`);
      }
    }
  }
  const root = mth(hashes);
  t.notOk(await verifyInclusion(13, 13, hashes[0]!, [], root), 'index beyond the tree');
  // Sizes 9 to 16 share index 3's proof shape; a size of another shape does not verify.
  t.notOk(await verifyInclusion(3, 5, hashes[3]!, path(3, hashes), root), 'wrong tree size');
});

t.test('checkpoint notes signed by the appliance code verify in WebCrypto; altered ones do not', async (t) => {
  const { signingKey, verifierKey } = generateSigningKey('kyc.example/audit');
  const signer = parseSigningKey(signingKey);
  const key = await parseVerifierKey(`${verifierKey}\n`);
  t.equal(key.name, 'kyc.example/audit');
  const root = mth(hashes);
  const note = signCheckpoint({ origin: 'kyc.example/audit', size: 13, rootHash: root }, signer);

  const cp = await verifyCheckpointNote(note, key);
  t.equal(cp.origin, 'kyc.example/audit');
  t.equal(cp.size, 13);
  t.same(Buffer.from(cp.rootHash), root);

  const otherRoot = bytesToBase64(mth(hashes.slice(0, 12)));
  const lines = note.split('\n');
  const altered = [lines[0], '12', otherRoot, ...lines.slice(3)].join('\n');
  await t.rejects(verifyCheckpointNote(altered, key), ProofError, 'size and root swapped under the old signature');
  const other = parseSigningKey(generateSigningKey('kyc.example/audit').signingKey);
  await t.rejects(verifyCheckpointNote(signCheckpoint({ origin: 'kyc.example/audit', size: 13, rootHash: root }, other), key), ProofError, 'another key');
  await t.rejects(verifyCheckpointNote(note.replace('\n\n', '\n'), key), ProofError, 'no blank line');

  // A witness's signature beside ours is skipped, not a failure.
  const witness = parseSigningKey(generateSigningKey('witness.example').signingKey);
  const cosigned = note + signNote(note.slice(0, note.indexOf('\n\n') + 1), witness).split('\n\n')[1]!;
  t.equal((await verifyCheckpointNote(cosigned, key)).size, 13);

  // Only the first two plus signs separate: the base64 key may contain '+' itself.
  const [name, id] = verifierKey.split('+') as [string, string];
  const b64 = verifierKey.slice(name.length + id.length + 2);
  const wrongId = ((parseInt(id, 16) + 1) >>> 0).toString(16).padStart(8, '0');
  await t.rejects(parseVerifierKey(`${name}+${wrongId}+${b64}`), ProofError, 'key id not matching the key');
  await t.rejects(parseVerifierKey(`${name}+${id}+${bytesToBase64(base64ToBytes(b64).slice(1))}`), ProofError, 'key without its type byte');
});

t.test("an event's state: verified, pending beyond the checkpoint, failed on a bad proof or a changed leaf", async (t) => {
  const checkpoint = { origin: 'o', size: 10, rootHash: mth(hashes.slice(0, 10)) };
  const proof = async (index: number, size: number) => ({ hashes: path(index, hashes.slice(0, size)).map((h) => h.toString('base64')) });
  t.equal(await eventProofState({ leafIndex: 4, leaf: leaves[4]! }, checkpoint, proof), 'verified');
  t.equal(await eventProofState({ leafIndex: 10, leaf: leaves[10]! }, checkpoint, proof), 'pending');
  t.equal(await eventProofState({ leafIndex: 4, leaf: leaves[4]!.replace('case.view', 'case.edit') }, checkpoint, proof), 'failed');
  t.equal(await eventProofState({ leafIndex: 4, leaf: leaves[4]! }, checkpoint, async () => ({ hashes: ['%%%'] })), 'failed', 'malformed hash');
});
