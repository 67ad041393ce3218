import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/database.js';
import type { PiiCipher } from '../lib/pii-cipher.js';
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
  const coords = granted ? pii.encrypt(id, 'geolocation', JSON.stringify({ latitude: g.latitude, longitude: g.longitude })) : null;
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
