import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readdir, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import {
  DEFAULT_SEGMENT_SIZE,
  FORMAT_VERSION,
  encryptFile,
  newDataKey,
  recordingAad,
  encodeSealedFileList,
  SEALED_FILE_LIST,
  pathExists,
  syncDir,
  type EncryptResult,
  type KeyWrapper,
} from '@kyc/compliance';
import { withTransaction } from '../db/database.js';
import { callSessionRepository, type CallSessionRow } from '../repositories/call-session.repository.js';
import { recordingRepository, type NewRecordingFile, type RecordingRow } from '../repositories/recording.repository.js';
import { identityRepository, type SessionStillRow } from '../kyc/identity-repository.js';
import { auditEvent, type AuditSink } from '../services/audit.js';
import { checkCompleteness, isComplete, type InspectedSegment, type InspectedStream, type RecordingIssue } from './completeness.js';
import { MediaToolError, type MediaTools } from './media-tools.js';
import { buildManifest, encodeManifest, timeBaseUs, type IdentityStillEntry, type MediaEntry, type RawEntry } from './manifest.js';
import { KEY_FILE, MANIFEST_FILE, SEALED_SUFFIX, groupStreams, type StreamFile } from './recording-layout.js';
import { depacketiseSegment, mergeSegment, type Converted } from './seal-convert.js';

/**
 * Seals one session's recording. Every step is idempotent, and the durable record of where it stands is the
 * recording row (status, step, wrapped key) plus what exists on disk:
 *
 *   key      a fresh data key, wrapped by the current KEK, stored once (a retry unwraps the same key)
 *   inspect  list the session folder, read each .mjr header, check completeness
 *   convert  janus-pp-rec per stream, ffmpeg stream-copy merge per party segment (outputs renamed into place
 *            only when complete, so a resumed attempt skips what is done) — in a private work folder inside
 *            the session folder
 *   encrypt  every media file, every .mjr that could not be merged, and the manifest into a staging folder in
 *            the archive
 *   commit   rename staging → <archive>/<recordingId> (atomic, same filesystem), then one transaction: the
 *            file rows, status sealed, and the `recording.sealed` audit event with the hash of the folder's file
 *            list (every ciphertext's name, size and hash) and the manifest's hash
 *   cleanup  remove the session folder (.mjr files and the plaintext work files), check that it is gone, and
 *            record that with a `recording.plaintext_removed` event
 *
 * A crash anywhere leaves either the plaintext in the private session folder (nothing sealed yet: the next
 * attempt redoes the work; an uncommitted archive folder is replaced) or a committed sealed copy (the next
 * attempt only cleans up). One attempt at a time per recording: a session-level advisory lock, released by
 * PostgreSQL when the worker's connection dies.
 */

const LOCK_NAMESPACE = 0x6b79_6373; // pg_try_advisory_lock(int, int) first key: "kycs"
export const ENCRYPTION_FORMAT = `KYC-SEAL/${FORMAT_VERSION}`;
export interface SealContext {
  pool: pg.Pool;
  audit: AuditSink;
  keyring: KeyWrapper;
  tools: MediaTools;
  recordingsDir: string;
  archiveDir: string;
  /** how long to wait for Janus to close files it is still writing */
  settleMs: number;
  /** sealed folders 2750 and files 0640 for the archive's group (KYC_DIR_GROUP_ACCESS); default owner-only */
  groupReadable?: boolean;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  now?: () => Date;
}

/** Another attempt holds the recording's lock: try again later, nothing to record. */
export class SealBusyError extends Error {
  constructor() {
    super('another worker is sealing this recording');
    this.name = 'SealBusyError';
  }
}

/** Why an attempt failed, in words fit for the status page and the audit log (no keys, no paths beyond names). */
export function failureReason(err: unknown): string {
  if (err instanceof MediaToolError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC') return `disk full (ENOSPC)${e.syscall ? ` during ${e.syscall}` : ''}`;
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return `permission denied (${e.code})${e.syscall ? ` during ${e.syscall}` : ''}`;
  if (e?.code === 'EROFS') return 'the filesystem is read-only (EROFS)';
  if (e?.code === 'EDQUOT') return 'disk quota exceeded (EDQUOT)';
  if (typeof e?.code === 'string' && e.code.startsWith('KYC_ERR_')) return `${e.code}: ${e.message}`;
  if (typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code)) return `file system error ${e.code}${e.syscall ? ` during ${e.syscall}` : ''}`;
  return 'internal error while sealing (see the worker log)';
}

export const SEAL_LOCK_NAMESPACE = LOCK_NAMESPACE;

/** Runs (or resumes) the seal of one recording under its advisory lock. */
export async function sealRecording(ctx: SealContext, recordingId: string): Promise<'sealed' | 'cleaned'> {
  const lock = await ctx.pool.connect();
  let broken = false;
  try {
    const got = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_NAMESPACE, recordingId]);
    if (!got.rows[0]?.ok) throw new SealBusyError();
    try {
      return await runSeal(ctx, recordingId);
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NAMESPACE, recordingId]).catch(() => {
        broken = true;
      });
    }
  } finally {
    lock.release(broken);
  }
}

async function runSeal(ctx: SealContext, recordingId: string): Promise<'sealed' | 'cleaned'> {
  const rec = await recordingRepository.findById(ctx.pool, recordingId);
  if (!rec) throw new Error(`recording ${recordingId} does not exist`);
  const sessionDir = join(ctx.recordingsDir, rec.session_id);
  let result: 'sealed' | 'cleaned' = 'cleaned';
  if (rec.status !== 'sealed') {
    await recordingRepository.startAttempt(ctx.pool, rec.id);
    await seal(ctx, rec, sessionDir);
    result = 'sealed';
  }
  await cleanup(ctx, rec, sessionDir);
  return result;
}

async function step(ctx: SealContext, id: string, name: string, progress: number): Promise<void> {
  await recordingRepository.setStep(ctx.pool, id, name, progress);
}

async function listSessionDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => !n.startsWith('.'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Waits (up to settleMs) while Janus still writes a file (.mjr.tmp) that changed recently. */
async function waitForClosedFiles(dir: string, settleMs: number): Promise<void> {
  const deadline = Date.now() + settleMs;
  for (;;) {
    const open = (await listSessionDir(dir)).filter((n) => n.endsWith('.tmp'));
    if (open.length === 0) return;
    let recent = false;
    for (const n of open) {
      const st = await stat(join(dir, n)).catch(() => null);
      if (st && Date.now() - st.mtimeMs < settleMs) recent = true;
    }
    if (!recent || Date.now() >= deadline) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function privateDir(path: string, mode = 0o700): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, mode);
}

async function obtainDataKey(ctx: SealContext, rec: RecordingRow): Promise<{ key: Buffer; kid: string }> {
  if (rec.wrapped_key && rec.kek_id) {
    return { key: await ctx.keyring.unwrap({ kid: rec.kek_id, wrapped: rec.wrapped_key }, rec.id), kid: rec.kek_id };
  }
  const fresh = newDataKey();
  const wrapped = await ctx.keyring.wrap(fresh, rec.id);
  fresh.fill(0);
  const stored = await recordingRepository.setKeyOnce(ctx.pool, rec.id, wrapped.kid, wrapped.wrapped);
  return { key: await ctx.keyring.unwrap({ kid: stored.kek_id, wrapped: stored.wrapped_key }, rec.id), kid: stored.kek_id };
}

async function inspect(ctx: SealContext, dir: string, f: StreamFile): Promise<InspectedStream> {
  const path = join(dir, f.name);
  const { size } = await stat(path);
  // 8 bytes = the bare "MJR00002" magic Janus writes before any media arrives: no header to read
  const info = size > 10 ? await ctx.tools.mjrInfo(path) : null;
  return { file: f, bytes: size, info };
}

/** Below this much free space, a failure on the recordings/archive filesystem is reported as a full disk. */
const LOW_SPACE_BYTES = 4 * 1024 * 1024;

/**
 * Some tools report a full disk only indirectly (janus-pp-rec exits 0 with a short file; the next tool then
 * fails to read it): after any failure, a nearly full filesystem is named as the reason.
 */
async function explainFailure(err: unknown, dir: string): Promise<never> {
  if ((err as NodeJS.ErrnoException)?.code === 'ENOSPC' || /disk full/.test(String((err as Error)?.message))) throw err;
  const fs = await statfs(dir).catch(() => null);
  if (fs && fs.bavail * fs.bsize < LOW_SPACE_BYTES) {
    throw new MediaToolError(`disk full (${Math.floor((fs.bavail * fs.bsize) / 1024)} KiB free for recordings and archive): ${failureReason(err)}`);
  }
  throw err;
}

async function seal(ctx: SealContext, rec: RecordingRow, sessionDir: string): Promise<void> {
  try {
    await sealSteps(ctx, rec, sessionDir);
  } catch (err) {
    await explainFailure(err, ctx.archiveDir);
  }
}

async function sealSteps(ctx: SealContext, rec: RecordingRow, sessionDir: string): Promise<void> {
  const now = ctx.now ?? (() => new Date());
  const session = await callSessionRepository.findById(ctx.pool, rec.session_id);
  if (!session) throw new Error(`session ${rec.session_id} does not exist`);

  await step(ctx, rec.id, 'key', 0.02);
  const { key, kid } = await obtainDataKey(ctx, rec);
  try {
    const inspected = await inspectStep(ctx, rec, session, sessionDir, now);
    const converted = await convertStep(ctx, rec, session, sessionDir, inspected);
    const sealed = await encryptStep(ctx, { rec, session, sessionDir, key, kid, now }, inspected, converted);
    await commitStep(ctx, rec, kid, inspected.issues, sealed);
    ctx.log?.info({ recordingId: rec.id, files: sealed.files.length, complete: isComplete(inspected.issues) }, 'recording sealed');
  } finally {
    key.fill(0);
  }
}

/** What the inspect step found: the session folder's segments and stray files, and the recording's issues so far. */
interface Inspected {
  segments: InspectedSegment[];
  unknown: string[];
  /** the convert step adds the streams it cannot remux */
  issues: RecordingIssue[];
}

/** Waits for Janus to close its files, reads every .mjr header and checks completeness. */
async function inspectStep(ctx: SealContext, rec: RecordingRow, session: CallSessionRow, sessionDir: string, now: () => Date): Promise<Inspected> {
  await step(ctx, rec.id, 'inspect', 0.05);
  await waitForClosedFiles(sessionDir, ctx.settleMs);
  const { segments: grouped, unknown } = groupStreams(await listSessionDir(sessionDir));
  const segments: InspectedSegment[] = [];
  for (const g of grouped) {
    segments.push({
      party: g.party,
      segment: g.segment,
      audio: g.audio ? await inspect(ctx, sessionDir, g.audio) : null,
      video: g.video ? await inspect(ctx, sessionDir, g.video) : null,
      extra: await Promise.all(g.extra.map((x) => inspect(ctx, sessionDir, x))),
    });
  }
  const sessionEnd = session.ended_at ?? now();
  const issues: RecordingIssue[] = checkCompleteness({ sessionStart: session.admitted_at, sessionEnd, segments, unknownFiles: unknown, customerMedia: session.media_mode });
  return { segments, unknown, issues };
}

/** The convert step's outputs: merged party segments, and the files sealed as they are (raw). */
interface ConvertedAll {
  /** the private work folder inside the session folder */
  work: string;
  converted: Converted[];
  rawSources: Array<{ source: string; reason: string }>;
}

async function convertStep(ctx: SealContext, rec: RecordingRow, session: CallSessionRow, sessionDir: string, inspected: Inspected): Promise<ConvertedAll> {
  const { segments, unknown, issues } = inspected;
  await step(ctx, rec.id, 'convert', 0.1);
  const work = join(sessionDir, `.seal-${rec.id}`);
  await privateDir(work);
  const base = timeBaseUs(segments, session.admitted_at);
  const converted: Converted[] = [];
  const rawSources: Array<{ source: string; reason: string }> = unknown.map((n) => ({ source: n, reason: 'unexpected file' }));
  for (const [i, seg] of segments.entries()) {
    for (const x of seg.extra) rawSources.push({ source: x.file.name, reason: 'additional stream' });
    const parts = await depacketiseSegment(ctx.tools, sessionDir, work, seg, rawSources, issues);
    if (!parts.audio && !parts.video) continue;
    converted.push(await mergeSegment(ctx.tools, work, seg, parts, base));
    await step(ctx, rec.id, 'convert', 0.1 + (0.4 * (i + 1)) / segments.length);
  }
  return { work, converted, rawSources };
}

/** What the encrypt step leaves for the commit: the file rows, the manifest and the sealed file list. */
interface Sealed {
  files: NewRecordingFile[];
  manifest: Record<string, unknown>;
  manifestSha256: string;
  fileList: { files: number; filesSha256: string };
}

/** The recording being sealed, as every encrypt sub-step needs it. */
interface EncryptInput {
  rec: RecordingRow;
  session: CallSessionRow;
  sessionDir: string;
  key: Buffer;
  kid: string;
  now: () => Date;
}

/**
 * Encrypts every media file, every raw file and the manifest into a staging folder in the archive, with the list
 * of sealed files and the wrapped key beside them.
 */
async function encryptStep(ctx: SealContext, input: EncryptInput, inspected: Inspected, conv: ConvertedAll): Promise<Sealed> {
  const { rec } = input;
  await step(ctx, rec.id, 'encrypt', 0.5);
  const staging = join(ctx.archiveDir, `.staging-${rec.id}`);
  await rm(staging, { recursive: true, force: true });
  // Separate OS users: the archive's group (the appliance) reads sealed folders; nobody else does.
  const fileMode = ctx.groupReadable ? 0o640 : 0o600;
  await privateDir(staging, ctx.groupReadable ? 0o2750 : 0o700);
  const seal1 = (src: string, name: string): Promise<EncryptResult> =>
    encryptFile(src, join(staging, `${name}${SEALED_SUFFIX}`), input.key, recordingAad(rec.id, name), { segmentSize: DEFAULT_SEGMENT_SIZE, mode: fileMode });
  const { files, media, raw } = await encryptMedia(seal1, input.sessionDir, conv);
  const { manifest, manifestSha256 } = await encryptManifest(ctx, input, seal1, { segments: inspected.segments, issues: inspected.issues, media, raw, work: conv.work, files });
  // The list of sealed files (public: names, sizes, ciphertext hashes): the audit event carries only its hash, so
  // a recording of any number of files seals (the list of media files is in the sealed manifest as well).
  const fileList = encodeSealedFileList(files.map((f) => ({ name: f.name, bytes: f.ciphertextBytes, sha256: f.ciphertextSha256 })));
  await writeFile(join(staging, SEALED_FILE_LIST), fileList.bytes, { mode: fileMode });
  const stored = await recordingRepository.findById(ctx.pool, rec.id);
  await writeFile(join(staging, KEY_FILE), `${JSON.stringify({ v: 1, recordingId: rec.id, kid: stored!.kek_id, wrappedKey: stored!.wrapped_key!.toString('base64'), alg: 'A256GCMKW' })}\n`, {
    mode: fileMode,
  });
  await syncDir(staging);
  return { files, manifest, manifestSha256, fileList: fileList.details };
}

type SealOne = (src: string, name: string) => Promise<EncryptResult>;

/** Seals the merged media files and the raw ones; their file rows and manifest entries. */
async function encryptMedia(seal1: SealOne, sessionDir: string, conv: ConvertedAll): Promise<{ files: NewRecordingFile[]; media: MediaEntry[]; raw: RawEntry[] }> {
  const files: NewRecordingFile[] = [];
  const media: MediaEntry[] = [];
  for (const c of conv.converted) {
    const r = await seal1(c.path, c.entry.name);
    media.push({
      ...c.entry,
      plaintext: { bytes: r.plaintextBytes, sha256: r.plaintextSha256 },
      ciphertext: { name: `${c.entry.name}${SEALED_SUFFIX}`, bytes: r.ciphertextBytes, sha256: r.ciphertextSha256 },
    });
    files.push({ ...fileRow(`${c.entry.name}${SEALED_SUFFIX}`, 'media', c.segment.party, c.segment.segment, c.entry.durationMs, r), avSkewMs: c.avSkewMs });
  }
  const raw: RawEntry[] = [];
  for (const [i, r0] of conv.rawSources.entries()) {
    const name = `raw-${String(i + 1).padStart(2, '0')}.bin`;
    const r = await seal1(join(sessionDir, r0.source), name);
    raw.push({
      source: r0.source,
      reason: r0.reason,
      plaintext: { bytes: r.plaintextBytes, sha256: r.plaintextSha256 },
      ciphertext: { name: `${name}${SEALED_SUFFIX}`, bytes: r.ciphertextBytes, sha256: r.ciphertextSha256 },
    });
    files.push(fileRow(`${name}${SEALED_SUFFIX}`, 'media', null, null, null, r));
  }
  return { files, media, raw };
}

/** Builds the manifest (with the session's markers and identity stills), seals it and adds its file row to `files`. */
async function encryptManifest(
  ctx: SealContext,
  input: EncryptInput,
  seal1: SealOne,
  m: { segments: InspectedSegment[]; issues: RecordingIssue[]; media: MediaEntry[]; raw: RawEntry[]; work: string; files: NewRecordingFile[] },
): Promise<{ manifest: Record<string, unknown>; manifestSha256: string }> {
  const { rec, session } = input;
  const events = await ctx.pool.query<{ at: Date; party: 'teller' | 'customer' | 'system'; kind: string; data: Record<string, unknown> }>(
    'SELECT at, party, kind, data FROM session_events WHERE session_id = $1 ORDER BY at, id',
    [rec.session_id],
  );
  const stills = await identityRepository.stillsOfSession(ctx.pool, rec.session_id);
  const manifest = buildManifest({
    recordingId: rec.id,
    sessionId: rec.session_id,
    caseId: rec.case_id,
    teller: session.teller,
    customerMedia: session.media_mode,
    session: { admittedAt: session.admitted_at, endedAt: session.ended_at, endReason: session.end_reason },
    segments: m.segments,
    media: m.media,
    raw: m.raw,
    markers: events.rows,
    identityStills: stills.map(identityStillEntry),
    issues: m.issues,
    encryption: { format: ENCRYPTION_FORMAT, segmentSize: DEFAULT_SEGMENT_SIZE, kid: input.kid },
    sealedAt: input.now(),
  });
  const encoded = encodeManifest(manifest);
  const manifestPath = join(m.work, MANIFEST_FILE);
  await writeFile(manifestPath, encoded.bytes, { mode: 0o600 });
  const sealed = await seal1(manifestPath, MANIFEST_FILE);
  if (sealed.plaintextSha256 !== encoded.sha256) throw new Error('manifest changed while it was sealed');
  m.files.push(fileRow(`${MANIFEST_FILE}${SEALED_SUFFIX}`, 'manifest', null, null, null, sealed));
  return { manifest, manifestSha256: encoded.sha256 };
}

/**
 * Renames staging into place (atomic), then one transaction: the file rows, status sealed and the
 * `recording.sealed` audit event.
 */
async function commitStep(ctx: SealContext, rec: RecordingRow, kid: string, issues: RecordingIssue[], sealed: Sealed): Promise<void> {
  await step(ctx, rec.id, 'commit', 0.9);
  const staging = join(ctx.archiveDir, `.staging-${rec.id}`);
  const final = join(ctx.archiveDir, rec.id);
  // Not sealed in the database, so a folder already there is an earlier attempt's uncommitted copy.
  await rm(final, { recursive: true, force: true });
  await rename(staging, final);
  await syncDir(ctx.archiveDir);
  await withTransaction(ctx.pool, async (client) => {
    const locked = await recordingRepository.findByIdForUpdate(client, rec.id);
    if (!locked || locked.status === 'sealed') return;
    await recordingRepository.replaceFiles(client, rec.id, sealed.files);
    await recordingRepository.markSealed(client, rec.id, { manifest: sealed.manifest, manifestSha256: sealed.manifestSha256, complete: isComplete(issues), issues });
    await ctx.audit.appendInTx(client, auditEvent(null, sealedEvent(rec, sealed.manifestSha256, kid, sealed.fileList, issues)));
  });
}

function identityStillEntry(s: SessionStillRow): Omit<IdentityStillEntry, 'offsetMs'> {
  const usedFor = [...(s.face_reference ? ['face-reference'] : []), ...(s.face_probe ? ['face-probe'] : []), ...(s.liveness_id ? ['liveness'] : [])];
  return {
    id: s.id,
    kind: s.kind,
    frameIndex: s.frame_index,
    at: s.created_at.toISOString(),
    mediaType: s.media_type,
    width: s.width,
    height: s.height,
    bytes: s.size,
    sha256: s.sha256.toString('hex'),
    decision: s.decision,
    usedFor,
    liveness: s.liveness_id !== null && s.challenge_pos !== null ? { checkId: s.liveness_id, challenge: s.challenge_pos } : null,
  };
}

function fileRow(name: string, kind: 'media' | 'manifest', party: 'teller' | 'customer' | null, segment: number | null, durationMs: number | null, r: EncryptResult): NewRecordingFile {
  return {
    name,
    kind,
    party,
    segment,
    durationMs,
    plaintextBytes: r.plaintextBytes,
    plaintextSha256: r.plaintextSha256,
    ciphertextBytes: r.ciphertextBytes,
    ciphertextSha256: r.ciphertextSha256,
  };
}

function sealedEvent(rec: RecordingRow, manifestSha256: string, kid: string, fileList: { files: number; filesSha256: string }, issues: RecordingIssue[]) {
  const details: Record<string, string | number | boolean | null> = {
    sessionId: rec.session_id,
    caseId: rec.case_id,
    format: ENCRYPTION_FORMAT,
    kid,
    manifestSha256,
    ...fileList,
    complete: isComplete(issues),
    issues: issues.filter((i) => i.severity !== 'info').length,
    issueCodes: [...new Set(issues.filter((i) => i.severity !== 'info').map((i) => i.code))].join(','),
  };
  return { action: 'recording.sealed', object: { type: 'recording', id: rec.id }, result: 'success' as const, details };
}

/** Removes the session folder (the .mjr files and the plaintext work files) and checks that it is gone. */
async function cleanup(ctx: SealContext, rec: RecordingRow, sessionDir: string): Promise<void> {
  const fresh = await recordingRepository.findById(ctx.pool, rec.id);
  if (!fresh || fresh.status !== 'sealed') throw new Error('cleanup before the recording was sealed');
  if (fresh.plaintext_removed_at) return;
  await step(ctx, rec.id, 'cleanup', 1);
  await rm(sessionDir, { recursive: true, force: true });
  if (await pathExists(sessionDir)) throw new Error('the recording folder is still there after removal');
  await rm(join(ctx.archiveDir, `.staging-${rec.id}`), { recursive: true, force: true });
  await withTransaction(ctx.pool, async (client) => {
    if (await recordingRepository.markPlaintextRemoved(client, rec.id)) {
      await ctx.audit.appendInTx(
        client,
        auditEvent(null, { action: 'recording.plaintext_removed', object: { type: 'recording', id: rec.id }, result: 'success', details: { sessionId: rec.session_id } }),
      );
    }
  });
}

/** Records a failed attempt on the row and in the audit log (same transaction). */
export async function recordFailure(ctx: Pick<SealContext, 'pool' | 'audit'>, recordingId: string, reason: string, willRetry: boolean): Promise<void> {
  await withTransaction(ctx.pool, async (client) => {
    const rec = await recordingRepository.findByIdForUpdate(client, recordingId);
    if (!rec || rec.status === 'sealed') return;
    await recordingRepository.markFailed(client, recordingId, reason, willRetry);
    await ctx.audit.appendInTx(
      client,
      auditEvent(null, {
        action: 'recording.seal_failed',
        object: { type: 'recording', id: recordingId },
        result: 'failure',
        reason,
        details: { sessionId: rec.session_id, attempt: rec.attempts, willRetry },
      }),
    );
  });
}

export function newRecordingId(): string {
  return randomUUID();
}
