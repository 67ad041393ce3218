import { createHash } from 'node:crypto';

/**
 * The consent text a customer reads before the recording starts, owned by the server: the join page shows exactly
 * these words, and the consent record (and its audit event) carries the SHA-256 of the document shown — its version,
 * language, and every word, with the product and branch filled in — never a version string the browser chose.
 * A new wording is a new CONSENT_VERSION.
 */

export const CONSENT_VERSION = '2026-11';

export const CONSENT_LANGUAGES = ['zh-CN', 'en'] as const;
export type ConsentLanguage = (typeof CONSENT_LANGUAGES)[number];

export interface ConsentDocument {
  version: string;
  language: ConsentLanguage;
  title: string;
  intro: string;
  sections: Array<{ title: string; body: string }>;
  note: string;
  /** SHA-256 (hex) of the document's canonical JSON (these fields but sha256, in this order) */
  sha256: string;
}

type Wording = Omit<ConsentDocument, 'version' | 'language' | 'sha256'>;

const WORDING: Record<ConsentLanguage, Wording> = {
  'zh-CN': {
    title: '录音录像告知与同意',
    intro: '在开始办理“{product}”（{branch}）之前，请阅读以下说明：',
    sections: [
      { title: '录制哪些内容', body: '本次视频会话中您和银行工作人员双方的声音和图像，以及会话中的文字聊天和双方发送的图片、文件。' },
      { title: '为什么录制', body: '用于核实您的身份，并且监管规定要求银行对产品销售过程进行录音录像（“双录”）。' },
      { title: '保存多久', body: '按银行的档案保存制度保存，至少 5 年；录像加密保存。' },
      { title: '谁可以查看', body: '仅限银行授权的审核人员，每次查看都会留下记录。' },
      { title: '您的选择', body: '您可以同意或拒绝。如果拒绝，将不会进行任何录制，本次会话随即结束。' },
    ],
    note: '您的选择及时间将被记录。',
  },
  en: {
    title: 'Recording notice and consent',
    intro: 'Before we start with "{product}" ({branch}), please read the following:',
    sections: [
      { title: 'What is recorded', body: 'The sound and picture of both you and the bank staff member during this video session, and the chat messages, images and files exchanged in it.' },
      { title: 'Why', body: 'To verify your identity, and because regulations require the bank to record the sale of this product (dual recording).' },
      { title: 'How long it is kept', body: "According to the bank's retention policy, at least 5 years; the recording is stored encrypted." },
      { title: 'Who may view it', body: 'Only auditors authorised by the bank; every viewing is logged.' },
      { title: 'Your choice', body: 'You may accept or decline. If you decline, nothing is recorded and this session ends.' },
    ],
    note: 'Your answer is recorded with the date and time.',
  },
};

/** The documents of the current version, one per language, for this product and branch. */
export function consentDocuments(product: string, branch: string): ConsentDocument[] {
  return CONSENT_LANGUAGES.map((language) => {
    const w = WORDING[language];
    const body = {
      version: CONSENT_VERSION,
      language,
      title: w.title,
      intro: w.intro.replace('{product}', product || '—').replace('{branch}', branch || '—'),
      sections: w.sections.map((s) => ({ title: s.title, body: s.body })),
      note: w.note,
    };
    return { ...body, sha256: createHash('sha256').update(JSON.stringify(body), 'utf8').digest('hex') };
  });
}

/** SHA-256 over all languages' documents of the version: what a consent without a chosen document agreed to. */
export function consentSetSha256(docs: readonly ConsentDocument[]): string {
  return createHash('sha256')
    .update(docs.map((d) => d.sha256).join('\n'), 'utf8')
    .digest('hex');
}
