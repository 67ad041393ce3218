/**
 * Offline retrieval for the service assistant: an in-memory BM25 index over knowledge-base entries. Words come from
 * `Intl.Segmenter` (ICU's dictionary segmentation of Chinese at word granularity; spaces and punctuation for
 * English), lower-cased. No I/O: the service builds an index from the current entries and asks it.
 */

export interface KbDocument {
  entryId: string;
  version: number;
  productCode: string;
  lang: 'zh-CN' | 'en';
  kind: 'article' | 'qa';
  title: string;
  body: string;
}

export interface KbHit {
  doc: KbDocument;
  score: number;
  /** share of the question's information (IDF-weighted terms) the entry covers, 0..1 */
  coverage: number;
}

const segmenters = new Map<string, Intl.Segmenter>();

function segmenter(lang: string): Intl.Segmenter {
  let s = segmenters.get(lang);
  if (!s) {
    s = new Intl.Segmenter(lang, { granularity: 'word' });
    segmenters.set(lang, s);
  }
  return s;
}

/** Function words that carry no topic (a small list per language; the IDF weighting handles the rest). */
const STOP = new Set([
  'the',
  'a',
  'an',
  'is',
  'are',
  'to',
  'of',
  'and',
  'or',
  'in',
  'on',
  'for',
  'i',
  'my',
  'me',
  'do',
  'does',
  'how',
  'can',
  'what',
  'it',
  'you',
  'your',
  'be',
  'with',
  '的',
  '了',
  '吗',
  '呢',
  '我',
  '你',
  '您',
  '是',
  '在',
  '么',
  '吧',
  '啊',
  '请问',
  '怎么',
  '如何',
  '什么',
  '可以',
  '一下',
  '我的',
  '你的',
  '您的',
  '我们',
  '我想',
  '我要',
  '想',
  '要',
  '您好',
  '你好',
]);

/** Words of a text, lower-cased, without punctuation and function words. */
export function tokenize(text: string, lang: 'zh-CN' | 'en' = 'zh-CN'): string[] {
  const out: string[] = [];
  for (const s of segmenter(lang).segment(text.normalize('NFKC'))) {
    if (!s.isWordLike) continue;
    const w = s.segment.toLowerCase();
    if (!STOP.has(w)) out.push(w);
  }
  return out;
}

const K1 = 1.2;
const B = 0.75;

interface Indexed {
  doc: KbDocument;
  tf: Map<string, number>;
  length: number;
}

export class KbIndex {
  private readonly docs: Indexed[];
  private readonly df = new Map<string, number>();
  private readonly avgLength: number;

  constructor(documents: readonly KbDocument[]) {
    this.docs = documents.map((doc) => {
      // the title (or question) counts twice: it says what the entry is about
      const words = [...tokenize(doc.title, doc.lang), ...tokenize(doc.title, doc.lang), ...tokenize(doc.body, doc.lang)];
      const tf = new Map<string, number>();
      for (const w of words) tf.set(w, (tf.get(w) ?? 0) + 1);
      for (const w of tf.keys()) this.df.set(w, (this.df.get(w) ?? 0) + 1);
      return { doc, tf, length: words.length };
    });
    this.avgLength = this.docs.length === 0 ? 1 : this.docs.reduce((n, d) => n + d.length, 0) / this.docs.length;
  }

  get size(): number {
    return this.docs.length;
  }

  private idf(word: string): number {
    const n = this.docs.length;
    const df = this.df.get(word) ?? 0;
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }

  /** The best entries for a question, among those of the product and language, best first. */
  search(question: string, filter: { productCode: string; lang: 'zh-CN' | 'en' }, limit = 3): KbHit[] {
    const terms = [...new Set(tokenize(question, filter.lang))];
    if (terms.length === 0) return [];
    const weights = terms.map((w) => this.idf(w));
    const total = weights.reduce((a, b) => a + b, 0);
    const hits: KbHit[] = [];
    for (const d of this.docs) {
      if (d.doc.productCode !== filter.productCode || d.doc.lang !== filter.lang) continue;
      let score = 0;
      let covered = 0;
      terms.forEach((w, i) => {
        const f = d.tf.get(w);
        if (!f) return;
        const idf = weights[i] ?? 0;
        covered += idf;
        score += (idf * f * (K1 + 1)) / (f + K1 * (1 - B + (B * d.length) / this.avgLength));
      });
      if (score > 0) hits.push({ doc: d.doc, score, coverage: total > 0 ? covered / total : 0 });
    }
    hits.sort((a, b) => b.score - a.score || a.doc.entryId.localeCompare(b.doc.entryId));
    return hits.slice(0, limit);
  }
}

/** Phrases with which a customer asks for a person rather than the assistant. */
const HUMAN_REQUEST =
  /(转人工|人工客服|人工服务|找人工|^人工$|人工|真人|客服人员|柜员|坐席|\bhuman\b|\bperson\b|\bagent\b|\boperator\b|\brepresentative\b|\bstaff\b|talk to (a |an |some)?(one|body|teller))/i;

export function asksForPerson(text: string): boolean {
  return HUMAN_REQUEST.test(text.normalize('NFKC'));
}

/** The least share of the question an entry must cover for the assistant to answer from it. */
export const CONFIDENCE_THRESHOLD = 0.5;

export interface AssistantDecision {
  hit: KbHit | null;
  /** the assistant is sure enough to answer from `hit` */
  confident: boolean;
  /** offer "转人工 / talk to a person" */
  offerTransfer: boolean;
  /** the customer asked for a person */
  person: boolean;
}

export function decide(question: string, hits: readonly KbHit[], threshold = CONFIDENCE_THRESHOLD): AssistantDecision {
  const hit = hits[0] ?? null;
  const person = asksForPerson(question);
  const confident = !person && hit !== null && hit.coverage >= threshold;
  return { hit: confident ? hit : null, confident, offerTransfer: person || !confident, person };
}
