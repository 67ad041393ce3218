import type { TimestampReport } from '../timestamp.js';

/** What the verifier reports: one problem per thing that does not hold, and the summary line `kyc-audit` prints. */

export interface Problem {
  /** the first leaf index the problem concerns (null when none can be named) */
  index: number | null;
  /** true when `index` is exactly the first bad leaf; false when it only starts a range [index, end) */
  exact: boolean;
  end?: number;
  reason: string;
}

export interface VerifyReport {
  ok: boolean;
  treeSize: number;
  rootHash: string;
  checkpoints: number;
  latestCheckpointSize: number | null;
  verifierKey: string;
  verifierKeySource: 'argument' | 'checkpoint-dir' | 'bundle';
  seconds: number;
  eventsPerSecond: number;
  /** things that hold but weaken the result (no checkpoints; key taken from the directory being checked) */
  warnings?: string[];
  firstBadIndex?: number | null;
  reason?: string;
  problems?: number;
  details?: Problem[];
  /** with an archive: sealed recordings and files checked against their `recording.sealed` event */
  recordings?: { checked: number; files: number; bad: number; shredded: number };
  /** with an archive: recordings destroyed by retention (crypto-shredded), each with its shredding event's leaf index */
  shreddedRecordings?: Array<{ recordingId: string; auditSeq: number }>;
  /** with pinned TSA certificates: the RFC 3161 tokens beside the checkpoints */
  timestamps?: Omit<TimestampReport, 'problems'>;
}

/** The problem to name first: the lowest leaf index, where a range problem yields to an exact one inside it. */
export function firstProblem(problems: Problem[]): Problem | undefined {
  const exact = problems.filter((p) => p.exact && p.index !== null);
  const ranges = problems.filter((p) => !p.exact && p.index !== null);
  // a range problem only counts when no exact problem falls inside it (the exact one is then the cause)
  const effective = [...exact, ...ranges.filter((r) => !exact.some((e) => e.index! >= r.index! && e.index! < (r.end ?? Infinity)))];
  effective.sort((a, b) => a.index! - b.index!);
  return effective[0] ?? problems[0];
}

/** Adds problems found after the log itself was verified (archive, bundle manifest, timestamps) to the report. */
export function appendProblems(report: VerifyReport, problems: Problem[]): void {
  if (problems.length === 0) return;
  report.ok = false;
  report.problems = (report.problems ?? 0) + problems.length;
  report.details = [...(report.details ?? []), ...problems].slice(0, 20);
  if (report.firstBadIndex === undefined) {
    report.firstBadIndex = problems[0]!.index;
    report.reason = problems[0]!.reason;
  }
}
