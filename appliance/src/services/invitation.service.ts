import { createHmac, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import type { Queryable } from '../db/database.js';
import type { AuditWrite } from './audited-transaction.js';
import { hashToken } from '../lib/tokens.js';
import { CONSENT_VERSION, consentDocuments, consentSetSha256 } from '../domain/consent.js';
import { DomainError } from '../domain/errors.js';
import type { PiiCipher } from '../lib/pii-cipher.js';
import { callSessionRepository, type CallSessionRow } from '../repositories/call-session.repository.js';
import { caseRepository } from '../repositories/case.repository.js';
import { invitationRepository, type InvitationRow } from '../repositories/invitation.repository.js';
import { JOIN_STEPS, type InvitationView, type JoinStep, type JoinView } from '../api-types.js';
import type { MediaMode } from '../domain/vocabulary.js';

export { JOIN_STEPS };
export type { InvitationView, JoinStep, JoinView };

export interface InvitationSettings {
  publicUrl: URL;
  ttlMinutes: number;
  codeAttempts: number;
  /** keys the code hash, so a copy of the database alone cannot test the million codes */
  secret: Buffer;
}

export const DEVICE_COOKIE = '__Host-kyc_device';

/** The devices a media mode needs that the device check did not find working. Pure. */
export function devicesMissing(mode: MediaMode, found: { camera: boolean; microphone: boolean }): Array<'camera' | 'microphone'> {
  const needed: Array<'camera' | 'microphone'> = mode === 'video' ? ['camera', 'microphone'] : mode === 'audio' ? ['microphone'] : [];
  return needed.filter((d) => !found[d]);
}
export { CONSENT_VERSION } from '../domain/consent.js';

export function stepOf(inv: InvitationRow, session: CallSessionRow | null, now = new Date()): JoinStep {
  if (inv.revoked_at) return 'revoked';
  if (inv.locked_at) return 'locked';
  if (inv.consent === 'declined') return 'declined';
  if (session?.state === 'live') return 'in_call';
  if (session?.state === 'ended' || inv.closed_at) return 'ended';
  if (inv.expires_at <= now) return 'expired';
  if (!inv.code_verified_at) return 'code';
  if (!inv.device_checked_at) return 'device';
  if (!inv.consent) return 'consent';
  return 'waiting';
}

const REFUSALS: Partial<Record<JoinStep, 'INVITATION_EXPIRED' | 'INVITATION_REVOKED' | 'INVITATION_LOCKED' | 'INVITATION_CLOSED'>> = {
  expired: 'INVITATION_EXPIRED',
  revoked: 'INVITATION_REVOKED',
  locked: 'INVITATION_LOCKED',
  ended: 'INVITATION_CLOSED',
  declined: 'INVITATION_CLOSED',
};

export class InvitationService {
  constructor(
    private readonly pii: PiiCipher,
    private readonly settings: InvitationSettings,
  ) {}

  private codeHash(invitationId: string, code: string): Buffer {
    return createHmac('sha256', this.settings.secret).update(`code\0${invitationId}\0${code}`).digest();
  }

  joinUrl(token: string): string {
    return new URL(`/join/${token}`, this.settings.publicUrl).href;
  }

  toView(inv: InvitationRow, session: CallSessionRow | null): InvitationView {
    return {
      id: inv.id,
      caseId: inv.case_id,
      url: this.joinUrl(this.pii.decrypt(inv.id, 'invitation_token', inv.token_enc)),
      code: this.pii.decrypt(inv.id, 'invitation_code', inv.code_enc),
      createdAt: inv.created_at.toISOString(),
      expiresAt: inv.expires_at.toISOString(),
      step: stepOf(inv, session),
      opened: inv.opened_at !== null,
      deviceChecked: inv.device_checked_at !== null,
      consent: inv.consent,
      codeAttempts: inv.code_attempts,
      sessionId: session?.id ?? null,
      mediaMode: inv.media_mode,
    };
  }

  /** A new invitation for the case; earlier unused ones are revoked (one live link per case). */
  async create(client: pg.PoolClient, audit: AuditWrite, caseId: string, teller: string): Promise<InvitationView> {
    const c = await caseRepository.findById(client, caseId);
    if (!c || c.teller !== teller) throw new DomainError('NOT_FOUND', 'No such case.');
    if (!['draft', 'invited'].includes(c.status)) throw new DomainError('CONFLICT', 'This case already had its session.');
    for (const id of await invitationRepository.revokeOpenForCase(client, caseId, teller)) {
      await audit({ action: 'invitation.revoke', object: { type: 'invitation', id }, reason: 'replaced by a new invitation' });
    }
    const id = randomUUID();
    const token = randomBytes(32).toString('base64url');
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const inv = await invitationRepository.insert(client, {
      id,
      caseId,
      tokenHash: hashToken(token),
      codeHash: this.codeHash(id, code),
      codeEnc: this.pii.encryptForCase(caseId, id, 'invitation_code', code),
      tokenEnc: this.pii.encryptForCase(caseId, id, 'invitation_token', token),
      createdBy: teller,
      expiresAt: new Date(Date.now() + this.settings.ttlMinutes * 60_000),
    });
    if (c.status === 'draft') await client.query(`UPDATE cases SET status = 'invited', updated_at = now() WHERE id = $1`, [caseId]);
    await audit({ action: 'invitation.create', object: { type: 'invitation', id }, details: { caseId, expiresAt: inv.expires_at.toISOString() } });
    return this.toView(inv, null);
  }

  async revoke(client: pg.PoolClient, audit: AuditWrite, caseId: string, invitationId: string, teller: string): Promise<InvitationView> {
    const inv = await invitationRepository.findById(client, invitationId);
    if (!inv || inv.case_id !== caseId || inv.created_by !== teller) throw new DomainError('NOT_FOUND', 'No such invitation.');
    const session = await callSessionRepository.latestForInvitation(client, inv.id);
    if (session) throw new DomainError('CONFLICT', 'The customer has already been admitted; hang up instead.');
    if (!inv.revoked_at) await invitationRepository.update(client, inv.id, { revoked_at: new Date(), revoked_by: teller });
    await audit({ object: { type: 'invitation', id: inv.id } });
    return this.toView({ ...inv, revoked_at: inv.revoked_at ?? new Date() }, null);
  }

  async current(db: Queryable, caseId: string): Promise<InvitationView | null> {
    const inv = await invitationRepository.latestForCase(db, caseId);
    if (!inv) return null;
    return this.toView(inv, await callSessionRepository.latestForInvitation(db, inv.id));
  }

  private async joinView(db: Queryable, inv: InvitationRow): Promise<JoinView> {
    const c = await caseRepository.findById(db, inv.case_id);
    const session = await callSessionRepository.latestForInvitation(db, inv.id);
    const step = stepOf(inv, session);
    return {
      step,
      expiresAt: inv.expires_at.toISOString(),
      product: c?.product ?? '',
      branch: c?.branch ?? '',
      attemptsLeft: Math.max(0, this.settings.codeAttempts - inv.code_attempts),
      sessionId: session?.state === 'live' ? session.id : null,
      consentTexts: step === 'consent' ? consentDocuments(c?.product ?? '', c?.branch ?? '') : null,
      mediaMode: inv.media_mode,
    };
  }

  /** The invitation behind a link, locked for this transaction, opened on this browser (device binding). */
  private async forCustomer(client: Queryable, token: string, device: string | undefined): Promise<InvitationRow> {
    const inv = await invitationRepository.findByTokenHashForUpdate(client, hashToken(token));
    if (!inv) throw new DomainError('NOT_FOUND', 'This invitation link is not valid.');
    if (!inv.device_hash || !device || !timingSafeEqual(inv.device_hash, hashToken(device))) throw new DomainError('INVITATION_IN_USE');
    return inv;
  }

  /** For auditing a refusal: which invitation a link names (null when none). */
  async invitationIdOf(db: Queryable, token: string): Promise<string | null> {
    return (await invitationRepository.findByTokenHash(db, hashToken(token)))?.id ?? null;
  }

  private refuseIfFinished(inv: InvitationRow, session: CallSessionRow | null): void {
    const step = stepOf(inv, session);
    const refusal = REFUSALS[step];
    if (refusal) throw new DomainError(refusal);
  }

  /** First open binds the link to this browser (returns a new device secret); a reload on it returns null. */
  async open(client: pg.PoolClient, audit: AuditWrite, token: string, device: string | undefined): Promise<{ view: JoinView; newDevice: string | null }> {
    const inv = await invitationRepository.findByTokenHashForUpdate(client, hashToken(token));
    if (!inv) throw new DomainError('NOT_FOUND', 'This invitation link is not valid.');
    this.refuseIfFinished(inv, await callSessionRepository.latestForInvitation(client, inv.id));
    if (inv.device_hash) {
      if (device && timingSafeEqual(inv.device_hash, hashToken(device))) {
        await audit({ action: 'invitation.reopen', object: { type: 'invitation', id: inv.id } });
        return { view: await this.joinView(client, inv), newDevice: null };
      }
      throw new DomainError('INVITATION_IN_USE');
    }
    const newDevice = randomBytes(32).toString('base64url');
    await invitationRepository.update(client, inv.id, { device_hash: hashToken(newDevice), opened_at: new Date() });
    await audit({ action: 'invitation.open', object: { type: 'invitation', id: inv.id } });
    return { view: await this.joinView(client, { ...inv, device_hash: hashToken(newDevice), opened_at: new Date() }), newDevice };
  }

  async state(db: Queryable, token: string, device: string | undefined): Promise<JoinView> {
    const inv = await invitationRepository.findByTokenHash(db, hashToken(token));
    if (!inv) throw new DomainError('NOT_FOUND', 'This invitation link is not valid.');
    if (!inv.device_hash || !device || !timingSafeEqual(inv.device_hash, hashToken(device))) throw new DomainError('INVITATION_IN_USE');
    return this.joinView(db, inv);
  }

  /**
   * Checks the 6-digit code. A wrong code counts (and is audited) even though the request fails, so the counter
   * commits: the caller runs this with `commitOnRefusal`.
   */
  async verifyCode(client: pg.PoolClient, audit: AuditWrite, token: string, device: string | undefined, code: string): Promise<{ view: JoinView; refusal: DomainError | null }> {
    const inv = await this.forCustomer(client, token, device);
    this.refuseIfFinished(inv, null);
    if (inv.code_verified_at) return { view: await this.joinView(client, inv), refusal: null };
    const ok = timingSafeEqual(inv.code_hash, this.codeHash(inv.id, code));
    if (ok) {
      await invitationRepository.update(client, inv.id, { code_verified_at: new Date() });
      await audit({ action: 'invitation.code_verified', object: { type: 'invitation', id: inv.id } });
      return { view: await this.joinView(client, { ...inv, code_verified_at: new Date() }), refusal: null };
    }
    const attempts = inv.code_attempts + 1;
    const locked = attempts >= this.settings.codeAttempts;
    await invitationRepository.update(client, inv.id, { code_attempts: attempts, ...(locked ? { locked_at: new Date() } : {}) });
    await audit({
      action: 'invitation.code_failed',
      object: { type: 'invitation', id: inv.id },
      result: 'failure',
      details: { attempts, locked },
    });
    const view = await this.joinView(client, { ...inv, code_attempts: attempts, locked_at: locked ? new Date() : null });
    const refusal = locked
      ? new DomainError('INVITATION_LOCKED')
      : new DomainError('CODE_INVALID', `The code is not correct. ${view.attemptsLeft} attempt(s) left.`, [{ field: 'code', code: `attempts_left:${view.attemptsLeft}` }]);
    return { view, refusal };
  }

  /**
   * The device check's outcome and how the customer takes part: video needs camera and microphone, audio the
   * microphone, chat nothing. Without a mode the invitation's (video, or what a service transfer proposed) stands.
   * It can be repeated (to change the mode) until the customer is admitted.
   */
  async deviceChecked(
    client: pg.PoolClient,
    audit: AuditWrite,
    token: string,
    device: string | undefined,
    result: { camera: boolean; microphone: boolean; mode?: MediaMode },
  ): Promise<JoinView> {
    const inv = await this.forCustomer(client, token, device);
    const session = await callSessionRepository.latestForInvitation(client, inv.id);
    this.refuseIfFinished(inv, session);
    if (!inv.code_verified_at) throw new DomainError('WRONG_STEP', 'Enter the code first.');
    if (session) throw new DomainError('WRONG_STEP', 'The session has started.');
    const mode = result.mode ?? inv.media_mode;
    const missing = devicesMissing(mode, result);
    if (missing.length > 0) {
      throw new DomainError(
        'VALIDATION',
        mode === 'video' ? 'A working camera and microphone are needed for the video session.' : 'A working microphone is needed for the voice session.',
        missing.map((field) => ({ field, code: 'required' })),
      );
    }
    const now = new Date();
    await invitationRepository.update(client, inv.id, { device_checked_at: now, media_mode: mode });
    await audit({ action: 'invitation.device_checked', object: { type: 'invitation', id: inv.id }, details: { mode } });
    return this.joinView(client, { ...inv, device_checked_at: now, media_mode: mode });
  }

  /**
   * The customer's answer to the consent text. `shown` is the SHA-256 the join page was given for the document it
   * displayed (one per language); it must be one of the current version's, so the record names the exact words.
   * A client that sends none agreed to the version's documents as a set (their joint hash is recorded).
   */
  async consent(client: pg.PoolClient, audit: AuditWrite, token: string, device: string | undefined, answer: { accept: boolean; version: string; shown?: string }): Promise<JoinView> {
    const inv = await this.forCustomer(client, token, device);
    this.refuseIfFinished(inv, null);
    if (!inv.device_checked_at) throw new DomainError('WRONG_STEP', 'Check your camera and microphone first.');
    if (inv.consent) throw new DomainError('CONFLICT', 'Consent was already recorded.');
    if (answer.version !== CONSENT_VERSION) throw new DomainError('CONSENT_TEXT_CHANGED');
    const c = await caseRepository.findById(client, inv.case_id);
    const docs = consentDocuments(c?.product ?? '', c?.branch ?? '');
    const doc = answer.shown === undefined ? null : docs.find((d) => d.sha256 === answer.shown);
    if (answer.shown !== undefined && !doc) throw new DomainError('CONSENT_TEXT_CHANGED');
    const textSha256 = doc ? doc.sha256 : consentSetSha256(docs);
    const now = new Date();
    const consent = answer.accept ? 'accepted' : 'declined';
    await invitationRepository.update(client, inv.id, {
      consent,
      consent_at: now,
      consent_text_hash: Buffer.from(textSha256, 'hex'),
      ...(answer.accept ? { waiting_since: now } : { closed_at: now }),
    });
    await audit({
      action: answer.accept ? 'consent.given' : 'consent.declined',
      object: { type: 'invitation', id: inv.id },
      details: { caseId: inv.case_id, consentVersion: CONSENT_VERSION, consentTextSha256: textSha256, consentLanguage: doc ? doc.language : 'all' },
    });
    return this.joinView(client, { ...inv, consent, consent_at: now, ...(answer.accept ? { waiting_since: now } : { closed_at: now }) });
  }

  /** The customer behind a link and device, for the signaling socket: only while admitted to a live session. */
  async liveSessionForCustomer(db: Queryable, token: string, device: string | undefined): Promise<{ invitation: InvitationRow; session: CallSessionRow } | null> {
    const found = await this.latestSessionForCustomer(db, token, device);
    return found?.session.state === 'live' ? found : null;
  }

  /** The latest session of the customer's invitation on this device, live or not (what the customer may still read about). */
  async latestSessionForCustomer(db: Queryable, token: string, device: string | undefined): Promise<{ invitation: InvitationRow; session: CallSessionRow } | null> {
    const inv = await invitationRepository.findByTokenHash(db, hashToken(token));
    if (!inv || !inv.device_hash || !device || !timingSafeEqual(inv.device_hash, hashToken(device))) return null;
    const session = await callSessionRepository.latestForInvitation(db, inv.id);
    return session ? { invitation: inv, session } : null;
  }
}
