import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import {
  isValidBankCard,
  isValidMobile,
  isValidResidentId,
  maskBankCard,
  maskMobile,
  maskName,
  maskResidentId,
  normalizeDigits,
  normalizeMobile,
  normalizeResidentId,
} from '../domain/customer-identity.js';
import { DomainError, type ErrorDetail } from '../domain/errors.js';
import { isCaseKeyDestroyed, type PiiCipher } from '../lib/pii-cipher.js';
import { caseRepository, type CaseRow } from '../repositories/case.repository.js';
import { archiveRepository, type CaseReviewRow } from '../repositories/archive.repository.js';
import type { Queryable } from '../db/database.js';
import type { AuditWrite } from './audited-transaction.js';
import type { Principal } from '../domain/principal.js';
import { SHREDDED_TEXT, type CaseView, type NewCase } from '../api-types.js';
import { productRepository } from '../kyc/product.repository.js';
import { drawScript } from '../kyc/steps.js';

export type { CaseView };

export { SHREDDED_TEXT };

/** A masked value; shredded when the column was NULLed or its case key destroyed (a restored old database dump). */
function shown(enc: Buffer | null, masked: (b: Buffer) => string): string {
  if (!enc) return SHREDDED_TEXT;
  try {
    return masked(enc);
  } catch (err) {
    if (isCaseKeyDestroyed(err)) return SHREDDED_TEXT;
    throw err;
  }
}

export function validateNewCase(input: NewCase): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  if (input.customerName.trim().length === 0) problems.push({ field: 'customerName', code: 'required' });
  if (!isValidResidentId(input.customerIdNumber)) problems.push({ field: 'customerIdNumber', code: 'gb11643' });
  if (!isValidMobile(input.customerPhone)) problems.push({ field: 'customerPhone', code: 'mobile' });
  if (input.bankCard && !isValidBankCard(input.bankCard)) problems.push({ field: 'bankCard', code: 'luhn' });
  if (input.product.trim().length === 0) problems.push({ field: 'product', code: 'required' });
  return problems;
}

export class CaseService {
  constructor(private readonly pii: PiiCipher) {}

  toView(row: CaseRow, review: CaseReviewRow | null = null): CaseView {
    return {
      id: row.id,
      status: row.status,
      customerName: shown(row.customer_name_enc, (b) => maskName(this.pii.decrypt(row.id, 'customer_name', b))),
      customerIdNumber: shown(row.customer_id_enc, (b) => maskResidentId(this.pii.decrypt(row.id, 'customer_id', b))),
      customerPhone: shown(row.customer_phone_enc, (b) => maskMobile(this.pii.decrypt(row.id, 'customer_phone', b))),
      bankCard: row.bank_card_enc ? shown(row.bank_card_enc, (b) => maskBankCard(this.pii.decrypt(row.id, 'bank_card', b))) : null,
      product: row.product,
      productVersion: row.product_version,
      branch: row.branch,
      teller: row.teller,
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
      review: review
        ? {
            decision: review.decision,
            comment: review.comment,
            rejectReasons: review.reject_reasons,
            promptingNotes: review.prompting_notes,
            reviewer: review.reviewer,
            at: review.at.toISOString(),
          }
        : null,
    };
  }

  async create(client: pg.PoolClient, audit: AuditWrite, teller: Principal, input: NewCase): Promise<CaseView> {
    const problems = validateNewCase(input);
    if (problems.length > 0) throw new DomainError('VALIDATION', 'Some fields are not valid.', problems);
    // A catalogue product gives the case its script (the version current now). Any other product text opens a case
    // without a script, as before the catalogue existed, so API clients written then keep working.
    const product = await productRepository.current(client, input.product.trim());
    // The branch is the teller's identity's; a typed branch counts only for an identity without one (API clients
    // written before identities carried it).
    const branch = teller.branch ?? input.branch?.trim();
    if (!branch) throw new DomainError('VALIDATION', 'Your account has no branch; ask the administrator to set it.', [{ field: 'branch', code: 'identity' }]);
    const id = randomUUID();
    const idNumber = normalizeResidentId(input.customerIdNumber);
    const name = input.customerName.trim();
    const row = await caseRepository.insert(client, {
      id,
      teller: teller.username,
      branch,
      product: product?.code ?? input.product.trim(),
      productVersion: product?.version ?? null,
      customerNameEnc: this.pii.encryptForCase(id, id, 'customer_name', name),
      customerIdEnc: this.pii.encryptForCase(id, id, 'customer_id', idNumber),
      customerPhoneEnc: this.pii.encryptForCase(id, id, 'customer_phone', normalizeMobile(input.customerPhone)),
      bankCardEnc: input.bankCard ? this.pii.encryptForCase(id, id, 'bank_card', normalizeDigits(input.bankCard)) : null,
      idNumberBidx: this.pii.blindIndex('resident_id', idNumber),
      nameBidx: this.pii.blindIndex('name', name),
    });
    if (product) await drawScript(client, id, product.steps);
    await audit({ object: { type: 'case', id }, details: { branch: row.branch, product: row.product, ...(product ? { productVersion: product.version } : {}) } });
    return this.toView(row);
  }

  /**
   * A case the principal may see: its own teller or an auditor. Others get "not found", so case ids
   * cannot be probed.
   */
  async getVisible(db: Queryable, principal: Principal, id: string): Promise<CaseRow> {
    const row = await this.findVisible(db, principal, id);
    if (!row) throw new DomainError('NOT_FOUND', 'No such case.');
    return row;
  }

  /** The case if the principal may see it (its own teller or an auditor), else null. */
  async findVisible(db: Queryable, principal: Principal, id: string): Promise<CaseRow | null> {
    const row = await caseRepository.findById(db, id);
    return row && (row.teller === principal.username || principal.roles.includes('auditor')) ? row : null;
  }

  /** The case if this teller opened it, else null. */
  async findOwn(db: Queryable, teller: string, id: string): Promise<CaseRow | null> {
    const row = await caseRepository.findById(db, id);
    return row && row.teller === teller ? row : null;
  }

  /** A case as the API shows it, with its auditor's review when it has one. */
  async viewOf(db: Queryable, row: CaseRow): Promise<CaseView> {
    const reviews = await archiveRepository.reviewsOf(db, [row.id]);
    return this.toView(row, reviews.get(row.id) ?? null);
  }

  /**
   * A page of the teller's cases, newest first, after the (created, id) position `after`; `more` tells whether
   * another page follows.
   */
  async listOfTeller(db: Queryable, teller: string, limit: number, after: { createdAt: Date; id: string } | null): Promise<{ items: CaseView[]; more: boolean }> {
    const rows = await caseRepository.listByTeller(db, teller, limit + 1, after);
    const pageRows = rows.slice(0, limit);
    const reviews = await archiveRepository.reviewsOf(
      db,
      pageRows.map((row) => row.id),
    );
    return { items: pageRows.map((row) => this.toView(row, reviews.get(row.id) ?? null)), more: rows.length > limit };
  }
}
