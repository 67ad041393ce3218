import type { X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditError } from '../errors.js';
import { parseCheckpointText, parseNote, parseVerifierKey, verifyCheckpoint, type NoteVerifier } from '../checkpoint.js';
import { CHECKPOINT_FILE, LEAVES_FILE, VERIFIER_KEY_FILE } from '../checkpointer.js';
import { checkCheckpointTimestamps } from '../timestamp.js';
import { appendProblems, type Problem, type VerifyReport } from './report.js';

/**
 * The signed checkpoints folder as the verifier reads it: every `.checkpoint` note verified against the pinned key
 * (signature, origin, file name, issue order), the `.leaves` files exported beside them, and the RFC 3161 tokens.
 */

export interface LoadedCheckpoint {
  source: string;
  size: number;
  rootHash: Buffer;
  origin: string;
  /** issue time from the file name (directory checkpoints) */
  issuedAt: string | null;
}

/** `<from>-<to>.leaves`: the raw leaf hashes of [from, to), written with the checkpoint of size `to` */
export interface LeavesFile {
  from: number;
  to: number;
  path: string;
}

export interface CheckpointSet {
  checkpoints: LoadedCheckpoint[];
  leavesFiles: LeavesFile[];
  problems: Problem[];
}

export interface TsaPin {
  certs: X509Certificate[];
  /** a checkpoint without a token fails verification */
  required?: boolean;
}

/** Reads and verifies every checkpoint file of a directory (signature, origin, name, issue order). */
export async function loadCheckpointDir(dir: string, verifier: NoteVerifier, origin?: string): Promise<CheckpointSet> {
  const names = (await readdir(dir)).sort();
  const problems: Problem[] = [];
  const checkpoints: LoadedCheckpoint[] = [];
  const leavesFiles: LeavesFile[] = [];
  for (const name of names) {
    const l = LEAVES_FILE.exec(name);
    if (l) leavesFiles.push({ from: Number(l[1]), to: Number(l[2]), path: join(dir, name) });
    if (!name.endsWith('.checkpoint')) continue;
    const m = CHECKPOINT_FILE.exec(name);
    const note = await readFile(join(dir, name), 'utf8');
    const cp = checkNote(note, name, verifier, problems);
    if (!cp) continue;
    if (!m) {
      problems.push({ index: cp.size, exact: true, reason: `${name}: not a checkpoint file name` });
      continue;
    }
    if (Number(m[1]) !== cp.size) {
      problems.push({
        index: Math.min(cp.size, Number(m[1])),
        exact: true,
        reason: `${name}: file name says tree size ${Number(m[1])} but the signed checkpoint says ${cp.size}`,
      });
      continue;
    }
    checkpoints.push({ source: name, size: cp.size, rootHash: cp.rootHash, origin: cp.origin, issuedAt: m[2]! });
  }
  checkOrigin(checkpoints, origin, problems);
  // Issue order (file time) must never go back in size: an old checkpoint re-presented as new is a rollback.
  const byTime = [...checkpoints].sort((a, b) => (a.issuedAt! < b.issuedAt! ? -1 : a.issuedAt! > b.issuedAt! ? 1 : a.size - b.size));
  let largest: LoadedCheckpoint | null = null;
  for (const cp of byTime) {
    if (largest && cp.size < largest.size) {
      problems.push({
        index: cp.size,
        exact: true,
        reason: `${cp.source}: issued after ${largest.source} but has the smaller tree size ${cp.size} < ${largest.size} (old checkpoint presented as new)`,
      });
    }
    if (!largest || cp.size >= largest.size) largest = cp;
  }
  leavesFiles.sort((a, b) => a.from - b.from);
  return { checkpoints, leavesFiles, problems };
}

/** Verifies one signed note; a note that does not verify becomes a problem (at its size, when that can be read). */
export function checkNote(note: string, source: string, verifier: NoteVerifier, problems: Problem[]): { size: number; rootHash: Buffer; origin: string } | null {
  try {
    const cp = verifyCheckpoint(note, verifier);
    return { size: cp.size, rootHash: cp.rootHash, origin: cp.origin };
  } catch (err) {
    let index: number | null = null;
    try {
      index = parseCheckpointText(parseNote(note).text).size;
    } catch {
      // unparseable: no index to name
    }
    problems.push({ index, exact: true, reason: `${source}: ${(err as Error).message}` });
    return null;
  }
}

function checkOrigin(checkpoints: LoadedCheckpoint[], origin: string | undefined, problems: Problem[]): void {
  const expected = origin ?? checkpoints[0]?.origin;
  if (expected === undefined) return;
  for (const cp of checkpoints) {
    if (cp.origin !== expected) {
      problems.push({ index: cp.size, exact: true, reason: `${cp.source}: origin ${JSON.stringify(cp.origin)} is not ${JSON.stringify(expected)}` });
    }
  }
}

/**
 * The verifier key must be pinned by the caller: a key read from the folder being checked proves nothing (whoever
 * rewrote the log and its checkpoints can write that file too), so the folder's `verifier-key.txt` is never used.
 */
export async function resolveVerifier(explicit: string | undefined, dir: string): Promise<{ verifier: NoteVerifier; source: VerifyReport['verifierKeySource'] }> {
  if (!explicit) {
    throw new AuditError(
      'KYC_ERR_AUDIT_KEY',
      `no verifier key pinned: pass --verifier-key (or --signing-key on the appliance host); the ${VERIFIER_KEY_FILE} in ${dir} is part of what is being checked`,
    );
  }
  return { verifier: parseVerifierKey(explicit), source: 'argument' };
}

/**
 * RFC 3161 tokens beside the checkpoints, against the pinned TSA certificates. A token that does not verify is a
 * problem; a checkpoint without one is a problem only with `required` (a TSA may have been down, or enabled later).
 */
export async function checkTimestamps(report: VerifyReport, dir: string, tsa: TsaPin): Promise<void> {
  const { problems, ...summary } = await checkCheckpointTimestamps(dir, tsa.certs);
  report.timestamps = summary;
  const found: Problem[] = problems.map((p) => ({ index: null, exact: false, reason: `${p.file}: ${p.reason}` }));
  if (tsa.required && summary.missing > 0) found.push({ index: null, exact: false, reason: `${summary.missing} checkpoints have no timestamp token` });
  appendProblems(report, found);
}
