import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/database.js';
import type { PiiCipher } from '../lib/pii-cipher.js';
import { callSessionRepository } from '../repositories/call-session.repository.js';
import { decryptChatText } from '../services/live-media.js';
import type { GeolocationView } from './kyc-api-types.js';

export interface GeolocationInput {
  consent: 'granted' | 'refused' | 'unavailable';
  latitude?: number | undefined;
  longitude?: number | undefined;
  accuracy?: number | undefined;
  /** the browser's timestamp of the position */
  capturedAt?: string | undefined;
}

/**
 * The customer's location (R17), stored with consent: coordinates encrypted like other personal data, the
 * server's receipt time beside the browser's. Refusal is stored too.
 */
export async function storeGeolocation(db: Queryable, pii: PiiCipher, caseId: string, invitationId: string, g: GeolocationInput): Promise<{ id: string; receivedAt: Date }> {
  const id = randomUUID();
  const granted = g.consent === 'granted';
  const coords = granted ? pii.encryptForCase(caseId, id, 'geolocation', JSON.stringify({ latitude: g.latitude, longitude: g.longitude })) : null;
  const r = await db.query<{ received_at: Date }>(
    `INSERT INTO case_geolocations (id, case_id, invitation_id, consent, coords_enc, accuracy_m, captured_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING received_at`,
    [id, caseId, invitationId, g.consent, coords, granted ? (g.accuracy ?? null) : null, granted && g.capturedAt ? new Date(g.capturedAt) : null],
  );
  return { id, receivedAt: r.rows[0]!.received_at };
}

export async function latestGeolocation(db: Queryable, pii: PiiCipher, caseId: string): Promise<GeolocationView | null> {
  const r = await db.query<{ id: string; consent: GeolocationView['consent']; coords_enc: Buffer | null; accuracy_m: number | null; captured_at: Date | null; received_at: Date }>(
    `SELECT id, consent, coords_enc, accuracy_m, captured_at, received_at FROM case_geolocations WHERE case_id = $1 ORDER BY received_at DESC LIMIT 1`,
    [caseId],
  );
  const row = r.rows[0];
  if (!row) return null;
  const coords = row.coords_enc ? (JSON.parse(pii.decrypt(row.id, 'geolocation', row.coords_enc)) as { latitude: number; longitude: number }) : null;
  return {
    consent: row.consent,
    latitude: coords?.latitude ?? null,
    longitude: coords?.longitude ?? null,
    accuracyM: row.accuracy_m,
    capturedAt: row.captured_at?.toISOString() ?? null,
    receivedAt: row.received_at.toISOString(),
  };
}

/** What a location marker may say in the clear: the consent, times and accuracy; never the coordinates. */
export interface GeolocationMarkerData {
  consent: GeolocationInput['consent'];
  geolocationId: string;
  accuracyM: number | null;
  capturedAt: string | null;
  receivedAt: string;
}

/**
 * The session-event form of a stored location: the marker's data (sealed into the recording manifest, which the
 * database also keeps in the clear) carries no coordinates; they travel in the event's encrypted column, bound to
 * the session and the field `geolocation`.
 */
export function geolocationEvent(
  pii: PiiCipher,
  caseId: string,
  sessionId: string,
  g: GeolocationInput,
  stored: { id: string; receivedAt: Date },
): { data: GeolocationMarkerData; textEnc: Buffer | null } {
  const granted = g.consent === 'granted';
  return {
    data: {
      consent: g.consent,
      geolocationId: stored.id,
      accuracyM: granted ? (g.accuracy ?? null) : null,
      capturedAt: granted ? (g.capturedAt ?? null) : null,
      receivedAt: stored.receivedAt.toISOString(),
    },
    textEnc: granted ? pii.encryptForCase(caseId, sessionId, 'geolocation', JSON.stringify({ latitude: g.latitude, longitude: g.longitude })) : null,
  };
}

/** A session event as its reader (teller, auditor) sees it: location coordinates and chat text decrypted. */
export function revealSessionEvent(
  pii: PiiCipher,
  sessionId: string,
  e: { id: string; kind: string; data: Record<string, unknown>; textEnc: Buffer | null },
): { data: Record<string, unknown>; text: string | null } {
  if (!e.textEnc) return { data: e.data, text: null };
  if (e.kind === 'geolocation') return { data: { ...e.data, ...(JSON.parse(pii.decrypt(sessionId, 'geolocation', e.textEnc)) as object) }, text: null };
  // chat: bound to its own row (rows cannot be swapped)
  return { data: e.data, text: decryptChatText(pii, sessionId, { id: e.id, textEnc: e.textEnc }) };
}

/** The coordinates of stored locations by id (for markers that carry only `geolocationId`). */
export async function geolocationCoords(db: Queryable, pii: PiiCipher, ids: readonly string[]): Promise<Map<string, { latitude: number; longitude: number }>> {
  const out = new Map<string, { latitude: number; longitude: number }>();
  if (ids.length === 0) return out;
  const r = await db.query<{ id: string; coords_enc: Buffer | null }>('SELECT id, coords_enc FROM case_geolocations WHERE id = ANY($1::uuid[])', [ids]);
  for (const row of r.rows) if (row.coords_enc) out.set(row.id, JSON.parse(pii.decrypt(row.id, 'geolocation', row.coords_enc)) as { latitude: number; longitude: number });
  return out;
}

/**
 * The customer's position (or refusal) in their live session: stored with the case, and an event of the session with
 * the server's time (R17), sealed with the recording. The coordinates are personal data: the event's data holds the
 * consent and times, the coordinates are encrypted.
 */
export async function recordGeolocation(
  db: Queryable,
  pii: PiiCipher,
  session: { id: string; case_id: string; invitation_id: string },
  g: GeolocationInput,
): Promise<{ id: string; receivedAt: Date }> {
  const stored = await storeGeolocation(db, pii, session.case_id, session.invitation_id, g);
  const ev = geolocationEvent(pii, session.case_id, session.id, g, stored);
  await callSessionRepository.addEvent(db, { sessionId: session.id, party: 'customer', kind: 'geolocation', data: { ...ev.data }, textEnc: ev.textEnc });
  return stored;
}
