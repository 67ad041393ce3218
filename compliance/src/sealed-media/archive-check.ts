import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson } from '../audit/event.js';
import { sha256File } from './streaming-aead.js';

/**
 * The link between the audit log and the archive. A `recording.sealed` event carries `files` (how many sealed files)
 * and `filesSha256`, the SHA-256 of the folder's `files.json`: the list of every sealed file with its name, size and
 * SHA-256 of the ciphertext (RFC 8785 canonical JSON, sorted by name; no secrets). However many files a recording
 * has, its event stays the same size. Anyone holding the audit log and the archive can check the files without any
 * key. Events of the earlier formats listed the files in the event itself (details `files.1`, `files.2`, … or one
 * `file.<name>` per file); they still verify.
 */

export const SEALED_FILE_LIST = 'files.json';
export const SEALED_FILE_LIST_DETAIL = 'filesSha256';

export const SEALED_EVENT_ACTION = 'recording.sealed';
/**
 * A retention run destroyed an item (crypto-shredding); for a recording the event's object is
 * `{type: 'recording', id}`: its data key and sealed files are gone on purpose, so the verifier reports it as
 * shredded (with the event's leaf index) instead of checking files that no longer exist.
 */
export const SHREDDED_EVENT_ACTION = 'retention.shredded';
export const SEALED_FILE_DETAIL_PREFIX = 'files.';
/** the first format (one detail `file.<name>` = `<bytes>:<sha256 hex>` per file): events in the log keep it forever */
const LEGACY_FILE_DETAIL_PREFIX = 'file.';
const NAME = /^[a-z0-9][a-z0-9.-]*$/;
/** an audit detail string holds at most 1,024 characters */
const MAX_DETAIL_CHARS = 1024;
/** detail keys the sealer may use for files (the event holds 32 keys; the recording's own take the rest) */
export const MAX_SEALED_FILE_DETAILS = 22;

export interface SealedFileDigest {
  name: string;
  bytes: number;
  sha256: string;
}

/**
 * The audit details of sealed files (merged into the event's details by the sealer). About nine files fit one
 * detail, so a recording of up to ~200 files (a call with dozens of reconnections) fits one event.
 */
function checkDigest(f: SealedFileDigest): void {
  if (!NAME.test(f.name)) throw new RangeError(`bad sealed file name ${f.name}`);
  if (!Number.isSafeInteger(f.bytes) || f.bytes < 0 || !/^[0-9a-f]{64}$/.test(f.sha256)) throw new RangeError(`bad size or hash for ${f.name}`);
}

/**
 * The sealed folder's file list (`files.json` bytes) and the details the `recording.sealed` event carries for it.
 */
export function encodeSealedFileList(files: readonly SealedFileDigest[]): { bytes: Buffer; details: { files: number; filesSha256: string } } {
  const names = new Set<string>();
  for (const f of files) {
    checkDigest(f);
    if (f.name === SEALED_FILE_LIST) throw new RangeError(`${SEALED_FILE_LIST} cannot list itself`);
    if (names.has(f.name)) throw new RangeError(`${f.name} listed twice`);
    names.add(f.name);
  }
  const sorted = [...files].map((f) => ({ name: f.name, bytes: f.bytes, sha256: f.sha256 })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const bytes = Buffer.from(`${canonicalJson({ v: 1, files: sorted })}\n`, 'utf8');
  return { bytes, details: { files: sorted.length, filesSha256: createHash('sha256').update(bytes).digest('hex') } };
}

/** Reads a `files.json` back; entries that are not a valid name, size and hash are returned as problems. */
export function parseSealedFileList(bytes: Buffer): { files: SealedFileDigest[]; malformed: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { files: [], malformed: [`${SEALED_FILE_LIST} is not JSON`] };
  }
  const list = (parsed as { v?: unknown; files?: unknown }).files;
  if ((parsed as { v?: unknown }).v !== 1 || !Array.isArray(list)) return { files: [], malformed: [`${SEALED_FILE_LIST} is not a version 1 file list`] };
  const files: SealedFileDigest[] = [];
  const malformed: string[] = [];
  const seen = new Set<string>();
  for (const [i, e] of list.entries()) {
    const f = e as SealedFileDigest;
    try {
      checkDigest(f);
    } catch {
      malformed.push(`${SEALED_FILE_LIST} entry ${i}`);
      continue;
    }
    if (seen.has(f.name)) malformed.push(`${SEALED_FILE_LIST}: ${f.name} listed twice`);
    else {
      seen.add(f.name);
      files.push({ name: f.name, bytes: f.bytes, sha256: f.sha256 });
    }
  }
  return { files, malformed };
}

/** Details of the second format (the list in the event); kept for reading and tests of old events. */
export function sealedFileDetails(files: readonly SealedFileDigest[]): Record<string, string> {
  const values: string[] = [];
  let current = '';
  for (const f of files) {
    checkDigest(f);
    const entry = `${f.name}:${f.bytes}:${f.sha256}`;
    if (entry.length > MAX_DETAIL_CHARS) throw new RangeError(`sealed file name ${f.name} is too long`);
    if (current && current.length + 1 + entry.length > MAX_DETAIL_CHARS) {
      values.push(current);
      current = '';
    }
    current = current ? `${current} ${entry}` : entry;
  }
  if (current) values.push(current);
  if (values.length > MAX_SEALED_FILE_DETAILS) throw new RangeError(`${files.length} sealed files do not fit one audit event`);
  return Object.fromEntries(values.map((v, i) => [`${SEALED_FILE_DETAIL_PREFIX}${i + 1}`, v]));
}

/** Reads the sealed files back from an event's details; malformed entries are returned as problems. */
export function parseSealedFileDetails(details: Record<string, unknown> | undefined): { files: SealedFileDigest[]; malformed: string[] } {
  const files: SealedFileDigest[] = [];
  const malformed: string[] = [];
  const seen = new Set<string>();
  const add = (name: string, bytes: string, sha256: string, k: string): void => {
    if (seen.has(name)) malformed.push(`${k}: ${name} listed twice`);
    else {
      seen.add(name);
      files.push({ name, bytes: Number(bytes), sha256 });
    }
  };
  for (const [k, v] of Object.entries(details ?? {})) {
    if (k.startsWith(LEGACY_FILE_DETAIL_PREFIX)) {
      const name = k.slice(LEGACY_FILE_DETAIL_PREFIX.length);
      const m = typeof v === 'string' ? /^(\d+):([0-9a-f]{64})$/.exec(v) : null;
      if (!m || !NAME.test(name)) malformed.push(k);
      else add(name, m[1]!, m[2]!, k);
      continue;
    }
    if (!k.startsWith(SEALED_FILE_DETAIL_PREFIX)) continue;
    if (typeof v !== 'string' || !/^[1-9]\d*$/.test(k.slice(SEALED_FILE_DETAIL_PREFIX.length))) {
      malformed.push(k);
      continue;
    }
    for (const entry of v.split(' ')) {
      const m = /^([a-z0-9][a-z0-9.-]*):(\d+):([0-9a-f]{64})$/.exec(entry);
      if (!m) malformed.push(`${k}: ${entry.slice(0, 80)}`);
      else add(m[1]!, m[2]!, m[3]!, k);
    }
  }
  return { files, malformed };
}

export interface SealedRecordingProblem {
  recordingId: string;
  file: string | null;
  reason: string;
}

/** The files an event seals: from the folder's file list when the event carries its hash, else from the event. */
async function listedFiles(folder: string, details: Record<string, unknown> | undefined): Promise<{ files: SealedFileDigest[]; malformed: string[] } | { problem: string }> {
  const listHash = details?.[SEALED_FILE_LIST_DETAIL];
  if (listHash === undefined) return parseSealedFileDetails(details);
  if (typeof listHash !== 'string' || !/^[0-9a-f]{64}$/.test(listHash)) return { problem: `malformed detail ${SEALED_FILE_LIST_DETAIL}` };
  let bytes: Buffer;
  try {
    bytes = await readFile(join(folder, SEALED_FILE_LIST));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? 'missing from the archive' : `unreadable (${code ?? 'error'})` };
  }
  if (createHash('sha256').update(bytes).digest('hex') !== listHash) return { problem: 'SHA-256 differs from the sealed list hash (file list altered or replaced)' };
  return parseSealedFileList(bytes);
}

/** Checks one sealed recording's folder `<archiveDir>/<recordingId>/` against the hashes of its event. */
export async function checkSealedRecording(
  archiveDir: string,
  recordingId: string,
  details: Record<string, unknown> | undefined,
): Promise<{ files: number; problems: SealedRecordingProblem[] }> {
  const problems: SealedRecordingProblem[] = [];
  if (!NAME.test(recordingId)) return { files: 0, problems: [{ recordingId, file: null, reason: 'the event names no valid recording id' }] };
  const listed = await listedFiles(join(archiveDir, recordingId), details);
  if ('problem' in listed) return { files: 0, problems: [{ recordingId, file: SEALED_FILE_LIST, reason: listed.problem }] };
  const { files, malformed } = listed;
  for (const k of malformed) problems.push({ recordingId, file: k, reason: `malformed detail ${k}` });
  if (files.length === 0) problems.push({ recordingId, file: null, reason: 'the event lists no sealed files' });
  const count = details?.['files'];
  if (typeof count === 'number' && count !== files.length) problems.push({ recordingId, file: null, reason: `the event says ${count} files but lists ${files.length}` });
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
