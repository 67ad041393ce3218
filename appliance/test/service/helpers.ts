import type { LightMyRequestResponse } from 'fastify';
import type { TestAppliance } from '../helpers/appliance.js';

/** A customer's visit as the entry page holds it: the ticket header and the browser's device cookie. */
export interface Visitor {
  id: string;
  headers: Record<string, string>;
  cookies: Record<string, string>;
}

export const SEED_KB = [
  { productCode: 'VIDEO-WITNESS', lang: 'zh-CN', kind: 'qa', title: '信用卡丢了怎么办？', body: '请立即拨打客服热线办理信用卡挂失，挂失后补办新卡约需七个工作日。' },
  { productCode: 'VIDEO-WITNESS', lang: 'zh-CN', kind: 'article', title: '视频见证的营业时间', body: '视频见证服务时间为每天九点至二十一点，节假日照常服务。' },
  { productCode: 'VIDEO-WITNESS', lang: 'zh-CN', kind: 'qa', title: '如何修改预留手机号码？', body: '携带本人身份证到任一网点柜台，或在视频见证中由柜员核实身份后修改。' },
  {
    productCode: 'VIDEO-WITNESS',
    lang: 'en',
    kind: 'qa',
    title: 'I lost my credit card. What should I do?',
    body: 'Call the service hotline at once to report the card lost; a replacement card takes about seven working days.',
  },
  {
    productCode: 'VIDEO-WITNESS',
    lang: 'en',
    kind: 'article',
    title: 'Opening hours of the video witness service',
    body: 'The video witness service is open every day from 9:00 to 21:00, holidays included.',
  },
  { productCode: 'ACCT-OPEN', lang: 'zh-CN', kind: 'qa', title: '开户需要带什么证件？', body: '开户需要本人有效身份证件原件。' },
] as const;

export async function seedKb(a: TestAppliance): Promise<string[]> {
  const admin = { authorization: `Bearer ${await a.tokenFor('admin1')}` };
  const ids: string[] = [];
  for (const e of SEED_KB) {
    const res = await a.app.inject({ method: 'POST', url: '/api/admin/kb/entries', headers: admin, payload: e });
    if (res.statusCode !== 201) throw new Error(`kb entry: ${res.statusCode} ${res.body}`);
    ids.push(res.json().id as string);
  }
  return ids;
}

export function deviceCookie(res: LightMyRequestResponse): string | undefined {
  return res.cookies.find((c) => c.name === '__Host-kyc_device')?.value;
}

export async function startVisit(a: TestAppliance, body: Record<string, unknown> = {}, cookies: Record<string, string> = {}): Promise<Visitor> {
  const res = await a.app.inject({
    method: 'POST',
    url: '/api/service/visits',
    cookies,
    payload: { productCode: 'VIDEO-WITNESS', lang: 'zh-CN', name: '李小龙', consent: true, ...body },
  });
  if (res.statusCode !== 201) throw new Error(`visit: ${res.statusCode} ${res.body}`);
  const { ticket, ticketHeader, visit } = res.json() as { ticket: string; ticketHeader: string; visit: { id: string } };
  const device = deviceCookie(res) ?? cookies['__Host-kyc_device'];
  if (!device) throw new Error('no device cookie');
  return { id: visit.id, headers: { [ticketHeader]: ticket }, cookies: { '__Host-kyc_device': device } };
}

export function asVisitor(v: Visitor, method: 'GET' | 'POST', path: string, payload?: unknown) {
  return {
    method,
    url: `/api/service/visits/${v.id}${path}`,
    headers: v.headers,
    cookies: v.cookies,
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  };
}
