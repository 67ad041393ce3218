import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { readdir, readFile, mkdir, open, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { AuditError } from '../errors.js';
import { Frontier } from '../merkle.js';
import { CHECKPOINT_FILE, LEAVES_FILE, VERIFIER_KEY_FILE } from '../checkpointer.js';
import { TIMESTAMP_TOKEN_SUFFIX } from '../timestamp.js';
import { checkTimestamps, loadCheckpointDir, resolveVerifier, type TsaPin } from './checkpoint-folder.js';
import { LEAVES_SELECT, bundleLeaves, copyLeaves, exportScanSettings } from './leaf-sources.js';
import { verifyLog } from './verify-log.js';
import { appendProblems, type Problem, type VerifyReport } from './report.js';

/** Offline proof bundles: `kyc-audit export` writes one from the database, `kyc-audit verify-bundle` checks it. */

export const BUNDLE_FORMAT = 'kyc-audit-bundle/1';

const NEWLINE = Buffer.from('\n');

/**
 * `kyc-audit export`: writes a bundle that can be verified with no database:
 *   events.jsonl       one line per leaf, in leaf order: the leaf bytes (canonical JSON) exactly
 *   checkpoints/       copies of the checkpoint directory (*.checkpoint, *.leaves, verifier-key.txt)
 *   verifier-key.txt   the note verifier key
 *   manifest.json      format, tree size and root at export time (informative, unsigned)
 */
export async function exportBundle(options: { db: string; checkpointsDir: string; out: string }): Promise<{ treeSize: number; rootHash: string; checkpoints: number }> {
  await mkdir(options.out, { recursive: true });
  if ((await readdir(options.out)).length > 0) throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', `${options.out} is not empty`);
  await mkdir(join(options.out, 'checkpoints'));
  let copied = 0;
  for (const name of await readdir(options.checkpointsDir)) {
    if (CHECKPOINT_FILE.test(name) || LEAVES_FILE.test(name) || name === VERIFIER_KEY_FILE || name.endsWith('.checkpoint') || name.endsWith(`.checkpoint${TIMESTAMP_TOKEN_SUFFIX}`)) {
      await copyFile(join(options.checkpointsDir, name), join(options.out, 'checkpoints', name));
      if (name.endsWith('.checkpoint')) copied += 1;
    }
  }
  try {
    await copyFile(join(options.checkpointsDir, VERIFIER_KEY_FILE), join(options.out, VERIFIER_KEY_FILE));
  } catch {
    // no key in the directory: verify-bundle then needs --verifier-key
  }
  const client = new pg.Client({ connectionString: options.db });
  await client.connect();
  const fd = openSync(join(options.out, 'events.jsonl'), 'wx', 0o644);
  const frontier = new Frontier();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await exportScanSettings(client);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = (): void => {
      writeSync(fd, Buffer.concat(pending));
      pending = [];
      pendingBytes = 0;
    };
    await copyLeaves(client, LEAVES_SELECT, { withBody: true })({
      pushBatch: () => undefined,
      push: (index, leafHash, _stored, body) => {
        if (index !== frontier.size) throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', `cannot export: leaf ${frontier.size} is missing`);
        if (!leafHash || !body) throw new AuditError('KYC_ERR_AUDIT_CHECKPOINT', `cannot export: the event of leaf ${index} is missing`);
        frontier.append(leafHash);
        pending.push(Buffer.from(body), NEWLINE);
        pendingBytes += body.length + 1;
        if (pendingBytes > 1 << 20) flush();
        return true;
      },
    });
    flush();
    await client.query('COMMIT');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
    await client.end();
  }
  const manifest = {
    format: BUNDLE_FORMAT,
    treeSize: frontier.size,
    rootHash: frontier.root().toString('base64'),
    exportedAt: new Date().toISOString(),
  };
  const mh = await open(join(options.out, 'manifest.json'), 'wx', 0o644);
  try {
    await mh.writeFile(`${JSON.stringify(manifest, null, 2)}\n`);
    await mh.sync();
  } finally {
    await mh.close();
  }
  return { treeSize: manifest.treeSize, rootHash: manifest.rootHash, checkpoints: copied };
}

/** `kyc-audit verify-bundle DIR`: verifies an exported bundle with no database. */
export async function verifyBundle(options: { dir: string; verifierKey?: string; origin?: string; tsa?: TsaPin }): Promise<VerifyReport> {
  const cpDir = join(options.dir, 'checkpoints');
  const { verifier, source } = await resolveVerifier(options.verifierKey, options.dir);
  const set = await loadCheckpointDir(cpDir, verifier, options.origin);
  const extraProblems: Problem[] = [];
  let manifest: { format?: string; treeSize?: number; rootHash?: string } = {};
  try {
    manifest = JSON.parse(await readFile(join(options.dir, 'manifest.json'), 'utf8')) as typeof manifest;
  } catch {
    extraProblems.push({ index: null, exact: false, reason: 'manifest.json is missing or not JSON' });
  }
  if (manifest.format !== undefined && manifest.format !== BUNDLE_FORMAT) {
    extraProblems.push({ index: null, exact: false, reason: `unknown bundle format ${manifest.format}` });
  }
  const report = await verifyLog({
    leaves: bundleLeaves(join(options.dir, 'events.jsonl')),
    checkpoints: set,
    verifier,
    verifierKeySource: source,
    extraProblems,
  });
  if (manifest.treeSize !== undefined && (manifest.treeSize !== report.treeSize || manifest.rootHash !== report.rootHash)) {
    const p: Problem = {
      index: Math.min(manifest.treeSize, report.treeSize),
      exact: false,
      reason: `manifest says size ${manifest.treeSize} root ${manifest.rootHash}, the events give size ${report.treeSize} root ${report.rootHash}`,
    };
    appendProblems(report, [p]);
  }
  if (options.tsa) await checkTimestamps(report, cpDir, options.tsa);
  return report;
}
