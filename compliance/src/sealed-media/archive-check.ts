import { join } from 'node:path';
import { sha256File } from './streaming-aead.js';

/**
 * The link between the audit log and the archive: a `recording.sealed` event carries, for every sealed file of
 * the recording, a detail `file.<name>` = `<bytes>:<sha256 hex>` of the ciphertext. Anyone holding the audit
 * log and the archive can check the files without any key.
 */

export const SEALED_EVENT_ACTION = 'recording.sealed';
export const SEALED_FILE_DETAIL_PREFIX = 'file.';
const NAME = /^[a-z0-9][a-z0-9.-]*$/;

export interface SealedFileDigest {
  name: string;
  bytes: number;
  sha256: string;
}

/** The audit details of sealed files (merged into the event's details by the sealer). */
export function sealedFileDetails(files: readonly SealedFileDigest[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files) {
    if (!NAME.test(f.name)) throw new RangeError(`bad sealed file name ${f.name}`);
    out[`${SEALED_FILE_DETAIL_PREFIX}${f.name}`] = `${f.bytes}:${f.sha256}`;
  }
  return out;
}

/** Reads the sealed files back from an event's details; malformed entries are returned as problems. */
export function parseSealedFileDetails(details: Record<string, unknown> | undefined): { files: SealedFileDigest[]; malformed: string[] } {
  const files: SealedFileDigest[] = [];
  const malformed: string[] = [];
  for (const [k, v] of Object.entries(details ?? {})) {
    if (!k.startsWith(SEALED_FILE_DETAIL_PREFIX)) continue;
    const name = k.slice(SEALED_FILE_DETAIL_PREFIX.length);
    const m = typeof v === 'string' ? /^(\d+):([0-9a-f]{64})$/.exec(v) : null;
    if (!m || !NAME.test(name)) malformed.push(k);
    else files.push({ name, bytes: Number(m[1]), sha256: m[2]! });
  }
  return { files, malformed };
}

export interface SealedRecordingProblem {
  recordingId: string;
  file: string | null;
  reason: string;
}

/** Checks one sealed recording's folder `<archiveDir>/<recordingId>/` against the hashes of its event. */
export async function checkSealedRecording(archiveDir: string, recordingId: string, details: Record<string, unknown> | undefined): Promise<{ files: number; problems: SealedRecordingProblem[] }> {
  const problems: SealedRecordingProblem[] = [];
  if (!NAME.test(recordingId)) return { files: 0, problems: [{ recordingId, file: null, reason: 'the event names no valid recording id' }] };
  const { files, malformed } = parseSealedFileDetails(details);
  for (const k of malformed) problems.push({ recordingId, file: k, reason: `malformed detail ${k}` });
  if (files.length === 0) problems.push({ recordingId, file: null, reason: 'the event lists no sealed files' });
  for (const f of files) {
    let got: { sha256: string; bytes: number };
    try {
      got = await sha256File(join(archiveDir, recordingId, f.name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push({ recordingId, file: f.name, reason: code === 'ENOENT' ? 'missing from the archive' : `unreadable (${code ?? 'error'})` });
      continue;
    }
    if (got.bytes !== f.bytes) problems.push({ recordingId, file: f.name, reason: `size ${got.bytes} differs from the sealed ${f.bytes} bytes` });
    else if (got.sha256 !== f.sha256) problems.push({ recordingId, file: f.name, reason: 'SHA-256 differs from the sealed hash (file altered or replaced)' });
  }
  return { files: files.length, problems };
}
