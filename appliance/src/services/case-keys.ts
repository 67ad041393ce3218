import type pg from 'pg';
import { withTransaction } from '../db/database.js';
import type { PiiCipher } from '../lib/pii-cipher.js';
import { caseKeysRepository } from '../repositories/case-keys.repository.js';
import { caseRepository } from '../repositories/case.repository.js';
import { auditEvent, type AuditSink } from './audit.js';

/**
 * The last step of a case's crypto-shredding, in the process that owns the case key folder (the appliance; the
 * worker that runs retention has no access to it under one OS user per service). The retention run has NULLed the
 * case's personal data; destroying the case's key makes every copy of it unreadable — including an old database
 * dump restored later, although the appliance-wide PII key still exists. Audited per case; idempotent.
 */
export async function destroyShreddedCaseKeys(ctx: { pool: pg.Pool; audit: AuditSink; pii: PiiCipher }): Promise<number> {
  let done = 0;
  for (const id of await caseRepository.shreddedWithKey(ctx.pool)) {
    const existed = ctx.pii.caseKeys.destroy(id);
    await withTransaction(ctx.pool, async (client) => {
      if (await caseRepository.markKeyDestroyed(client, id)) {
        await ctx.audit.appendInTx(
          client,
          auditEvent(null, { action: 'case.key_destroyed', object: { type: 'case', id }, result: 'success', details: { keyFile: existed, reason: 'shredded by retention' } }),
        );
      }
    });
    done += 1;
  }
  return done;
}

/**
 * Crypto-shredding of customer-initiated service visits (R11, PIPL Art. 47): a visit's name, phone, conversation and
 * rating comment are encrypted under the visit's own key in the same folder; `retentionDays` after the visit ended
 * (or began, for a call-back request) the key goes, audited per visit. What a teller carried into a case is the case's.
 */
export async function destroyExpiredVisitKeys(ctx: { pool: pg.Pool; audit: AuditSink; pii: PiiCipher }, retentionDays: number, asOf = new Date()): Promise<number> {
  let done = 0;
  for (const id of await caseKeysRepository.visitsPastRetention(ctx.pool, new Date(asOf.getTime() - retentionDays * 86_400_000))) {
    const existed = ctx.pii.caseKeys.destroy(id);
    await withTransaction(ctx.pool, async (client) => {
      if (await caseKeysRepository.markVisitKeyDestroyed(client, id)) {
        await ctx.audit.appendInTx(
          client,
          auditEvent(null, {
            action: 'service.visit_key_destroyed',
            object: { type: 'service_visit', id },
            result: 'success',
            details: { keyFile: existed, retentionDays, reason: 'retention period ended' },
          }),
        );
      }
    });
    done += 1;
  }
  return done;
}

/**
 * Moves what was written before case keys existed (under the appliance-wide key) under each case's own key, a case
 * at a time, each in one transaction with its audit event. The appliance runs it in the background at start-up
 * until no such case is left; until then, an old database dump can still bring those cases' data back. A value no
 * key opens is left as it is (and counted).
 */
export async function rekeyLegacyCases(
  ctx: { pool: pg.Pool; audit: AuditSink; pii: PiiCipher },
  opts: { batch?: number; stopping?: () => boolean } = {},
): Promise<{ cases: number; values: number; unreadable: number }> {
  const totals = { cases: 0, values: 0, unreadable: 0 };
  let after: { createdAt: Date; id: string } | null = null;
  for (;;) {
    const page = await caseKeysRepository.casesWithLegacyValues(ctx.pool, opts.batch ?? 100, after);
    if (page.length === 0) return totals;
    after = page[page.length - 1]!;
    for (const { id: caseId } of page) {
      if (opts.stopping?.()) return totals;
      await withTransaction(ctx.pool, async (client) => {
        await client.query('SELECT 1 FROM cases WHERE id = $1 FOR UPDATE', [caseId]);
        let values = 0;
        let unreadable = 0;
        for (const v of await caseKeysRepository.legacyValuesOfCase(client, caseId)) {
          const plain = openLegacy(ctx.pii, v.bindings, v.blob);
          if (!plain) {
            unreadable += 1;
            continue;
          }
          const [recordId, field] = plain.binding;
          await caseKeysRepository.replaceValue(client, v, ctx.pii.encryptForCase(caseId, recordId, field, plain.bytes));
          values += 1;
        }
        totals.unreadable += unreadable;
        if (values === 0) return;
        await ctx.audit.appendInTx(
          client,
          auditEvent(null, { action: 'case.rekeyed', object: { type: 'case', id: caseId }, result: 'success', details: { values, unreadable, reason: 'moved under the case key' } }),
        );
        totals.cases += 1;
        totals.values += values;
      });
    }
  }
}

function openLegacy(pii: PiiCipher, bindings: Array<[string, string]>, blob: Buffer): { binding: [string, string]; bytes: Buffer } | null {
  for (const binding of bindings) {
    try {
      return { binding, bytes: pii.decryptBytes(binding[0], binding[1], blob) };
    } catch {
      // bound to another (record, field), or no key opens it
    }
  }
  return null;
}
