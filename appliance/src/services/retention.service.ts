import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Queryable } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { productRepository } from '../kyc/product.repository.js';
import { retentionRepository, type CaseRetentionRow, type HoldRow, type PolicyRow, type RetentionAnchor, type RetentionItemRow, type RunRow } from '../repositories/retention.repository.js';
import type { CaseRetentionSummary, CaseRetentionView, HoldView, RetentionItemState, PolicyView, RetentionOverview, RunView } from '../api-types.js';

export type { CaseRetentionSummary, CaseRetentionView, HoldView, PolicyView, RetentionOverview, RunView };

/**
 * Retention as auditors and administrators see and steer it: policies per product, a case's contract end, legal
 * holds, and what expires when. Every expiry is the case's (the `case_retention` view); the shredder
 * (recording/shred-job.ts) destroys what has expired.
 */

/**
 * Why a refusal happened, in the domain's words: a DomainError whose kind http/errors.ts maps to an HTTP status and a
 * `KYC_ERR_*` code, with the offending field (if any) as its detail.
 */
export class RetentionError extends DomainError {
  declare readonly kind: 'NOT_FOUND' | 'CONFLICT' | 'VALIDATION' | 'PRODUCT_UNKNOWN';
  constructor(
    kind: 'NOT_FOUND' | 'CONFLICT' | 'VALIDATION' | 'PRODUCT_UNKNOWN',
    message: string,
    readonly field?: string,
  ) {
    super(kind, message, field ? [{ field, code: kind.toLowerCase() }] : undefined);
    this.name = 'RetentionError';
  }
}

/** The audit write of the caller's transaction (routes pass theirs). */
export type RetentionAudit = (record: { object: { type: string; id: string }; reason?: string; details?: Record<string, string | number | boolean | null> }) => Promise<void>;

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function policyView(p: PolicyRow): PolicyView {
  return { productCode: p.product_code, retentionDays: p.retention_days, anchor: p.anchor, updatedBy: p.updated_by, updatedAt: p.updated_at.toISOString() };
}

export function holdView(h: HoldRow): HoldView {
  return {
    id: h.id,
    caseId: h.case_id,
    reason: h.reason,
    placedBy: h.placed_by,
    placedAt: h.placed_at.toISOString(),
    releasedBy: h.released_by,
    releasedAt: iso(h.released_at),
    releaseReason: h.release_reason,
  };
}

export function runView(r: RunRow): RunView {
  return { id: r.id, startedAt: r.started_at.toISOString(), finishedAt: iso(r.finished_at), asOf: r.as_of.toISOString(), dryRun: r.dry_run, shredded: r.shredded };
}

function expiryReason(r: CaseRetentionRow): CaseRetentionView['reason'] {
  if (r.expires_at) return null;
  if (!r.product_code) return 'no_policy';
  return r.anchor === 'contract_end' ? 'no_contract_end' : 'not_completed';
}

/** A calendar date `YYYY-MM-DD` that exists (2026-02-30 does not). */
export function isCalendarDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

export class RetentionService {
  async policies(db: Queryable): Promise<PolicyView[]> {
    return (await retentionRepository.policies(db)).map(policyView);
  }

  async setPolicy(client: pg.PoolClient, audit: RetentionAudit, by: string, code: string, p: { retentionDays: number; anchor: RetentionAnchor }): Promise<PolicyView> {
    if (!(await productRepository.current(client, code))) throw new RetentionError('PRODUCT_UNKNOWN', 'No such product in the catalogue.', 'productCode');
    const before = await retentionRepository.policyForUpdate(client, code);
    const row = await retentionRepository.upsertPolicy(client, { code, retentionDays: p.retentionDays, anchor: p.anchor, by });
    await audit({
      object: { type: 'product', id: code },
      details: { fromDays: before?.retention_days ?? null, fromAnchor: before?.anchor ?? null, toDays: row.retention_days, toAnchor: row.anchor },
    });
    return policyView(row);
  }

  async setContractEnd(client: pg.PoolClient, audit: RetentionAudit, caseId: string, date: string, reason: string): Promise<CaseRetentionView> {
    if (!isCalendarDate(date)) throw new RetentionError('VALIDATION', 'contractEnd is not a calendar date (YYYY-MM-DD).', 'contractEnd');
    const c = await retentionRepository.lockCase(client, caseId);
    if (!c) throw new RetentionError('NOT_FOUND', 'No such case.');
    if (c.shredded_at) throw new RetentionError('CONFLICT', 'The case was shredded; its retention can no longer change.');
    await retentionRepository.setContractEnd(client, caseId, date);
    await audit({ object: { type: 'case', id: caseId }, reason, details: { from: c.contract_end, to: date } });
    return (await this.ofCase(client, caseId))!;
  }

  async ofCase(db: Queryable, caseId: string): Promise<CaseRetentionView | null> {
    const r = await retentionRepository.ofCase(db, caseId);
    if (!r) return null;
    const [items, hold, shredded] = await Promise.all([retentionRepository.items(db, caseId), retentionRepository.activeHoldOf(db, caseId), retentionRepository.caseShredded(db, caseId)]);
    const expiresAt = iso(r.expires_at);
    const state = (i: RetentionItemRow): RetentionItemState => (i.shredded_at ? 'shredded' : r.held ? 'held' : 'retained');
    return {
      caseId,
      policy: r.product_code && r.retention_days !== null && r.anchor ? { productCode: r.product_code, retentionDays: r.retention_days, anchor: r.anchor } : null,
      anchorAt: iso(r.anchor_at),
      contractEnd: r.contract_end,
      expiresAt,
      reason: expiryReason(r),
      hold: hold ? holdView(hold) : null,
      shredded: shredded ? { at: shredded.at.toISOString(), auditSeq: shredded.audit_seq === null ? null : Number(shredded.audit_seq) } : null,
      items: items.map((i) => ({ kind: i.kind, id: i.id, expiresAt, state: state(i), shreddedAt: iso(i.shredded_at) })),
    };
  }

  async summary(db: Queryable, caseId: string): Promise<CaseRetentionSummary | null> {
    const r = await retentionRepository.ofCase(db, caseId);
    return r ? { expiresAt: iso(r.expires_at), held: r.held, shreddedAt: iso(r.shredded_at) } : null;
  }

  async placeHold(client: pg.PoolClient, audit: RetentionAudit, by: string, caseId: string, reason: string): Promise<HoldView> {
    const c = await retentionRepository.lockCase(client, caseId);
    if (!c) throw new RetentionError('NOT_FOUND', 'No such case.');
    if (c.shredded_at || (await retentionRepository.shreddingStarted(client, caseId))) {
      throw new RetentionError('CONFLICT', 'The case was shredded (or its shredding has begun); there is nothing left to hold.');
    }
    const hold = await retentionRepository.insertHold(client, { id: randomUUID(), caseId, reason, by });
    await audit({ object: { type: 'case', id: caseId }, reason, details: { holdId: hold.id } });
    return holdView(hold);
  }

  async releaseHold(client: pg.PoolClient, audit: RetentionAudit, by: string, holdId: string, reason: string): Promise<HoldView> {
    const h = await retentionRepository.holdForUpdate(client, holdId);
    if (!h) throw new RetentionError('NOT_FOUND', 'No such hold.');
    if (h.released_at) throw new RetentionError('CONFLICT', 'This hold was already released.');
    const released = await retentionRepository.releaseHold(client, holdId, by, reason);
    await audit({ object: { type: 'case', id: h.case_id }, reason, details: { holdId } });
    return holdView(released);
  }

  async holds(db: Queryable, active: boolean | null): Promise<HoldView[]> {
    return (await retentionRepository.holds(db, active, 1000)).map(holdView);
  }

  /** The administrator's overview as of `now`: what expires within 30 and 90 days (cases), active holds, the last run. */
  async overview(db: Queryable, now: Date): Promise<RetentionOverview> {
    const day = 86_400_000;
    const in30 = new Date(now.getTime() + 30 * day);
    const in90 = new Date(now.getTime() + 90 * day);
    const [within30, within90, items, holds, last] = await Promise.all([
      retentionRepository.countExpiringBefore(db, in30),
      retentionRepository.countExpiringBefore(db, in90),
      retentionRepository.expiringBefore(db, in90, 100),
      retentionRepository.holds(db, true, 1000),
      retentionRepository.lastRun(db),
    ]);
    return {
      upcoming: { within30, within90, items: items.map((i) => ({ caseId: i.case_id, product: i.product, expiresAt: i.expires_at.toISOString() })) },
      holds: holds.map(holdView),
      lastRun: last ? runView(last) : null,
    };
  }

  /** What a run as of `now` would shred: each expired, unheld case's items not yet shredded. Changes nothing. */
  async dueItems(db: Queryable, now: Date): Promise<Array<{ caseId: string; kind: RetentionItemRow['kind']; id: string }>> {
    const out: Array<{ caseId: string; kind: RetentionItemRow['kind']; id: string }> = [];
    for (const caseId of await retentionRepository.casesToShred(db, now)) {
      for (const i of await retentionRepository.unshreddedItems(db, caseId)) out.push({ caseId, kind: i.kind, id: i.id });
    }
    return out;
  }
}
