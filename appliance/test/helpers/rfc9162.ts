import { createHash, createPublicKey, verify } from 'node:crypto';

/**
 * An independent reading of RFC 9162 §2.1.3.2 / §2.1.4.2 and the C2SP signed-note format, written from the texts so
 * the appliance's proofs and checkpoints are checked by code that shares nothing with what produced them.
 */
const node = (l: Buffer, r: Buffer) =>
  createHash('sha256')
    .update(Buffer.from([1]))
    .update(l)
    .update(r)
    .digest();
export const leafHash = (leaf: Buffer) =>
  createHash('sha256')
    .update(Buffer.from([0]))
    .update(leaf)
    .digest();

export function verifyInclusion(index: number, size: number, leaf: Buffer, path: Buffer[], root: Buffer): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = node(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

export function verifyConsistency(first: number, second: number, firstRoot: Buffer, secondRoot: Buffer, proof: Buffer[]): boolean {
  if (first > second) return false;
  if (first === second) return proof.length === 0 && firstRoot.equals(secondRoot);
  if (first === 0) return proof.length === 0;
  const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : [...proof];
  if (path.length === 0) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Buffer;
  let sr = path[0] as Buffer;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = node(c, fr);
      sr = node(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = node(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return fr.equals(firstRoot) && sr.equals(secondRoot) && sn === 0;
}

/** Verifies a signed note with the Ed25519 key from a verifier string; returns the checkpoint it carries. */
export function openSignedCheckpoint(note: string, verifierKey: string): { origin: string; size: number; root: Buffer } {
  // The base64 key may itself contain '+': only the first two separate fields.
  const [, name, keyHex, keyB64] = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(verifierKey.trim()) ?? [];
  if (!name || !keyHex || !keyB64) throw new Error('bad verifier key');
  const raw = Buffer.from(keyB64, 'base64');
  if (raw[0] !== 0x01 || raw.length !== 33) throw new Error('not an Ed25519 verifier key');
  const keyId = createHash('sha256')
    .update(Buffer.concat([Buffer.from(`${name}\n`), raw]))
    .digest()
    .subarray(0, 4);
  if (keyId.toString('hex') !== keyHex) throw new Error('key id does not match the key');
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw.subarray(1)]);
  const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const split = note.indexOf('\n\n');
  const text = note.slice(0, split + 1);
  const sigLine = note
    .slice(split + 2)
    .split('\n')
    .find((l) => l.startsWith(`\u2014 ${name} `));
  if (!sigLine) throw new Error('no signature by this key');
  const sig = Buffer.from(sigLine.slice(`\u2014 ${name} `.length), 'base64');
  if (!sig.subarray(0, 4).equals(keyId)) throw new Error('signature key id differs');
  if (!verify(null, Buffer.from(text), publicKey, sig.subarray(4))) throw new Error('bad signature');
  const [origin, size, root] = text.split('\n');
  return { origin: origin ?? '', size: Number(size), root: Buffer.from(root ?? '', 'base64') };
}
