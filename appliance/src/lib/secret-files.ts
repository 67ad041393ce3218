import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, statSync, writeSync, closeSync, constants } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Why a secret file's mode is unsafe, or null. Owner-only (0600); with `groupReadable` (separate OS users sharing
 * it through the group, as KYC_DIR_GROUP_ACCESS) also readable by the group, never writable by it (0640).
 */
export function secretModeProblem(mode: number, access: { groupReadable?: boolean } = {}): string | null {
  if (access.groupReadable) return (mode & 0o037) !== 0 ? 'must not be writable by its group nor accessible by others (chmod 640)' : null;
  return (mode & 0o077) !== 0 ? 'must not be readable by group or others (chmod 600)' : null;
}

/** Reads a secret file, refusing one that group or others may read (the group may, with `groupReadable`). */
export function readSecretFile(path: string, access: { groupReadable?: boolean } = {}): Buffer {
  const st = statSync(path);
  const problem = secretModeProblem(st.mode, access);
  if (problem) throw new Error(`secret file ${path} ${access.groupReadable ? problem : 'must have mode 0600'}`);
  return readFileSync(path);
}

/** Reads a secret file as trimmed text (passwords, client secrets, PINs). */
export function readSecretText(path: string, access: { groupReadable?: boolean } = {}): string {
  return readSecretFile(path, access).toString('utf8').trim();
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
