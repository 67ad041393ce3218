// Identity checks inside the call (ID stills, face match, liveness) and the evidence the auditor reviews.
import { request, withParty, type SessionParty } from '$lib/api.js';
import type { CaptureRequestMessage } from '../../../appliance/src/media/protocol.js';
import type { CaptureResult, IdentityDetailView, LivenessStarted, PendingCapture } from '../../../appliance/src/kyc/identity-api-types.js';
export type { CaptureRequestMessage, CaptureResult, IdentityDetailView };
export type { FaceCheckView, IdentityStillView, LivenessView, LivenessChallengeView } from '../../../appliance/src/kyc/identity-api-types.js';

const sessionPath = (sessionId: string, rest: string) => `/api/sessions/${encodeURIComponent(sessionId)}/identity${rest}`;

export function getIdentity(caseId: string, fetchFn?: typeof fetch): Promise<IdentityDetailView> {
  return request<IdentityDetailView>('GET', `/api/cases/${encodeURIComponent(caseId)}/identity`, fetchFn ? { fetch: fetchFn } : {});
}

/** Teller: ask the customer's browser for a still of an ID side, or live frames for the face match. */
export function requestCapture(sessionId: string, purpose: 'id-front' | 'id-back' | 'face'): Promise<CaptureRequestMessage> {
  return request<CaptureRequestMessage>('POST', sessionPath(sessionId, '/captures'), { body: { purpose } });
}

export function startLiveness(sessionId: string): Promise<LivenessStarted> {
  return request('POST', sessionPath(sessionId, '/liveness'));
}

export function decideStill(stillId: string, decision: 'accept' | 'retake'): Promise<unknown> {
  return request('POST', `/api/identity/stills/${encodeURIComponent(stillId)}/${decision}`);
}

export function overrideFace(faceCheckId: string, decision: 'match' | 'no_match', reason: string): Promise<unknown> {
  return request('POST', `/api/face-checks/${encodeURIComponent(faceCheckId)}/override`, { body: { decision, reason } });
}

/** Where the browser shows an identity still (signed-in teller of the case, auditors; every view audited). */
export function stillUrl(stillId: string): string {
  return `/api/identity/stills/${encodeURIComponent(stillId)}`;
}

/** Customer: what this browser is asked to capture now (after a reload or a missed message). */
export async function pendingCapture(sessionId: string, party: SessionParty): Promise<CaptureRequestMessage | null> {
  const { request: pending } = await request<PendingCapture>('GET', withParty(sessionPath(sessionId, '/pending'), party));
  return pending;
}

/** Customer: the stills asked for, one multipart part each. */
export function sendCapture(sessionId: string, party: SessionParty, requestId: string, images: Blob[]): Promise<CaptureResult> {
  const form = new FormData();
  images.forEach((blob, i) => form.append('frame', blob, `frame-${i}.jpg`));
  return request<CaptureResult>('POST', withParty(sessionPath(sessionId, `/captures/${encodeURIComponent(requestId)}`), party), { body: form });
}
