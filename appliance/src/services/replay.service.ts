import type pg from 'pg';
import type { RecordingIssue, Replay } from '../archive-api-types.js';
import type { Queryable } from '../db/database.js';
import { geolocationCoords } from '../kyc/geolocation.js';
import type { PiiCipher } from '../lib/pii-cipher.js';
import type { Marker, StoredManifest } from '../recording/manifest.js';
import { recordingRepository } from '../repositories/recording.repository.js';
import { ArchiveMedia, ReplayGrants, SealedRecordingCache, sealedRecording } from './archive.service.js';

/**
 * The archive's replay, built once for the process: grants bound to a user and a recording, the sealed-media reader
 * (with its open files) and the lookups of sealed recordings the media ranges repeat.
 */
export interface ArchiveReplay {
  grants: ReplayGrants;
  media: ArchiveMedia;
  recordings: SealedRecordingCache;
}

/** The process's one media reader is shared with exports; whoever built it closes it. */
export function createArchiveReplay(o: { sessionKey: Buffer; media: ArchiveMedia; pool: pg.Pool }): ArchiveReplay {
  return { grants: new ReplayGrants(o.sessionKey), media: o.media, recordings: new SealedRecordingCache(o.pool) };
}

/**
 * Opens the replay of a sealed recording for a user: a short-lived grant, each party segment's media URL and the
 * manifest's markers (location markers with their coordinates, decrypted here). The caller audits the opening.
 */
export async function openReplay(db: Queryable, deps: { pii: PiiCipher; grants: ReplayGrants }, recordingId: string, username: string): Promise<{ caseId: string; replay: Replay }> {
  const { rec, media: files } = await sealedRecording(db, recordingId);
  const manifest = ((await recordingRepository.manifestOf(db, rec.id)) ?? {}) as StoredManifest;
  // location markers carry only a reference: the auditor sees the coordinates, decrypted here
  const geoIds = (manifest.markers ?? []).flatMap((m) => (m.kind === 'geolocation' && typeof m.data.geolocationId === 'string' ? [m.data.geolocationId] : []));
  const coords = await geolocationCoords(db, deps.pii, geoIds);
  const withCoords = (m: Marker): Record<string, unknown> => ({ ...m.data, ...(m.kind === 'geolocation' ? coords.get(String(m.data.geolocationId)) : undefined) });
  const { grant, expiresAt } = deps.grants.issue(rec.id, username);
  const q = encodeURIComponent(grant);
  return {
    caseId: rec.case_id,
    replay: {
      recordingId: rec.id,
      grant,
      expiresAt: expiresAt.toISOString(),
      complete: rec.complete,
      issues: rec.issues as RecordingIssue[],
      parties: files.map((f) => ({
        party: f.party!,
        segment: f.segment!,
        url: `/api/recordings/${rec.id}/media/${f.party}?grant=${q}${f.segment === 1 ? '' : `&segment=${f.segment}`}`,
        durationMs: f.duration_ms,
        offsetMs: manifest.files?.find((m) => m.party === f.party && m.segment === f.segment)?.offsetMs ?? null,
        bytes: Number(f.plaintext_bytes),
        sha256: f.plaintext_sha256.toString('hex'),
      })),
      markers: (manifest.markers ?? []).map((m) => ({ at: m.at, offsetMs: m.offsetMs, party: m.party, kind: m.kind, data: withCoords(m) })),
    },
  };
}
