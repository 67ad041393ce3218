// Checks, in the browser, that the audit log the server shows is the one it signed: the checkpoint note's
// Ed25519 signature (C2SP signed note) and each event's RFC 9162 inclusion proof against the checkpoint's root.
// Only WebCrypto: runs the same in Chromium and in Node 20 (its unit tests).

export interface VerifierKey {
  name: string;
  keyId: number;
  /** raw 32-byte Ed25519 public key */
  publicKey: Uint8Array;
}

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
}

export class ProofError extends Error {
  override readonly name = 'ProofError';
}

const SIG_PREFIX = '\u2014 ';
const ED25519 = 0x01;
const encoder = new TextEncoder();

export function base64ToBytes(b64: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new ProofError('not base64');
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** RFC 9162 leaf hash: SHA-256(0x00 ‖ leaf bytes), the leaf being the event's canonical JSON in UTF-8. */
export function leafHash(leaf: string): Promise<Uint8Array> {
  return sha256(concat(Uint8Array.of(0x00), encoder.encode(leaf)));
}

function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(Uint8Array.of(0x01), left, right));
}

/** The note key ID: the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key), big-endian. */
async function keyIdFor(name: string, publicKey: Uint8Array): Promise<number> {
  const h = await sha256(concat(encoder.encode(name), Uint8Array.of(0x0a, ED25519), publicKey));
  return new DataView(h.buffer, h.byteOffset, 4).getUint32(0);
}

/** `<name>+<8 hex key id>+<base64(0x01 ‖ 32-byte key)>`; the key id must match the name and key. */
export async function parseVerifierKey(text: string): Promise<VerifierKey> {
  const vkey = text.trim();
  const first = vkey.indexOf('+');
  const second = vkey.indexOf('+', first + 1);
  if (first <= 0 || second < 0) throw new ProofError('verifier key must be <name>+<hex key id>+<base64 key>');
  const name = vkey.slice(0, first);
  const idHex = vkey.slice(first + 1, second);
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new ProofError('verifier key id must be 8 hex digits');
  const raw = base64ToBytes(vkey.slice(second + 1));
  if (raw.length !== 33 || raw[0] !== ED25519) throw new ProofError('verifier key must be an Ed25519 key');
  const publicKey = raw.slice(1);
  const keyId = parseInt(idHex, 16);
  if ((await keyIdFor(name, publicKey)) !== keyId) throw new ProofError('verifier key id does not match its key');
  return { name, keyId, publicKey };
}

/**
 * Verifies a signed checkpoint note (origin, tree size, base64 root, blank line, signature lines) and returns
 * the checkpoint. The signed message is the text before the blank line, each of its lines ending in "\n".
 */
export async function verifyCheckpointNote(note: string, key: VerifierKey): Promise<Checkpoint> {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new ProofError('malformed note: no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const sigBlock = note.slice(split + 2);
  if (!sigBlock.endsWith('\n')) throw new ProofError('malformed note: signature block must end with a newline');

  let verified = false;
  for (const line of sigBlock.slice(0, -1).split('\n')) {
    if (!line.startsWith(SIG_PREFIX)) throw new ProofError('malformed note: signature line must start with an em dash');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.lastIndexOf(' ');
    if (space <= 0) throw new ProofError('malformed note: bad signature line');
    // A note may carry signatures of other keys (witnesses): only ours counts, the others are skipped.
    if (rest.slice(0, space) !== key.name) continue;
    const raw = base64ToBytes(rest.slice(space + 1));
    if (raw.length !== 4 + 64) continue;
    if (new DataView(raw.buffer, raw.byteOffset, 4).getUint32(0) !== key.keyId) continue;
    const cryptoKey = await crypto.subtle.importKey('raw', concat(key.publicKey), { name: 'Ed25519' }, false, ['verify']);
    if (await crypto.subtle.verify({ name: 'Ed25519' }, cryptoKey, raw.slice(4), encoder.encode(text))) {
      verified = true;
      break;
    }
  }
  if (!verified) throw new ProofError('no valid signature by the verifier key');

  const lines = text.split('\n');
  const [origin, sizeText, rootText] = lines;
  if (!origin || !sizeText || !rootText) throw new ProofError('malformed checkpoint');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw new ProofError('malformed tree size');
  const rootHash = base64ToBytes(rootText);
  if (rootHash.length !== 32) throw new ProofError('malformed root hash');
  return { origin, size: Number(sizeText), rootHash };
}

/** RFC 9162 §2.1.3.2: does `path` prove the leaf hash at `index` in the tree of `size` leaves with `root`? */
export async function verifyInclusion(index: number, size: number, leaf: Uint8Array, path: readonly Uint8Array[], root: Uint8Array): Promise<boolean> {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  // Division rather than >>: tree sizes may pass 2^31.
  const half = (n: number) => Math.floor(n / 2);
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equalBytes(r, root);
}

export type ProofState = 'verified' | 'pending' | 'failed';

/**
 * The verdict for one audit event: `pending` when it is not yet covered by the checkpoint, otherwise whether the
 * leaf hash the browser computes from the leaf bytes is proven under the signed root.
 */
export async function eventProofState(
  event: { leafIndex: number; leaf: string },
  checkpoint: Checkpoint,
  proof: (index: number, size: number) => Promise<{ hashes: string[] }>,
): Promise<ProofState> {
  if (event.leafIndex >= checkpoint.size) return 'pending';
  try {
    const { hashes } = await proof(event.leafIndex, checkpoint.size);
    const ok = await verifyInclusion(event.leafIndex, checkpoint.size, await leafHash(event.leaf), hashes.map(base64ToBytes), checkpoint.rootHash);
    return ok ? 'verified' : 'failed';
  } catch (err) {
    if (err instanceof ProofError) return 'failed';
    throw err;
  }
}
