import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Queryable } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { decide, KbIndex, type KbDocument, type KbHit } from '../domain/kb-search.js';
import { kbRepository, type KbEntryRow } from '../repositories/kb.repository.js';
import { productRepository } from '../kyc/product.repository.js';
import type { AuditWrite } from './audited-transaction.js';
import type { Citation, KbEntry, KbEntryEdit, KbEntryInput } from '../service-api-types.js';

/** Writes the request's audit event in its transaction (services/audited-transaction.ts). */
export type AuditWriter = AuditWrite;

export interface AssistantAnswer {
  text: string;
  citation: Citation | null;
  offerTransfer: boolean;
  /** 'offline' (the built-in retrieval) or 'hook' (the site's assistant service) */
  source: 'offline' | 'hook';
}

export interface AssistantSettings {
  /** the site's assistant service (KYC_ASSISTANT_URL); null: offline only */
  url: URL | null;
  timeoutMs: number;
}

const toView = (r: KbEntryRow): KbEntry => ({
  id: r.id,
  productCode: r.product_code,
  lang: r.lang,
  kind: r.kind,
  version: r.version,
  title: r.title,
  body: r.body,
  retired: r.retired_at !== null,
  updatedBy: r.created_by,
  updatedAt: r.updated_at.toISOString(),
});

const FALLBACK: Record<'zh-CN' | 'en', { unsure: string; person: string }> = {
  'zh-CN': { unsure: '抱歉，我没有找到确切的答案。您可以换个说法再问，或点击“转人工”由柜员为您服务。', person: '好的，正在为您转接人工服务，请点击“转人工”排队。' },
  en: {
    unsure: "Sorry, I could not find a sure answer. Try asking in other words, or choose 'talk to a person' to reach a teller.",
    person: "Of course: choose 'talk to a person' to queue for a teller.",
  },
};

/** The admin-managed knowledge base and the assistant that answers from it. */
export class KnowledgeBase {
  private index: { generation: string; index: KbIndex } | null = null;

  constructor(private readonly assistant: AssistantSettings) {}

  async list(db: Queryable, productCode?: string): Promise<KbEntry[]> {
    return (await kbRepository.listCurrent(db, { productCode, includeRetired: true })).map(toView);
  }

  async versions(db: Queryable, id: string): Promise<{ version: number; title: string; body: string; createdBy: string; createdAt: string }[]> {
    const rows = await kbRepository.versions(db, id);
    if (rows.length === 0) throw new DomainError('NOT_FOUND', 'No such knowledge-base entry.');
    return rows.map((r) => ({ version: r.version, title: r.title, body: r.body, createdBy: r.created_by, createdAt: r.created_at.toISOString() }));
  }

  async create(client: pg.PoolClient, audit: AuditWriter, by: string, input: KbEntryInput): Promise<KbEntry> {
    if (!(await productRepository.current(client, input.productCode))) throw new DomainError('PRODUCT_UNKNOWN');
    const id = randomUUID();
    await kbRepository.insert(client, { id, ...input, title: input.title.trim(), body: input.body.trim(), by });
    await audit({ object: { type: 'kb_entry', id }, details: { productCode: input.productCode, lang: input.lang, kind: input.kind, version: 1 } });
    const row = await kbRepository.find(client, id);
    if (!row) throw new Error('entry vanished');
    return toView(row);
  }

  async update(client: pg.PoolClient, audit: AuditWriter, by: string, id: string, input: KbEntryEdit): Promise<KbEntry> {
    const row = await kbRepository.find(client, id, true);
    if (!row) throw new DomainError('NOT_FOUND', 'No such knowledge-base entry.');
    if (row.retired_at) throw new DomainError('CONFLICT', 'This entry was retired.');
    const version = row.version + 1;
    await kbRepository.addVersion(client, id, version, { title: input.title.trim(), body: input.body.trim(), by });
    await audit({ object: { type: 'kb_entry', id }, details: { productCode: row.product_code, lang: row.lang, version } });
    const updated = await kbRepository.find(client, id);
    if (!updated) throw new Error('entry vanished');
    return toView(updated);
  }

  async retire(client: pg.PoolClient, audit: AuditWriter, id: string, reason: string): Promise<KbEntry> {
    const row = await kbRepository.find(client, id, true);
    if (!row) throw new DomainError('NOT_FOUND', 'No such knowledge-base entry.');
    if (row.retired_at) throw new DomainError('CONFLICT', 'This entry was already retired.');
    await kbRepository.retire(client, id);
    await audit({ object: { type: 'kb_entry', id }, reason, details: { version: row.version } });
    return { ...toView(row), retired: true };
  }

  /** The index of the current entries; rebuilt when the knowledge base changed (any process may have changed it). */
  async currentIndex(db: Queryable): Promise<KbIndex> {
    const generation = await kbRepository.generation(db);
    if (this.index?.generation === generation) return this.index.index;
    const docs: KbDocument[] = (await kbRepository.listCurrent(db)).map((r) => ({
      entryId: r.id,
      version: r.version,
      productCode: r.product_code,
      lang: r.lang,
      kind: r.kind,
      title: r.title,
      body: r.body,
    }));
    const index = new KbIndex(docs);
    this.index = { generation, index };
    return index;
  }

  /** The assistant's answer to one question of a visit. */
  async answer(db: Queryable, question: string, scope: { productCode: string; lang: 'zh-CN' | 'en' }): Promise<AssistantAnswer> {
    const hits = (await this.currentIndex(db)).search(question, scope, 3);
    const d = decide(question, hits);
    const citation = d.hit ? { entryId: d.hit.doc.entryId, title: d.hit.doc.title, version: d.hit.doc.version } : null;
    if (this.assistant.url && !d.offerTransfer) {
      const text = await this.askHook(question, scope, hits);
      if (text !== null) return { text, citation, offerTransfer: false, source: 'hook' };
    }
    if (d.hit) return { text: d.hit.doc.body, citation, offerTransfer: false, source: 'offline' };
    const fallback = FALLBACK[scope.lang];
    return { text: d.person ? fallback.person : fallback.unsure, citation: null, offerTransfer: true, source: 'offline' };
  }

  /**
   * The site's assistant service: the question and the passages retrieved offline, time-boxed. Any failure (network,
   * status, shape, timeout) gives null and the offline answer stands.
   */
  private async askHook(question: string, scope: { productCode: string; lang: string }, hits: KbHit[]): Promise<string | null> {
    const url = this.assistant.url;
    if (!url) return null;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          question,
          productCode: scope.productCode,
          lang: scope.lang,
          passages: hits.map((h) => ({ entryId: h.doc.entryId, version: h.doc.version, title: h.doc.title, text: h.doc.body, score: h.score })),
        }),
        signal: AbortSignal.timeout(this.assistant.timeoutMs),
      });
      if (!res.ok) return null;
      const body = (await res.json()) as { text?: unknown };
      return typeof body.text === 'string' && body.text.trim().length > 0 && body.text.length <= 4000 ? body.text : null;
    } catch {
      return null;
    }
  }
}
