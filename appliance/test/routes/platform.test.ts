import t from 'tap';
import { newCaseBody, startTestAppliance, WEB_BUILD } from '../helpers/appliance.js';

t.test('health, readiness, security headers, OpenAPI', async (t) => {
  const a = await startTestAppliance(t, { webRoot: WEB_BUILD });

  const health = await a.app.inject({ method: 'GET', url: '/healthz' });
  t.equal(health.statusCode, 200);
  t.same(health.json(), { status: 'ok' });

  const ready = await a.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.match(ready.json(), {
    status: 'ready',
    components: { db: { status: 'up', required: true }, idp: { status: 'up', required: true }, janus: { status: 'not_configured' } },
  });

  const csp = String(ready.headers['content-security-policy']);
  t.match(csp, /default-src 'self'/);
  t.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/, "scripts only from this origin; WebAssembly may compile (the browser's face model)");
  t.notMatch(csp, /unsafe-inline|'unsafe-eval'/, 'no unsafe-inline or unsafe-eval (JavaScript eval stays refused)');
  t.match(csp, /frame-ancestors 'none'/);
  t.equal(ready.headers['x-content-type-options'], 'nosniff');
  t.match(String(ready.headers['strict-transport-security']), /max-age=31536000/);
  t.equal(ready.headers['x-frame-options'], 'SAMEORIGIN');
  t.ok(ready.headers['x-request-id'], 'request id returned');

  const openapi = await a.app.inject({ method: 'GET', url: '/api/openapi.json' });
  t.equal(openapi.statusCode, 200);
  const doc = openapi.json();
  t.ok(doc.paths['/api/cases'], 'cases documented');
  t.ok(doc.paths['/api/me'], 'me documented');
  const docs = await a.app.inject({ method: 'GET', url: '/docs' });
  t.ok([200, 302].includes(docs.statusCode), 'docs viewer served');

  const unknownApi = await a.app.inject({ method: 'GET', url: '/api/nope', headers: { accept: 'text/html' } });
  t.equal(unknownApi.statusCode, 404);
  t.equal(unknownApi.json().error.code, 'KYC_ERR_NOT_FOUND');

  t.test('the built UI is served with no inline script', async (t) => {
    const page = await a.app.inject({ method: 'GET', url: '/cases/new', headers: { accept: 'text/html' } });
    t.equal(page.statusCode, 200, 'SPA pages get the shell');
    t.match(String(page.headers['content-type']), /text\/html/);
    const html = page.body;
    const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>/g)];
    t.equal(inline.length, 0, 'no inline <script>');
    t.notMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
    const src = /<script[^>]*src="([^"]+)"/.exec(html)?.[1];
    t.ok(src, 'an external bootstrap script');
    const js = await a.app.inject({ method: 'GET', url: src ?? '/' });
    t.equal(js.statusCode, 200);
    t.match(String(js.headers['content-type']), /javascript/);
  });
});

t.test('readiness is 503 when the identity provider is down', async (t) => {
  const a = await startTestAppliance(t);
  await a.idp.close();
  const ready = await a.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.match(ready.json(), { status: 'not_ready', components: { idp: { status: 'down' }, db: { status: 'up' } } });
});

t.test('JSON bodies must be valid UTF-8: stray bytes are a 400, nothing is created', async (t) => {
  const a = await startTestAppliance(t);
  const teller = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const body = JSON.stringify(newCaseBody({ customerName: 'PLACEHOLDER' }));
  const [head, tail] = body.split('PLACEHOLDER') as [string, string];
  const bad = Buffer.concat([Buffer.from(head), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from(tail)]);
  const res = await a.app.inject({ method: 'POST', url: '/api/cases', headers: { ...teller, 'content-type': 'application/json' }, payload: bad });
  t.equal(res.statusCode, 400);
  t.equal(res.json().error.code, 'KYC_ERR_MALFORMED_BODY');
  t.match(res.json().error.message, /UTF-8/);
  t.equal((await a.app.inject({ method: 'GET', url: '/api/cases', headers: teller })).json().items.length, 0, 'nothing created');
  const good = await a.app.inject({
    method: 'POST',
    url: '/api/cases',
    headers: { ...teller, 'content-type': 'application/json; charset=utf-8' },
    payload: Buffer.from(body.replace('PLACEHOLDER', '张三')),
  });
  t.equal(good.statusCode, 201, 'the same body in valid UTF-8 is accepted');
  const poisoned = await a.app.inject({ method: 'POST', url: '/api/cases', headers: { ...teller, 'content-type': 'application/json' }, payload: body.replace('{', '{"__proto__":{"x":1},') });
  t.equal(poisoned.statusCode, 400, 'prototype poisoning is still refused');
});
