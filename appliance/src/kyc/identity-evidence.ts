import type { Queryable } from '../db/database.js';
import type { IdentityEvidenceView } from './kyc-api-types.js';

export type IdentityEvidence = IdentityEvidenceView;

/**
 * The identity evidence of a case (ID document stills, face match, liveness, OCR cross-check) as the case's KYC
 * view and the completion gate read it.
 */
export async function loadIdentityEvidence(_client: Queryable, _caseId: string): Promise<IdentityEvidence> {
  return { idDocument: { front: null, back: null }, faceMatch: null, liveness: null, ocr: null };
}
