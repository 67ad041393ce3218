import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { encryptFile, newDataKey, pathExists, recordingAad, syncDir, type KeyWrapper } from '@kyc/compliance';
import { withTransaction } from '../db/database.js';
import { fileSha256, signDetached, signDigest, type DocumentSigner } from '../pki/document-signing.js';
import { exportRepository } from '../repositories/export.repository.js';
import { auditEvent, type AuditSink } from '../services/audit.js';
import { sealedRecording, type ArchiveMedia } from '../services/archive.service.js';
import { canonicalJson } from '@kyc/compliance';
import { geolocationCoords } from '../kyc/geolocation.js';
import { identityRepository } from '../kyc/identity-repository.js';
import type { PiiCipher } from '../lib/pii-cipher.js';
import { customerMediaOf, type IdentityStillEntry, type Marker, type MediaEntry, type StoredManifest } from './manifest.js';
import { compositeClockText, compositeExportArgs, exportLocationText, progressFraction, type CompositeSegment } from './media-commands.js';
import { MediaToolError, type MediaTools } from './media-tools.js';
import { SEALED_SUFFIX } from './recording-layout.js';

/**
 * The composite export of a sealed recording: both parties' media are decrypted into a private scratch folder
 * (0700, under the exports folder, removed whatever happens), composed by ffmpeg, signed (detached CMS) and sealed
 * at rest with a data key of its own wrapped by the archive's KEK — an export is as sensitive as the recording, so
 * it never rests in clear. Runs as a pg-boss job in the appliance process, which owns the exports folder, the PII key
 * and the signing key; one export at a time (ffmpeg uses both cores).
 */

export const EXPORT_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const EXPORT_FILE = 'composite.mp4';
/** The customer's tile says when the picture is black because the customer took part without video. */
const CUSTOMER_LABEL = { video: 'Customer', audio: 'Customer voice only', chat: 'Customer text only' } as const;

export interface ExportJobContext {
  pool: pg.Pool;
  audit: AuditSink;
  media: ArchiveMedia;
  /** the process's keyring: exports are wrapped under the KEK current at the time */
  keyring: KeyWrapper;
  tools: MediaTools;
  signer: () => DocumentSigner;
  /** `<dataDir>/exports`: sealed exports and the scratch folders of running ones */
  exportsDir: string;
  fontFile?: string;
  /** decrypts the customer's coordinates for the burned-in location */
  pii: PiiCipher;
  log?: { error(obj: object, msg: string): void };
}

export function exportAad(exportId: string): Buffer {
  return recordingAad(exportId, EXPORT_FILE);
}

export const EVIDENCE_FILE = 'evidence.json';
export const EVIDENCE_FORMAT = 'kyc-export-evidence/1';

export function evidenceAad(exportId: string): Buffer {
  return recordingAad(exportId, EVIDENCE_FILE);
}

/** The export's evidence file (sealed like the video) and its detached CMS signature (public, not sealed). */
export function sealedEvidencePath(exportsDir: string, exportId: string): string {
  return join(exportsDir, `${exportId}.${EVIDENCE_FILE}${SEALED_SUFFIX}`);
}

export function evidenceSignaturePath(exportsDir: string, exportId: string): string {
  return join(exportsDir, `${exportId}.${EVIDENCE_FILE}.p7s`);
}

/**
 * The identity stills of the recording, each checked against the SHA-256 its sealed manifest holds, with the video's
 * hash and the manifest's: canonical JSON, signed like the video. Whoever holds the audit log (whose
 * `recording.sealed` event names the manifest's hash), the manifest and this file can check every still offline.
 */
async function evidenceFile(
  ctx: ExportJobContext,
  o: { exportId: string; recordingId: string; caseId: string; manifestSha256: string; video: { bytes: number; sha256: string }; stills: readonly IdentityStillEntry[] },
): Promise<Buffer> {
  const stills = [];
  for (const s of o.stills) {
    const enc = await identityRepository.stillContent(ctx.pool, s.id);
    if (!enc) throw new MediaToolError(`identity still ${s.id} of the sealed manifest is missing`);
    const content = ctx.pii.decryptBytes(s.id, 'identity_still', enc);
    const sha256 = createHash('sha256').update(content).digest('hex');
    if (sha256 !== s.sha256) throw new MediaToolError(`identity still ${s.id} differs from the sealed manifest`);
    stills.push({
      id: s.id,
      kind: s.kind,
      usedFor: s.usedFor,
      at: s.at,
      mediaType: s.mediaType,
      width: s.width,
      height: s.height,
      bytes: content.length,
      sha256,
      content: content.toString('base64'),
    });
  }
  return Buffer.from(
    canonicalJson({
      format: EVIDENCE_FORMAT,
      exportId: o.exportId,
      recordingId: o.recordingId,
      caseId: o.caseId,
      manifestSha256: o.manifestSha256,
      video: { name: EXPORT_FILE, ...o.video },
      stills,
    }),
    'utf8',
  );
}

export function exportKeyContext(exportId: string): string {
  return `export:${exportId}`;
}

export function sealedExportPath(exportsDir: string, exportId: string): string {
  return join(exportsDir, `${exportId}.mp4${SEALED_SUFFIX}`);
}

/** The location the customer gave last in the session (its marker in the sealed manifest), decrypted, as text. */
async function locationText(ctx: ExportJobContext, markers: readonly Pick<Marker, 'kind' | 'data'>[]): Promise<string> {
  const last = [...markers].reverse().find((x) => x.kind === 'geolocation');
  if (!last) return exportLocationText(null);
  const id = typeof last.data.geolocationId === 'string' ? last.data.geolocationId : null;
  const coords = id ? (await geolocationCoords(ctx.pool, ctx.pii, [id])).get(id) : undefined;
  return exportLocationText({ consent: String(last.data.consent), ...coords, accuracyM: last.data.accuracyM as number | null, receivedAt: last.data.receivedAt as string | null });
}

/** Trims ISO-8601 to milliseconds (the manifest carries microseconds) and gives seconds since the epoch. */
function epochSeconds(iso: string): number {
  const t = Date.parse(iso.replace(/(\.\d{3})\d+Z$/, '$1Z'));
  if (!Number.isFinite(t)) throw new Error('the manifest has no valid time base');
  return t / 1000;
}

function segmentOf(f: MediaEntry, path: string): CompositeSegment {
  const av = f.avOffsetMs ?? 0;
  return {
    path,
    startMs: f.offsetMs,
    durationMs: f.durationMs,
    videoDelayMs: f.codecs.video ? Math.max(0, -av) : null,
    audioDelayMs: f.codecs.audio ? Math.max(0, av) : null,
  };
}

async function audited(
  ctx: ExportJobContext,
  exportId: string,
  recordingId: string,
  change: (c: pg.PoolClient) => Promise<boolean>,
  action: string,
  details: Record<string, string | number>,
): Promise<boolean> {
  return withTransaction(ctx.pool, async (client) => {
    if (!(await change(client))) return false;
    await ctx.audit.appendInTx(
      client,
      auditEvent(null, { action, object: { type: 'recording', id: recordingId }, result: action.endsWith('failed') ? 'failure' : 'success', details: { exportId, ...details } }),
    );
    return true;
  });
}

/** Removes an export's sealed files; returns how many were there. */
async function removeSealed(exportsDir: string, exportId: string): Promise<number> {
  let removed = 0;
  for (const p of [sealedExportPath(exportsDir, exportId), sealedEvidencePath(exportsDir, exportId), evidenceSignaturePath(exportsDir, exportId)]) {
    if (await pathExists(p)) removed += 1;
    await rm(p, { force: true });
  }
  return removed;
}

/**
 * The ciphertext of exports the retention run shredded, removed by the process that writes exports (in an install
 * with one OS user per service, the worker that shreds cannot reach the appliance's export folder). The export's key
 * is already destroyed, so these files are unreadable; this removes them for good, audited per export.
 */
export async function removeShreddedExportFiles(ctx: Pick<ExportJobContext, 'pool' | 'audit' | 'exportsDir'>): Promise<number> {
  let done = 0;
  for (const id of await exportRepository.shreddedWithFiles(ctx.pool)) {
    const files = await removeSealed(ctx.exportsDir, id);
    if (files > 0) await syncDir(ctx.exportsDir);
    await withTransaction(ctx.pool, async (client) => {
      if (await exportRepository.markFilesRemoved(client, id)) {
        await ctx.audit.appendInTx(
          client,
          auditEvent(null, { action: 'export.files_removed', object: { type: 'export', id }, result: 'success', details: { files, reason: 'shredded by retention' } }),
        );
      }
    });
    done += 1;
  }
  return done;
}

/** Runs one queued export to `done` or `failed`; 'skipped' when it was not queued (taken or finished already). */
export async function runExport(ctx: ExportJobContext, exportId: string): Promise<'done' | 'failed' | 'skipped'> {
  const row = await exportRepository.findById(ctx.pool, exportId);
  if (!row || !(await exportRepository.start(ctx.pool, exportId))) return 'skipped';
  await mkdir(ctx.exportsDir, { recursive: true, mode: 0o700 });
  await chmod(ctx.exportsDir, 0o700);
  const scratch = await mkdtemp(join(ctx.exportsDir, `.work-${exportId}-`));
  const sealedPath = sealedExportPath(ctx.exportsDir, exportId);
  try {
    await chmod(scratch, 0o700);
    const { rec, media } = await sealedRecording(ctx.pool, row.recording_id);
    const sealedRow = (await ctx.pool.query<{ manifest: StoredManifest | null; manifest_sha256: Buffer | null }>('SELECT manifest, manifest_sha256 FROM recordings WHERE id = $1', [rec.id]))
      .rows[0];
    const m = sealedRow?.manifest;
    if (!m?.timeBase || !m.files?.length) throw new MediaToolError('the recording has no media to export');
    const segments: Record<'teller' | 'customer', CompositeSegment[]> = { teller: [], customer: [] };
    let totalMs = 0;
    for (const file of media) {
      const entry = m.files.find((f) => f.party === file.party && f.segment === file.segment);
      if (!entry || (file.party !== 'teller' && file.party !== 'customer')) continue;
      const path = join(scratch, file.name.slice(0, -SEALED_SUFFIX.length));
      const { reader } = await ctx.media.open(rec, file);
      if (reader.plaintextSize === 0) continue;
      await pipeline(Readable.from(await ctx.media.range(rec, file, 0, reader.plaintextSize - 1)), createWriteStream(path, { mode: 0o600, flags: 'wx' }));
      segments[file.party].push(segmentOf(entry, path));
      totalMs = Math.max(totalMs, entry.offsetMs + entry.durationMs);
    }
    if (totalMs <= 0) throw new MediaToolError('the recording has no media to export');

    const clock = join(scratch, 'clock.txt');
    const watermark = join(scratch, 'watermark.txt');
    await writeFile(clock, compositeClockText(epochSeconds(m.timeBase)), { mode: 0o600 });
    await writeFile(watermark, `Case ${rec.case_id} | exported by ${row.requested_by} | ${new Date().toISOString().slice(0, 19)}Z`, { mode: 0o600 });
    const location = join(scratch, 'location.txt');
    await writeFile(location, await locationText(ctx, m.markers ?? []), { mode: 0o600 });
    const out = join(scratch, EXPORT_FILE);
    const args = compositeExportArgs({
      left: { label: 'Teller', segments: segments.teller },
      right: { label: CUSTOMER_LABEL[customerMediaOf(m)], segments: segments.customer },
      totalMs,
      epochSeconds: epochSeconds(m.timeBase),
      clockTextFile: clock,
      watermarkTextFile: watermark,
      locationTextFile: location,
      fontFile: ctx.fontFile ?? EXPORT_FONT,
      out,
    });
    // Progress is written at most every 2 %, one write at a time, so a fast encode does not flood the database.
    let shown = 0;
    let writing: Promise<void> = Promise.resolve();
    await ctx.tools.ffmpegWithProgress(args, (line) => {
      const f = progressFraction(line, totalMs);
      if (f === null || f < shown + 0.02 || f >= 1) return;
      shown = f;
      writing = writing.then(() => exportRepository.setProgress(ctx.pool, exportId, Math.round(f * 1000) / 1000)).catch(() => undefined);
    });
    await writing;

    // hashed as a stream and signed from the digest: a long export is never held in memory nor hashed in JS
    const video = await fileSha256(out);
    const sha256 = video.sha256.toString('hex');
    const signature = signDigest(video.sha256, ctx.signer());
    const evidence = await evidenceFile(ctx, {
      exportId,
      recordingId: rec.id,
      caseId: rec.case_id,
      manifestSha256: sealedRow?.manifest_sha256?.toString('hex') ?? '',
      video: { bytes: video.bytes, sha256 },
      stills: m.identityStills ?? [],
    });
    const evidencePlain = join(scratch, EVIDENCE_FILE);
    await writeFile(evidencePlain, evidence, { mode: 0o600 });
    await writeFile(evidenceSignaturePath(ctx.exportsDir, exportId), signDetached(evidence, ctx.signer()), { mode: 0o600 });
    const keyring = ctx.keyring;
    const dataKey = newDataKey();
    let wrapped;
    try {
      await encryptFile(out, sealedPath, dataKey, exportAad(exportId));
      await encryptFile(evidencePlain, sealedEvidencePath(ctx.exportsDir, exportId), dataKey, evidenceAad(exportId));
      wrapped = await keyring.wrap(dataKey, exportKeyContext(exportId));
    } finally {
      dataKey.fill(0);
    }
    const done = await audited(
      ctx,
      exportId,
      rec.id,
      (c) => exportRepository.markDone(c, exportId, { sha256, bytes: video.bytes, kekId: wrapped.kid, wrappedKey: wrapped.wrapped, signature }),
      'recording.export_done',
      { caseId: rec.case_id, sha256, bytes: video.bytes },
    );
    if (!done) {
      await removeSealed(ctx.exportsDir, exportId);
      return 'skipped';
    }
    return 'done';
  } catch (err) {
    await removeSealed(ctx.exportsDir, exportId);
    const reason = err instanceof MediaToolError ? err.message : 'the export failed (internal error)';
    ctx.log?.error({ exportId, err: (err as Error).message }, 'export failed');
    await audited(ctx, exportId, row.recording_id, (c) => exportRepository.markFailed(c, exportId, reason), 'recording.export_failed', { reason });
    return 'failed';
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * At start, before any export job runs: an export left `running` was cut off when the appliance stopped (exports are
 * not resumed): it is failed, audited, and its files go with the scratch folders. One left `queued` is handed to
 * `requeue` (which gives it a job when it has none waiting), so it runs now.
 */
export async function recoverInterruptedExports(ctx: ExportJobContext, requeue: (exportId: string) => Promise<boolean>): Promise<{ failed: number; requeued: number }> {
  let failed = 0;
  let requeued = 0;
  for (const e of await exportRepository.unfinished(ctx.pool)) {
    if (e.status === 'queued') {
      if (await requeue(e.id)) requeued += 1;
      continue;
    }
    const reason = 'the appliance stopped while the export was pending';
    if (await audited(ctx, e.id, e.recording_id, (c) => exportRepository.markFailed(c, e.id, reason), 'recording.export_failed', { reason })) failed += 1;
    await removeSealed(ctx.exportsDir, e.id);
  }
  const left = await readdir(ctx.exportsDir).catch(() => [] as string[]);
  for (const name of left.filter((x) => x.startsWith('.work-'))) await rm(join(ctx.exportsDir, name), { recursive: true, force: true });
  return { failed, requeued };
}
