// What the hub names the files Janus records: one numbered segment per publish, named by the sealer's own rule so
// that what the hub counts is what the sealer will find.
import { readdir } from 'node:fs/promises';
import { parseStreamFileName, streamBaseName } from '../recording/recording-layout.js';
import type { Party } from './protocol.js';

/** One naming rule for the hub (which names what Janus writes) and the sealer (which reads it). */
export const recordingBaseName = streamBaseName;

/** The highest segment number of the party's files already in `dir` (0 when none, or no folder yet). */
export async function highestSegment(dir: string, party: Party): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  // the sealer's naming rule, so that what the hub counts is what the sealer will find
  return names.reduce((max, name) => {
    const f = parseStreamFileName(name);
    return f && f.party === party ? Math.max(max, f.segment) : max;
  }, 0);
}
