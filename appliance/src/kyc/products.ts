import { canonicalJson } from '@kyc/compliance';
import type pg from 'pg';
import { Type, type Static } from 'typebox';
import type { Queryable } from '../db/database.js';
import { DomainError, type ErrorDetail } from '../domain/errors.js';
import type { AuditWrite } from '../services/audited-transaction.js';
import { ScriptStepSchema, type ProductDefinition, type ProductDiff, type ProductDiffEntry, type ProductView, type ScriptStepDefinition } from './kyc-api-types.js';
import { productRepository } from './product.repository.js';

/** The request body of the catalogue (its step schema and the answers' schemas are in kyc-api-types.ts). */
export const ProductBodySchema = Type.Object(
  {
    code: Type.String({ pattern: '^[A-Z0-9][A-Z0-9-]{1,39}$' }),
    nameZh: Type.String({ minLength: 1, maxLength: 100 }),
    nameEn: Type.String({ minLength: 1, maxLength: 100 }),
    retentionYears: Type.Integer({ minimum: 1, maximum: 100 }),
    requiresGeolocation: Type.Optional(Type.Boolean()),
    steps: Type.Array(ScriptStepSchema, { minItems: 1, maxItems: 50 }),
  },
  { additionalProperties: false },
);
export type ProductBody = Static<typeof ProductBodySchema>;

/** The rules a schema cannot say: unique ids, what each kind needs. Empty when the definition is sound. */
export function checkProduct(p: ProductBody): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const seen = new Set<string>();
  p.steps.forEach((s, i) => {
    const at = `steps.${i}`;
    if (seen.has(s.id)) problems.push({ field: `${at}.id`, code: 'duplicate' });
    seen.add(s.id);
    if (s.kind === 'read' && !s.text) problems.push({ field: `${at}.text`, code: 'required' });
    if (s.confirm && s.kind !== 'read') problems.push({ field: `${at}.confirm`, code: 'read-only' });
    if (s.kind === 'question') {
      if (!s.pool) problems.push({ field: `${at}.pool`, code: 'required' });
      else {
        if (new Set(s.pool.map((q) => q.id)).size !== s.pool.length) problems.push({ field: `${at}.pool`, code: 'duplicate' });
        if ((s.draw ?? 1) > s.pool.length) problems.push({ field: `${at}.draw`, code: 'exceeds-pool' });
      }
    } else if (s.pool || s.draw !== undefined) problems.push({ field: `${at}.pool`, code: 'question-only' });
    if (s.kind !== 'read-aloud' && (s.source !== undefined || s.digits !== undefined)) problems.push({ field: `${at}.source`, code: 'read-aloud-only' });
    if (s.kind === 'read-aloud' && s.source === 'id-serial' && s.digits !== undefined) problems.push({ field: `${at}.digits`, code: 'code-only' });
  });
  return problems;
}

/** A definition as stored: optional fields left out when absent, flags explicit. */
export function normalizeProduct(p: ProductBody): ProductDefinition {
  return {
    code: p.code,
    nameZh: p.nameZh.trim(),
    nameEn: p.nameEn.trim(),
    retentionYears: p.retentionYears,
    requiresGeolocation: p.requiresGeolocation ?? false,
    steps: p.steps.map((s) => ({ ...s }) as ScriptStepDefinition),
  };
}

const PRODUCT_FIELDS = ['nameZh', 'nameEn', 'retentionYears', 'requiresGeolocation'] as const;
const STEP_FIELDS = ['kind', 'required', 'title', 'text', 'confirm', 'pool', 'draw', 'source', 'digits'] as const;

// canonical JSON: the database (jsonb) does not keep key order
const same = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/** What changed from one version of a product to the next: fields, steps added/removed/moved, step fields. */
export function diffProducts(before: ProductDefinition, after: ProductDefinition): ProductDiffEntry[] {
  const changes: ProductDiffEntry[] = [];
  for (const f of PRODUCT_FIELDS) {
    if (!same(before[f], after[f])) changes.push({ change: 'changed', path: f, before: before[f], after: after[f] });
  }
  const oldIds = before.steps.map((s) => s.id);
  const newIds = after.steps.map((s) => s.id);
  for (const s of before.steps) if (!newIds.includes(s.id)) changes.push({ change: 'removed', path: `steps.${s.id}`, before: s, after: null });
  for (const s of after.steps) {
    const old = before.steps.find((o) => o.id === s.id);
    if (!old) {
      changes.push({ change: 'added', path: `steps.${s.id}`, before: null, after: s });
      continue;
    }
    const oldPos = oldIds.filter((id) => newIds.includes(id)).indexOf(s.id);
    const newPos = newIds.filter((id) => oldIds.includes(id)).indexOf(s.id);
    if (oldPos !== newPos) changes.push({ change: 'moved', path: `steps.${s.id}`, before: oldIds.indexOf(s.id) + 1, after: newIds.indexOf(s.id) + 1 });
    for (const f of STEP_FIELDS) {
      if (!same(old[f], s[f])) changes.push({ change: 'changed', path: `steps.${s.id}.${f}`, before: old[f] ?? null, after: s[f] ?? null });
    }
  }
  return changes;
}

/** The catalogue as the routes use it: reads, and append-only edits audited in the caller's transaction. */
export const productCatalogue = {
  listCurrent(db: Queryable): Promise<ProductView[]> {
    return productRepository.listCurrent(db);
  },

  /** Every version of a product, oldest first. */
  async versions(db: Queryable, code: string): Promise<ProductView[]> {
    const items = await productRepository.versions(db, code);
    if (items.length === 0) throw new DomainError('NOT_FOUND', 'No such product.');
    return items;
  },

  /** What changed between two versions of a product. */
  async diff(db: Queryable, code: string, fromVersion: number, toVersion: number): Promise<ProductDiff> {
    const [from, to] = await Promise.all([productRepository.version(db, code, fromVersion), productRepository.version(db, code, toVersion)]);
    if (!from || !to) throw new DomainError('NOT_FOUND', 'No such product version.');
    return { code, from: from.version, to: to.version, changes: diffProducts(from, to) };
  },

  /** A new product at version 1. */
  async create(client: pg.PoolClient, audit: AuditWrite, def: ProductDefinition, by: string): Promise<ProductView> {
    if (!(await productRepository.create(client, def, by))) throw new DomainError('PRODUCT_EXISTS');
    await audit({ object: { type: 'product', id: def.code }, details: { version: 1, steps: def.steps.length } });
    return (await productRepository.current(client, def.code))!;
  },

  /** A new version of a product; cases keep the version they were opened with. */
  async update(client: pg.PoolClient, audit: AuditWrite, def: ProductDefinition, by: string): Promise<{ product: ProductView; diff: ProductDiff }> {
    const current = await productRepository.current(client, def.code, true);
    if (!current) throw new DomainError('NOT_FOUND', 'No such product.');
    const changes = diffProducts(current, def);
    if (changes.length === 0) throw new DomainError('CONFLICT', 'Nothing changed.');
    const version = current.version + 1;
    await productRepository.addVersion(client, def, version, by);
    await audit({ object: { type: 'product', id: def.code }, details: { from: current.version, version, changes: changes.length } });
    return { product: (await productRepository.current(client, def.code))!, diff: { code: def.code, from: current.version, to: version, changes } };
  },
};
