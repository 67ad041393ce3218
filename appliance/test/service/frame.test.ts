import t from 'tap';
import { startTestAppliance, WEB_BUILD } from '../helpers/appliance.js';

t.test('only /service may be framed, and only by the configured origins', async (t) => {
  const a = await startTestAppliance(t, { webRoot: WEB_BUILD, env: { KYC_SERVICE_FRAME_ANCESTORS: 'https://www.bank.example,https://app.bank.example:8443' } });
  const page = (url: string) => a.app.inject({ method: 'GET', url, headers: { accept: 'text/html' } });
  for (const url of ['/service', '/service?product=VIDEO-WITNESS&lang=en']) {
    const res = await page(url);
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-security-policy'], /frame-ancestors https:\/\/www\.bank\.example https:\/\/app\.bank\.example:8443(;|$)/, `${url}: the configured origins`);
    t.notOk(res.headers['x-frame-options'], `${url}: no X-Frame-Options`);
  }
  // the join page an accepted visit continues on, inside the same frame
  const joinPage = await page(`/join/${'A'.repeat(43)}`);
  t.match(joinPage.headers['content-security-policy'], /frame-ancestors https:\/\/www\.bank\.example https:\/\/app\.bank\.example:8443(;|$)/, '/join/<token>: the configured origins');
  for (const url of ['/', '/join/abc', `/join/${'A'.repeat(43)}/../../admin`, '/services', '/service/../admin', '/cases']) {
    const res = await page(url);
    t.match(res.headers['content-security-policy'], /frame-ancestors 'none'/, `${url}: not frameable`);
  }
  const api = await a.app.inject({ method: 'GET', url: '/api/service/products' });
  t.match(api.headers['content-security-policy'], /frame-ancestors 'none'/);
  // inside a cross-site frame the device cookie must travel: SameSite=None, partitioned by the embedding site
  const visit = await a.app.inject({ method: 'POST', url: '/api/service/visits', payload: { productCode: 'VIDEO-WITNESS', lang: 'zh-CN', name: '李小龙', consent: true } });
  t.equal(visit.statusCode, 201);
  const set = String(visit.headers['set-cookie']).split('; ');
  t.match(set[0], /^__Host-kyc_device=[A-Za-z0-9_-]{43}$/);
  t.same(set.slice(1).sort(), ['HttpOnly', 'Max-Age=86400', 'Partitioned', 'Path=/', 'SameSite=None', 'Secure'], 'framed: SameSite=None; Partitioned');
});

t.test('unset: /service is not frameable either; a bad origin is a configuration error', async (t) => {
  const a = await startTestAppliance(t, { webRoot: WEB_BUILD });
  const res = await a.app.inject({ method: 'GET', url: '/service', headers: { accept: 'text/html' } });
  t.match(res.headers['content-security-policy'], /frame-ancestors 'none'/);
  const visit = await a.app.inject({ method: 'POST', url: '/api/service/visits', payload: { productCode: 'VIDEO-WITNESS', lang: 'zh-CN', name: '李小龙', consent: true } });
  t.match(String(visit.headers['set-cookie']), /SameSite=Lax/, 'not framed: the device cookie stays SameSite=Lax');
  t.notMatch(String(visit.headers['set-cookie']), /Partitioned/);
  const { loadConfig } = await import('../../src/config/load.js');
  t.throws(
    () => loadConfig({ env: { KYC_PROFILE: 'development', KYC_SERVICE_FRAME_ANCESTORS: 'http://insecure.example' }, cwd: '/tmp', allowMissingSecrets: true }),
    /KYC_SERVICE_FRAME_ANCESTORS/,
  );
  t.throws(() => loadConfig({ env: { KYC_PROFILE: 'development', KYC_ASSISTANT_URL: 'ftp://x.example/' }, cwd: '/tmp', allowMissingSecrets: true }), /KYC_ASSISTANT_URL/);
});
