/**
 * The offline verifier's public face (`kyc-audit`, the package index and the tests import from here). The parts
 * live in `verifier/`: the checkpoint folder, the leaf sources, the rebuilder, the pure check, and the database and
 * bundle front ends.
 */
export type { Problem, VerifyReport } from './verifier/report.js';
export { loadCheckpointDir, checkTimestamps, type LoadedCheckpoint, type CheckpointSet, type TsaPin } from './verifier/checkpoint-folder.js';
export type { LeafPush, LeafSink, LeafSource } from './verifier/leaf-sources.js';
export { verifyLog, type VerifyInput } from './verifier/verify-log.js';
export { verifyDatabase, type DbVerifyOptions } from './verifier/database.js';
export { BUNDLE_FORMAT, exportBundle, verifyBundle } from './verifier/bundle.js';
