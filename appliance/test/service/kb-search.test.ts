import t from 'tap';
import { asksForPerson, decide, KbIndex, tokenize, type KbDocument } from '../../src/domain/kb-search.js';

t.test('tokenize: ICU word segmentation for Chinese, lower-cased words for English, no function words', async (t) => {
  t.same(tokenize('我的信用卡丢了', 'zh-CN'), ['信用卡', '丢'], 'Node 20 ICU segments 信用卡 as one word');
  t.same(tokenize('How do I report a LOST card?', 'en'), ['report', 'lost', 'card']);
  t.same(tokenize('，。！？', 'zh-CN'), [], 'punctuation is no word');
  t.same(tokenize('ＡＢＣ１２３', 'en'), ['abc123'], 'full-width forms are folded (NFKC)');
});

t.test('asksForPerson', async (t) => {
  for (const s of ['转人工', '我要人工客服', '能找真人吗', 'I want to talk to a person', 'agent please', 'HUMAN']) t.ok(asksForPerson(s), s);
  for (const s of ['信用卡丢了', 'What are your opening hours?', 'personal loan rates']) t.notOk(asksForPerson(s), s);
});

const doc = (entryId: string, lang: 'zh-CN' | 'en', title: string, body: string, productCode = 'P1'): KbDocument => ({ entryId, version: 1, productCode, lang, kind: 'qa', title, body });
const DOCS = [
  doc('a', 'zh-CN', '信用卡丢了怎么办？', '请立即拨打客服热线办理信用卡挂失。'),
  doc('b', 'zh-CN', '营业时间', '每天九点至二十一点营业。'),
  doc('c', 'zh-CN', '修改手机号码', '携带身份证到网点柜台修改预留手机号码。'),
  doc('d', 'en', 'Lost credit card', 'Call the hotline to report the card lost.'),
  doc('e', 'en', 'Opening hours', 'We are open every day from 9:00 to 21:00.'),
  doc('f', 'zh-CN', '信用卡丢了怎么办？', '另一个产品的答案。', 'P2'),
];

t.test('BM25 search: the right entry first, only the product and language asked', async (t) => {
  const index = new KbIndex(DOCS);
  t.equal(index.size, 6);
  const zh = index.search('信用卡丢了', { productCode: 'P1', lang: 'zh-CN' });
  t.equal(zh[0]?.doc.entryId, 'a');
  t.ok(
    zh.every((h) => h.doc.productCode === 'P1' && h.doc.lang === 'zh-CN'),
    'never another product or language',
  );
  t.equal(index.search('几点营业', { productCode: 'P1', lang: 'zh-CN' })[0]?.doc.entryId, 'b');
  t.equal(index.search('change my mobile number', { productCode: 'P1', lang: 'zh-CN' }).length, 0, 'English words match no Chinese entry');
  t.equal(index.search('When are you open?', { productCode: 'P1', lang: 'en' })[0]?.doc.entryId, 'e');
  const en = index.search('I lost my credit card', { productCode: 'P1', lang: 'en' });
  t.equal(en[0]?.doc.entryId, 'd');
  t.ok((en[0]?.coverage ?? 0) > 0.99, 'every question word is covered');
  t.same(index.search('的了吗', { productCode: 'P1', lang: 'zh-CN' }), [], 'only function words: nothing');
});

t.test('decide: answer when confident, offer a person otherwise or when asked', async (t) => {
  const index = new KbIndex(DOCS);
  const sure = decide('信用卡丢了', index.search('信用卡丢了', { productCode: 'P1', lang: 'zh-CN' }));
  t.match(sure, { confident: true, offerTransfer: false, person: false });
  t.equal(sure.hit?.doc.entryId, 'a');
  const q = '信用卡年费和积分兑换规则';
  const unsure = decide(q, index.search(q, { productCode: 'P1', lang: 'zh-CN' }));
  t.match(unsure, { confident: false, offerTransfer: true, hit: null }, 'one word of five is not enough');
  const person = decide('信用卡丢了，转人工', index.search('信用卡丢了，转人工', { productCode: 'P1', lang: 'zh-CN' }));
  t.match(person, { person: true, offerTransfer: true, hit: null }, 'asking for a person wins over a match');
  t.match(decide('anything', []), { confident: false, offerTransfer: true });
});
