import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { stat, readFile } from 'node:fs/promises';
import { AuditError } from './errors.js';
import { HASH_SIZE } from './merkle.js';
import { writeFileDurably } from '../fs/durable.js';

/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519, and C2SP tlog checkpoints
 * (https://c2sp.org/tlog-checkpoint) as their text.
 *
 * Key file format: the signed-note private key string `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01‖seed)>`
 * (the format of Go's golang.org/x/mod/sumdb/note GenerateKey), one line, file mode 0600.
 * Verifier key: `<name>+<hex key id>+<base64(0x01‖public key)>`.
 * Key id: the first 4 bytes (big-endian) of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key).
 */

const ED25519 = 0x01;
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SIG_PREFIX = '\u2014 '; // em dash, space

export interface NoteVerifier {
  name: string;
  keyId: number;
  publicKey: Buffer;
  /** the verifier string this was parsed from / formatted as */
  verifierKey: string;
  key: KeyObject;
}

export interface NoteSigner extends NoteVerifier {
  sign(message: Uint8Array): Buffer;
}

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
  /** extension lines after the root hash, if any (we write none) */
  extensions: string[];
}

function keyError(message: string): never {
  throw new AuditError('KYC_ERR_AUDIT_KEY', message);
}

function checkName(name: string): void {
  if (name.length === 0 || /[\s+]/u.test(name) || /\p{C}/u.test(name)) {
    keyError(`key name ${JSON.stringify(name)} must be non-empty with no spaces, plus signs or control characters`);
  }
}

export function keyIdFor(name: string, publicKey: Uint8Array): number {
  const h = createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, ED25519]))
    .update(publicKey)
    .digest();
  return h.readUInt32BE(0);
}

/** Splits at the first `count` plus signs only: base64 keys may contain '+'. */
function splitPlus(s: string, count: number): string[] {
  const out: string[] = [];
  let rest = s;
  for (let i = 0; i < count; i++) {
    const at = rest.indexOf('+');
    if (at < 0) return [...out, rest];
    out.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  return [...out, rest];
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function rawPublicKey(key: KeyObject): Buffer {
  const spki = key.export({ format: 'der', type: 'spki' });
  return Buffer.from(spki.subarray(spki.length - 32));
}

export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  checkName(name);
  return `${name}+${hex8(keyIdFor(name, publicKey))}+${Buffer.concat([Buffer.from([ED25519]), publicKey]).toString('base64')}`;
}

/** Parses a note verifier string; checks the algorithm byte and that the key id matches name and key. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const parts = splitPlus(vkey.trim(), 2);
  if (parts.length !== 3) keyError('verifier key must be <name>+<hex key id>+<base64 key>');
  const [name, idHex, b64] = parts as [string, string, string];
  checkName(name);
  if (!/^[0-9a-f]{8}$/.test(idHex)) keyError('verifier key id must be 8 lowercase hex digits');
  const raw = Buffer.from(b64, 'base64');
  if (raw.toString('base64') !== b64 || raw.length !== 33 || raw[0] !== ED25519) {
    keyError('verifier key must be base64(0x01 ‖ 32-byte Ed25519 public key)');
  }
  const publicKey = raw.subarray(1);
  const keyId = parseInt(idHex, 16);
  if (keyIdFor(name, publicKey) !== keyId) keyError('verifier key id does not match its name and key');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey.toString('base64url') }, format: 'jwk' });
  return { name, keyId, publicKey: Buffer.from(publicKey), verifierKey: `${name}+${idHex}+${b64}`, key };
}

function signerFromSeed(name: string, seed: Buffer): NoteSigner {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const verifier = parseVerifierKey(formatVerifierKey(name, rawPublicKey(createPublicKey(privateKey))));
  return { ...verifier, sign: (message) => sign(null, message, privateKey) };
}

export function parseSigningKey(skey: string): NoteSigner {
  const parts = splitPlus(skey.trim(), 4);
  if (parts.length !== 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') {
    keyError('signing key must be PRIVATE+KEY+<name>+<hex key id>+<base64 key>');
  }
  const [, , name, idHex, b64] = parts as [string, string, string, string, string];
  checkName(name);
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== 33 || raw[0] !== ED25519) keyError('signing key must be base64(0x01 ‖ 32-byte Ed25519 seed)');
  const signer = signerFromSeed(name, raw.subarray(1));
  if (hex8(signer.keyId) !== idHex) keyError('signing key id does not match its name and key');
  return signer;
}

/** A fresh Ed25519 key in signed-note form. */
export function generateSigningKey(name: string): { signingKey: string; verifierKey: string } {
  checkName(name);
  const pkcs8 = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = Buffer.from(pkcs8.subarray(PKCS8_ED25519_PREFIX.length));
  const signer = signerFromSeed(name, seed);
  const signingKey = `PRIVATE+KEY+${name}+${hex8(signer.keyId)}+${Buffer.concat([Buffer.from([ED25519]), seed]).toString('base64')}`;
  return { signingKey, verifierKey: signer.verifierKey };
}

/**
 * Creates the checkpoint signing key file (mode 0600, never overwrites an existing file) and returns the
 * verifier key to publish. Run once at install.
 */
export async function createSigningKeyFile(path: string, name: string): Promise<{ verifierKey: string }> {
  const { signingKey, verifierKey } = generateSigningKey(name);
  await writeFileDurably(path, `${signingKey}\n`, { mode: 0o600, how: 'exclusive' });
  return { verifierKey };
}

/** Loads the signing key; refuses a file that group or others may read or write. */
export async function loadSigningKey(path: string): Promise<NoteSigner> {
  const st = await stat(path);
  if (!st.isFile()) keyError(`${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    keyError(`${path} has mode ${(st.mode & 0o777).toString(8)}: the signing key must be 0600 (owner only)`);
  }
  return parseSigningKey(await readFile(path, 'utf8'));
}

// ---- signed notes ----

/** Signs note text (must end in a newline) and returns the note: text, blank line, signature line. */
export function signNote(text: string, signer: NoteSigner): string {
  checkNoteText(text);
  const sig = signer.sign(Buffer.from(text, 'utf8'));
  const id = Buffer.alloc(4);
  id.writeUInt32BE(signer.keyId);
  return `${text}\n${SIG_PREFIX}${signer.name} ${Buffer.concat([id, sig]).toString('base64')}\n`;
}

function checkNoteText(text: string): void {
  if (!text.endsWith('\n')) throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', 'note text must end with a newline');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text)) {
    throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', 'note text must not contain control characters');
  }
}

export interface NoteSignature {
  name: string;
  keyId: number;
  signature: Buffer;
}

/** Splits a note into text and signature lines (no verification). */
export function parseNote(note: string): { text: string; signatures: NoteSignature[] } {
  const bad = (why: string): never => {
    throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', `malformed note: ${why}`);
  };
  const split = note.lastIndexOf('\n\n');
  if (split < 0) bad('no blank line before the signatures');
  const text = note.slice(0, split + 1);
  checkNoteText(text);
  const sigBlock = note.slice(split + 2);
  if (!sigBlock.endsWith('\n')) bad('signature block must end with a newline');
  const signatures: NoteSignature[] = [];
  for (const line of sigBlock.slice(0, -1).split('\n')) {
    if (!line.startsWith(SIG_PREFIX)) bad('signature line must start with an em dash');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.lastIndexOf(' ');
    if (space <= 0) bad('signature line must be "— <name> <base64>"');
    const name = rest.slice(0, space);
    const raw = Buffer.from(rest.slice(space + 1), 'base64');
    if (raw.length < 5 || raw.toString('base64') !== rest.slice(space + 1)) bad('signature is not base64');
    signatures.push({ name, keyId: raw.readUInt32BE(0), signature: raw.subarray(4) });
  }
  if (signatures.length === 0) bad('no signatures');
  return { text, signatures };
}

/**
 * Opens a note: returns its text if it carries a valid signature by `verifier`. Signatures by other keys are
 * ignored (a note may be cosigned); a signature that claims the verifier's name and id but does not verify fails.
 */
export function openNote(note: string, verifier: NoteVerifier): string {
  const { text, signatures } = parseNote(note);
  const mine = signatures.filter((s) => s.name === verifier.name && s.keyId === verifier.keyId);
  if (mine.length === 0) {
    throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', `note has no signature by ${verifier.name}+${hex8(verifier.keyId)}`);
  }
  for (const s of mine) {
    if (s.signature.length !== 64 || !verify(null, Buffer.from(text, 'utf8'), verifier.key, s.signature)) {
      throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', `invalid signature by ${verifier.name}+${hex8(verifier.keyId)}`);
    }
  }
  return text;
}

// ---- checkpoints ----

export function formatCheckpoint(origin: string, size: number, rootHash: Uint8Array): string {
  if (origin.length === 0 || origin.includes('\n')) throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', 'bad origin');
  if (!Number.isSafeInteger(size) || size < 0) throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', 'bad tree size');
  if (rootHash.length !== HASH_SIZE) throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', 'bad root hash');
  return `${origin}\n${size}\n${Buffer.from(rootHash).toString('base64')}\n`;
}

export function parseCheckpointText(text: string): Checkpoint {
  const bad = (why: string): never => {
    throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', `malformed checkpoint: ${why}`);
  };
  if (!text.endsWith('\n')) bad('must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) bad('needs origin, size and root hash lines');
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) bad('empty origin');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine) || !Number.isSafeInteger(Number(sizeLine))) bad('tree size is not a decimal');
  const rootHash = Buffer.from(rootLine, 'base64');
  if (rootHash.length !== HASH_SIZE || rootHash.toString('base64') !== rootLine) bad('root hash is not base64 SHA-256');
  if (extensions.some((l) => l.length === 0)) bad('empty extension line');
  return { origin, size: Number(sizeLine), rootHash, extensions };
}

export function signCheckpoint(checkpoint: { origin: string; size: number; rootHash: Uint8Array }, signer: NoteSigner): string {
  return signNote(formatCheckpoint(checkpoint.origin, checkpoint.size, checkpoint.rootHash), signer);
}

/** Verifies a signed checkpoint note against the verifier key (and the expected origin, if given). */
export function verifyCheckpoint(note: string, verifier: NoteVerifier | string, origin?: string): Checkpoint {
  const v = typeof verifier === 'string' ? parseVerifierKey(verifier) : verifier;
  const cp = parseCheckpointText(openNote(note, v));
  if (origin !== undefined && cp.origin !== origin) {
    throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', `checkpoint origin ${JSON.stringify(cp.origin)} is not ${JSON.stringify(origin)}`);
  }
  return cp;
}
