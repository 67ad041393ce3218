import type { NoteVerifier } from '../checkpoint.js';
import type { CheckpointSet, LoadedCheckpoint } from './checkpoint-folder.js';
import type { LeafSource } from './leaf-sources.js';
import { Rebuilder } from './rebuilder.js';
import { checkClaims, consistencyNodes, latestSize } from './check.js';
import { firstProblem, type Problem, type VerifyReport } from './report.js';

/**
 * The offline verifier: rebuilds the tree from the leaf bytes (database rows or a bundle), checks every stored
 * leaf hash and tree head, every checkpoint's signature and root, and consistency between successive
 * checkpoints with RFC 9162's algorithm. It trusts nothing the database computed.
 */

export interface VerifyInput {
  /** pushes the leaves in index order */
  leaves: LeafSource;
  checkpoints: CheckpointSet;
  /** extra trusted-looking checkpoints (from the database) verified the same way */
  extraCheckpoints?: LoadedCheckpoint[];
  /** stored tree heads to check against the rebuilt tree (database mode) */
  heads?: Array<{ size: number; rootHash: Buffer }>;
  verifier: NoteVerifier;
  verifierKeySource: VerifyReport['verifierKeySource'];
  /** the database's own view, to catch an old checkpoint served as the latest */
  servedLatestSize?: number | null;
  extraProblems?: Problem[];
  /** a better reason for a missing leaf (the database knows whether the leaf row or its event is gone) */
  explainGap?: (index: number) => Promise<string | null>;
  /** more checks once every leaf was read (`complete`: the source was not stopped early) */
  afterLeaves?: (complete: boolean) => Promise<Problem[]>;
}

/** Runs the whole verification and returns the report (never throws for verification failures). */
export async function verifyLog(input: VerifyInput): Promise<VerifyReport> {
  const started = performance.now();
  const problems: Problem[] = [...input.checkpoints.problems, ...(input.extraProblems ?? [])];
  const cps = [...input.checkpoints.checkpoints, ...(input.extraCheckpoints ?? [])];
  const heads = input.heads ?? [];
  const rb = new Rebuilder([...cps.map((c) => c.size), ...heads.map((h) => h.size)], consistencyNodes(cps.map((c) => c.size)), input.checkpoints.leavesFiles);
  await input.leaves(rb);
  rb.finish();
  if (rb.gapAt !== null && input.explainGap) {
    const better = await input.explainGap(rb.gapAt);
    const p = rb.problems.find((x) => x.index === rb.gapAt && x.reason.startsWith(`leaf ${rb.gapAt} is missing`));
    if (better && p) p.reason = better;
  }
  problems.push(...rb.problems);
  if (input.afterLeaves) problems.push(...(await input.afterLeaves(!rb.stopped)));
  problems.push(...checkClaims(rb, { checkpoints: cps, heads, servedLatestSize: input.servedLatestSize }));
  const seconds = (performance.now() - started) / 1000;
  const report: VerifyReport = {
    ok: problems.length === 0,
    treeSize: rb.size,
    rootHash: rb.frontier.root().toString('base64'),
    checkpoints: cps.length,
    latestCheckpointSize: latestSize(cps),
    verifierKey: input.verifier.verifierKey,
    verifierKeySource: input.verifierKeySource,
    seconds: Math.round(seconds * 1000) / 1000,
    eventsPerSecond: Math.round(rb.size / Math.max(seconds, 1e-6)),
  };
  if (problems.length > 0) {
    const first = firstProblem(problems)!;
    report.firstBadIndex = first.index;
    report.reason = first.reason;
    report.problems = problems.length;
    report.details = problems.slice(0, 20);
  }
  return report;
}
