import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decryptFile, decryptStream, recordingAad, SealedMediaError, type KeyWrapper } from '@kyc/compliance';
import { KEY_FILE, MANIFEST_FILE, SEALED_SUFFIX } from './recording-layout.js';
import type { StoredManifest } from './manifest.js';

/**
 * Reads a sealed recording folder of the archive with nothing but the folder and the KEKs: `key.json` gives the
 * wrapped data key, the manifest lists every file and its plaintext SHA-256. Used by `kyc-archive decrypt`
 * (disaster recovery) and by the tests.
 */

export interface KeyFile {
  v: 1;
  recordingId: string;
  kid: string;
  wrappedKey: string;
  alg: string;
}

export async function readKeyFile(folder: string, recordingId: string): Promise<KeyFile> {
  let k: KeyFile;
  try {
    k = JSON.parse(await readFile(join(folder, KEY_FILE), 'utf8')) as KeyFile;
  } catch {
    throw new SealedMediaError('KYC_ERR_SEALED_KEY', `${KEY_FILE} is missing or not JSON in ${folder}`);
  }
  if (k.v !== 1 || k.recordingId !== recordingId || typeof k.kid !== 'string' || typeof k.wrappedKey !== 'string') {
    throw new SealedMediaError('KYC_ERR_SEALED_KEY', `${KEY_FILE} in ${folder} is not the key file of recording ${recordingId}`);
  }
  return k;
}

export async function unwrapRecordingKey(keyring: KeyWrapper, key: { kid: string; wrapped: Buffer }, recordingId: string): Promise<Buffer> {
  return keyring.unwrap({ kid: key.kid, wrapped: key.wrapped }, recordingId);
}

/** Decrypts and checks the manifest: its bytes must hash to `expectedSha256` when given (from the database). */
export async function readManifest(
  folder: string,
  recordingId: string,
  dataKey: Buffer,
  expectedSha256?: string,
): Promise<{ manifest: Record<string, unknown>; sha256: string; bytes: Buffer }> {
  const parts: Buffer[] = [];
  for await (const c of decryptStream(join(folder, `${MANIFEST_FILE}${SEALED_SUFFIX}`), dataKey, recordingAad(recordingId, MANIFEST_FILE))) parts.push(c);
  const bytes = Buffer.concat(parts);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (expectedSha256 && sha256 !== expectedSha256) throw new SealedMediaError('KYC_ERR_SEALED_AUTH', `the manifest's SHA-256 ${sha256} is not the sealed one ${expectedSha256}`);
  return { manifest: JSON.parse(bytes.toString('utf8')) as Record<string, unknown>, sha256, bytes };
}

export interface DecryptedFile {
  name: string;
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * Restores a sealed recording's plaintext into `outDir` (created 0700; files 0600): every media file, every raw
 * file under its original name, and manifest.json; each checked against the manifest's SHA-256.
 */
export async function decryptRecording(o: {
  archiveDir: string;
  recordingId: string;
  keyring: KeyWrapper;
  outDir: string;
  /** the database's wrapped key and manifest hash, when the database is available */
  known?: { kid: string; wrapped: Buffer; manifestSha256: string | null };
}): Promise<{ manifestSha256: string; files: DecryptedFile[] }> {
  const folder = join(o.archiveDir, o.recordingId);
  let wrapped: { kid: string; wrapped: Buffer; manifestSha256: string | null };
  if (o.known) wrapped = o.known;
  else {
    const k = await readKeyFile(folder, o.recordingId);
    wrapped = { kid: k.kid, wrapped: Buffer.from(k.wrappedKey, 'base64'), manifestSha256: null };
  }
  const dataKey = await unwrapRecordingKey(o.keyring, wrapped, o.recordingId);
  try {
    const { manifest, sha256, bytes } = await readManifest(folder, o.recordingId, dataKey, wrapped.manifestSha256 ?? undefined);
    await mkdir(o.outDir, { recursive: true, mode: 0o700 });
    const present = new Set(await readdir(folder));
    const m = manifest as Pick<StoredManifest, 'files' | 'raw'>;
    const todo = [
      ...(m.files ?? []).map((f) => ({ sealedName: f.name, outName: f.name, expect: f.plaintext })),
      ...(m.raw ?? []).map((r) => ({ sealedName: r.ciphertext.name.replace(/\.kseal$/, ''), outName: r.source, expect: r.plaintext })),
    ];
    const files: DecryptedFile[] = [];
    for (const f of todo) {
      if (!present.has(`${f.sealedName}${SEALED_SUFFIX}`)) throw new SealedMediaError('KYC_ERR_SEALED_FORMAT', `${f.sealedName}${SEALED_SUFFIX} is listed in the manifest but missing`);
      const path = join(o.outDir, f.outName);
      const r = await decryptFile(join(folder, `${f.sealedName}${SEALED_SUFFIX}`), path, dataKey, recordingAad(o.recordingId, f.sealedName));
      if (r.plaintextSha256 !== f.expect.sha256) throw new SealedMediaError('KYC_ERR_SEALED_AUTH', `${f.outName}: SHA-256 differs from the manifest`);
      files.push({ name: f.outName, path, bytes: r.plaintextBytes, sha256: r.plaintextSha256 });
    }
    await writeFile(join(o.outDir, MANIFEST_FILE), bytes, { mode: 0o600, flag: 'wx' });
    return { manifestSha256: sha256, files };
  } finally {
    dataKey.fill(0);
  }
}
