import type { Queryable } from '../db/database.js';
import type { ProductDefinition } from './kyc-api-types.js';
import { productRepository } from './product.repository.js';

/**
 * Demonstration products for development and tests (never installed in production): a wealth-management sale
 * (双录 key nodes after 银行业金融机构销售专区录音录像管理暂行规定) and a remote account opening with identity checks.
 */
export const SEED_PRODUCTS: readonly ProductDefinition[] = [
  {
    code: 'VIDEO-WITNESS',
    nameZh: '视频见证（无脚本）',
    nameEn: 'Video witness (no script)',
    retentionYears: 5,
    requiresGeolocation: false,
    steps: [
      {
        id: 'opening',
        kind: 'read',
        required: false,
        title: { 'zh-CN': '开场提示', en: 'Opening prompt' },
        text: { 'zh-CN': '您好，本次视频全程录音录像。', en: 'Hello, this video session is recorded.' },
      },
    ],
  },
  {
    code: 'WM-SALE',
    nameZh: '稳健理财产品销售（双录）',
    nameEn: 'Wealth-management product sale (dual recording)',
    retentionYears: 10,
    requiresGeolocation: false,
    steps: [
      {
        id: 'opening',
        kind: 'read',
        required: true,
        title: { 'zh-CN': '开场提示', en: 'Opening prompt' },
        text: {
          'zh-CN': '您好，我是本行理财经理。根据监管要求，本次销售过程将全程录音录像，录音录像仅用于合规管理。请问您是否同意？',
          en: 'Hello, I am a wealth manager of the bank. As regulations require, this sale is recorded in sound and video, for compliance purposes only. Do you agree?',
        },
        confirm: true,
      },
      {
        id: 'risk-disclosure',
        kind: 'read',
        required: true,
        title: { 'zh-CN': '风险揭示', en: 'Risk disclosure' },
        text: {
          'zh-CN': '理财非存款，产品有风险，投资须谨慎。本产品风险等级为PR2（中低风险），不保证本金和收益，过往业绩不代表未来表现。',
          en: 'Wealth management is not a deposit; products carry risk, invest with care. This product is rated PR2 (medium-low risk); neither principal nor return is guaranteed, and past performance does not predict future results.',
        },
        confirm: true,
      },
      {
        id: 'product-explanation',
        kind: 'read',
        required: true,
        title: { 'zh-CN': '产品说明', en: 'Product explanation' },
        text: {
          'zh-CN': '本产品期限180天，业绩比较基准年化2.8%–3.5%，认购费0，管理费年化0.3%，到期前不可赎回，募集期资金按活期计息。',
          en: 'The term is 180 days, the performance benchmark 2.8–3.5 % a year, no subscription fee, a 0.3 % yearly management fee, no redemption before maturity; funds earn demand-deposit interest during the offer period.',
        },
      },
      {
        id: 'suitability',
        kind: 'question',
        required: true,
        title: { 'zh-CN': '适当性确认问题', en: 'Suitability questions' },
        pool: [
          { id: 'q-risk-rating', text: { 'zh-CN': '您的风险承受能力评估结果是什么等级？', en: 'What risk tolerance level did your assessment give?' } },
          { id: 'q-funds-source', text: { 'zh-CN': '本次投资的资金是否为您的自有闲置资金？', en: 'Is the money for this investment your own spare funds?' } },
          { id: 'q-horizon', text: { 'zh-CN': '这笔资金在180天内是否有其他用途？', en: 'Will you need this money for anything else within 180 days?' } },
          { id: 'q-loss', text: { 'zh-CN': '如果产品出现本金亏损，您能否承受？', en: 'Could you bear a loss of principal on this product?' } },
          { id: 'q-experience', text: { 'zh-CN': '您以前购买过理财或基金产品吗？', en: 'Have you bought wealth-management or fund products before?' } },
        ],
        draw: 3,
      },
      {
        id: 'customer-confirmation',
        kind: 'read',
        required: true,
        title: { 'zh-CN': '客户确认', en: 'Customer confirmation' },
        text: {
          'zh-CN': '请您确认：您已阅读并理解产品说明书和风险揭示书，了解产品风险，自愿购买本产品。',
          en: 'Please confirm that you have read and understood the product description and the risk disclosure, know the product’s risks and buy it of your own free will.',
        },
        confirm: true,
      },
      {
        id: 'read-aloud',
        kind: 'read-aloud',
        required: true,
        title: { 'zh-CN': '朗读确认码', en: 'Read the code aloud' },
        text: { 'zh-CN': '请客户大声朗读屏幕上的确认码。', en: 'Ask the customer to read the code on their screen aloud.' },
        source: 'code',
        digits: 6,
      },
    ],
  },
  {
    code: 'ACCT-OPEN',
    nameZh: '远程开户（视频核验）',
    nameEn: 'Remote account opening (video KYC)',
    retentionYears: 5,
    requiresGeolocation: true,
    steps: [
      {
        id: 'opening',
        kind: 'read',
        required: true,
        title: { 'zh-CN': '开场提示', en: 'Opening prompt' },
        text: {
          'zh-CN': '您好，现在为您办理远程开户视频核验，全程录音录像。请确认您本人在场、未受他人指使。',
          en: 'Hello, we will now verify your identity for opening an account by video; the session is recorded. Please confirm that you are present in person and not acting on anyone’s instruction.',
        },
        confirm: true,
      },
      {
        id: 'id-capture',
        kind: 'id-capture',
        required: true,
        title: { 'zh-CN': '拍摄身份证正反面', en: 'Capture both sides of the ID card' },
        text: { 'zh-CN': '请客户将身份证正面、背面依次对准摄像头。', en: 'Ask the customer to hold the front, then the back of the ID card to the camera.' },
      },
      {
        id: 'face-match',
        kind: 'face-match',
        required: true,
        title: { 'zh-CN': '人脸比对', en: 'Face match' },
        text: { 'zh-CN': '请客户正对摄像头，保持光线充足。', en: 'Ask the customer to face the camera in good light.' },
      },
      {
        id: 'liveness',
        kind: 'liveness',
        required: true,
        title: { 'zh-CN': '活体检测（动作配合）', en: 'Liveness (challenge–response)' },
        text: { 'zh-CN': '请客户按屏幕提示完成动作。', en: 'Ask the customer to follow the prompts on their screen.' },
      },
      {
        id: 'security-questions',
        kind: 'question',
        required: true,
        title: { 'zh-CN': '随机核验问题', en: 'Random verification questions' },
        pool: [
          { id: 'q-birth-date', text: { 'zh-CN': '请说出您的出生日期。', en: 'Please state your date of birth.' } },
          { id: 'q-address', text: { 'zh-CN': '请说出您身份证上的住址所在区县。', en: 'Please name the district of the address on your ID card.' } },
          { id: 'q-issuer', text: { 'zh-CN': '您的身份证由哪个公安机关签发？', en: 'Which police authority issued your ID card?' } },
          { id: 'q-valid-until', text: { 'zh-CN': '您的身份证有效期至哪一年？', en: 'Until which year is your ID card valid?' } },
          { id: 'q-purpose', text: { 'zh-CN': '您开立此账户的用途是什么？', en: 'What will you use this account for?' } },
          { id: 'q-occupation', text: { 'zh-CN': '请说出您的职业和工作单位。', en: 'Please state your occupation and employer.' } },
        ],
        draw: 3,
      },
      {
        id: 'read-serial',
        kind: 'read-aloud',
        required: true,
        title: { 'zh-CN': '朗读证件号码后四位', en: 'Read the ID serial aloud' },
        text: { 'zh-CN': '请客户朗读身份证号码的后四位。', en: 'Ask the customer to read the last four characters of the ID number aloud.' },
        source: 'id-serial',
      },
      {
        id: 'account-terms',
        kind: 'read',
        required: true,
        title: { 'zh-CN': '开户确认', en: 'Account terms confirmation' },
        text: {
          'zh-CN': '请您确认：您已知悉账户使用规定，不出租、出借、出售本人账户，所提供信息真实有效。',
          en: 'Please confirm that you know the account rules, will not rent, lend or sell your account, and that the information you gave is true.',
        },
        confirm: true,
      },
    ],
  },
];

/** Puts the demonstration products into the catalogue where their codes are free (idempotent). */
export async function seedProducts(db: Queryable, by = 'system'): Promise<void> {
  for (const p of SEED_PRODUCTS) await productRepository.create(db, p, by);
}
