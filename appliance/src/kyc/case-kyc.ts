import type { Queryable } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import type { PiiCipher } from '../lib/pii-cipher.js';
import { loadIdentityEvidence, type IdentityEvidence } from './identity-evidence.js';
import type { CaseKycView, CaseStepView, GeolocationView } from './kyc-api-types.js';
import { scriptOf, STEP_MARKER_KIND, stepsOf } from './steps.js';
import { latestGeolocation } from './geolocation.js';
import type { StoredManifest } from '../recording/manifest.js';

type Missing = CaseKycView['missing'];
type RecordingMarkers = CaseKycView['recording'];

/** The steps (and the recording) that still stand between a case and "completed" — the gate of R20. */
export function missingForCompletion(
  steps: readonly CaseStepView[],
  evidence: IdentityEvidence,
  recording: { sealed: boolean },
  location: { required: boolean; consent: GeolocationView['consent'] | null } = { required: false, consent: null },
): Missing {
  const missing: Missing = [];
  for (const s of steps) {
    if (!s.required) continue;
    const done = s.status === 'done';
    const last = s.attempts[s.attempts.length - 1];
    const satisfied =
      done &&
      (s.kind === 'id-capture'
        ? evidence.idDocument.front !== null && evidence.idDocument.back !== null
        : s.kind === 'liveness'
          ? evidence.liveness?.passed === true
          : s.kind === 'face-match'
            ? evidence.faceMatch?.decision === 'match' || last?.result['override'] === true
            : true);
    if (!satisfied) missing.push({ id: s.id, kind: s.kind });
  }
  // Refusing the location is recorded and not fatal, unless the product requires it (R17).
  if (location.required && location.consent !== 'granted') missing.push({ id: 'geolocation', kind: 'granted' });
  // A product without required steps is a plain recorded session: the gate stays as it was before scripts.
  if (steps.some((s) => s.required) && !recording.sealed) missing.push({ id: 'recording', kind: 'sealed' });
  return missing;
}

/** Whether every session of the case has a sealed recording, and the step markers of the sealed manifests. */
export async function recordingMarkers(db: Queryable, caseId: string): Promise<RecordingMarkers> {
  const r = await db.query<{ session_id: string; status: string | null; manifest: Pick<StoredManifest, 'markers'> | null }>(
    `SELECT s.id AS session_id, r.status, r.manifest FROM call_sessions s LEFT JOIN recordings r ON r.session_id = s.id
      WHERE s.case_id = $1 ORDER BY s.admitted_at`,
    [caseId],
  );
  const sealed = r.rows.length > 0 && r.rows.every((row) => row.status === 'sealed');
  const markers = r.rows.flatMap((row) =>
    (row.manifest?.markers ?? [])
      .filter((m) => m.kind === STEP_MARKER_KIND && typeof m.data.stepId === 'string')
      .map((m) => ({ stepId: m.data.stepId as string, attempt: typeof m.data.attempt === 'number' ? m.data.attempt : 1, at: m.at, offsetMs: m.offsetMs, media: m.media ?? [] })),
  );
  return { sealed, markers };
}

/** GET /api/cases/:id/kyc: the script with what happened, the identity evidence, location, and what is missing. */
export async function caseKycView(db: Queryable, pii: PiiCipher, caseId: string): Promise<CaseKycView> {
  const script = await scriptOf(db, caseId);
  const steps = await stepsOf(db, caseId);
  const evidence = await loadIdentityEvidence(db, caseId);
  const recording = await recordingMarkers(db, caseId);
  // After the seal, a step's offset is the manifest's (the recording's time base); before, since admission.
  for (const s of steps) {
    const last = s.attempts[s.attempts.length - 1];
    const marker = last && recording.markers.find((m) => m.stepId === s.id && m.attempt === last.attempt);
    if (marker) s.offsetMs = marker.offsetMs;
  }
  const geolocation: GeolocationView | null = await latestGeolocation(db, pii, caseId);
  return {
    product: script ? { code: script.product, version: script.version, nameZh: script.nameZh, nameEn: script.nameEn } : null,
    steps,
    ...evidence,
    geolocation,
    missing: missingForCompletion(steps, evidence, recording, { required: script?.requiresGeolocation ?? false, consent: geolocation?.consent ?? null }),
    recording,
  };
}

/** The gate (R20): refuses with 409 KYC_ERR_STEPS_MISSING, naming each missing step, until the script is done. */
export async function assertScriptComplete(db: Queryable, caseId: string): Promise<void> {
  const script = await scriptOf(db, caseId);
  const steps = await stepsOf(db, caseId);
  if (!script || steps.length === 0) return;
  const consent = await db.query<{ consent: GeolocationView['consent'] }>('SELECT consent FROM case_geolocations WHERE case_id = $1 ORDER BY received_at DESC LIMIT 1', [caseId]);
  const location = { required: script.requiresGeolocation, consent: consent.rows[0]?.consent ?? null };
  const missing = missingForCompletion(steps, await loadIdentityEvidence(db, caseId), await recordingMarkers(db, caseId), location);
  if (missing.length > 0) {
    throw new DomainError(
      'STEPS_MISSING',
      `Not done yet: ${missing.map((m) => m.id).join(', ')}.`,
      missing.map((m) => ({ field: m.id, code: m.kind })),
    );
  }
}

/**
 * Whether this user already has a `case.kyc.view` event for this case in this sign-in session (`signIn`, a hash of
 * the session or token): the teller's panel polls its own case's view, and one event per sign-in says all there is.
 */
export async function kycViewAudited(db: Queryable, caseId: string, username: string, signIn: string): Promise<boolean> {
  const r = await db.query(
    `SELECT 1 FROM audit_event
      WHERE object_type = 'case' AND object_id = $1 AND action = 'case.kyc.view' AND actor = $2 AND (body::jsonb -> 'details' ->> 'signIn') = $3
      LIMIT 1`,
    [caseId, username, signIn],
  );
  return (r.rowCount ?? 0) > 0;
}
