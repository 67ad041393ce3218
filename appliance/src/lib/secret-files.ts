import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, statSync, writeSync, closeSync, constants } from 'node:fs';
import { dirname } from 'node:path';

/** Reads a secret file, refusing one that group or others may read. */
export function readSecretFile(path: string): Buffer {
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0) throw new Error(`secret file ${path} must have mode 0600`);
  return readFileSync(path);
}

/** Reads a secret file as trimmed text (passwords, client secrets). */
export function readSecretText(path: string): string {
  return readSecretFile(path).toString('utf8').trim();
}

/** Writes a new secret file with mode 0600; never overwrites an existing one (O_EXCL). */
export function writeNewSecretFile(path: string, content: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
  } finally {
    closeSync(fd);
  }
}

/** Returns the 32-byte key in `path`, creating it (random, hex-encoded, 0600) if it does not exist yet. */
export function ensureKeyFile(path: string): Buffer {
  try {
    statSync(path);
  } catch {
    writeNewSecretFile(path, `${randomBytes(32).toString('hex')}\n`);
  }
  const key = Buffer.from(readSecretText(path), 'hex');
  if (key.length !== 32) throw new Error(`key file ${path} must hold 32 bytes as hex`);
  return key;
}
