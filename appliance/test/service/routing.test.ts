import t from 'tap';
import { createServer } from 'node:http';
import pg from 'pg';
import { startTestAppliance } from '../helpers/appliance.js';
import { ManualClock } from '../helpers/clock.js';
import { asVisitor, seedKb, startVisit } from './helpers.js';

/**
 * Random routing (R24): 300 customers, each offered while three skilled tellers are available and one unskilled is
 * too. Pearson's chi-square over the three counts (2 degrees of freedom) stays below 20 (p ≈ 5·10⁻⁵ for a fair draw);
 * "always the first" or "round robin from the first" gives 600 or 0 — the second is caught by the run test below.
 */
t.test('routing is random among the eligible tellers, never the unskilled one', async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_SERVICE_VISITS_PER_MINUTE: '100000', KYC_QUEUE_OFFER_TIMEOUT_SECONDS: '600' } });
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const tellers = ['teller1', 'teller2', 'teller_auditor1'];
  for (const u of tellers) {
    const res = await a.app.inject({
      method: 'PUT',
      url: '/api/me/presence',
      headers: { authorization: `Bearer ${await a.tokenFor(u)}` },
      payload: { status: 'available', skills: { products: ['VIDEO-WITNESS'], languages: ['zh-CN'] } },
    });
    t.equal(res.statusCode, 200);
  }
  // a fourth available teller without the language never receives one
  const other = await a.app.inject({ method: 'PUT', url: '/api/me/presence', headers: { authorization: `Bearer ${await a.tokenFor('teller1')}` }, payload: { status: 'available' } });
  t.equal(other.statusCode, 200);
  await su.query(`INSERT INTO teller_presence (username, status, products, languages) VALUES ('unskilled', 'available', '{VIDEO-WITNESS}', '{en}')`);

  const counts = new Map<string, number>(tellers.map((u) => [u, 0]));
  const sequence: string[] = [];
  const N = 300;
  for (let i = 0; i < N; i++) {
    const c = await startVisit(a);
    t.equal((await a.app.inject(asVisitor(c, 'POST', '/transfer'))).statusCode, 200);
    await a.runtime.ctx.desk.routeNow();
    const offer = (await su.query(`SELECT teller FROM service_offers WHERE visit_id = $1 AND state = 'open'`, [c.id])).rows[0] as { teller: string } | undefined;
    if (!offer) {
      t.fail(`visit ${i} was not offered`);
      break;
    }
    counts.set(offer.teller, (counts.get(offer.teller) ?? 0) + 1);
    sequence.push(offer.teller);
    // the customer leaves: the offer is withdrawn and the teller free again
    t.equal((await a.app.inject(asVisitor(c, 'POST', '/leave'))).json().state, 'left');
  }
  t.notOk(counts.has('unskilled'), 'the teller without the language never received an offer');
  const expected = N / tellers.length;
  const chi2 = [...counts.values()].reduce((s, n) => s + (n - expected) ** 2 / expected, 0);
  t.comment(`offers per teller: ${JSON.stringify(Object.fromEntries(counts))}, chi-square ${chi2.toFixed(2)}`);
  t.ok(chi2 < 20, `chi-square ${chi2.toFixed(2)} < 20 (2 degrees of freedom)`);
  // not a rotation: in a fair draw, a teller follows themselves about a third of the time
  const repeats = sequence.slice(1).filter((u, i) => u === sequence[i]).length;
  t.ok(repeats > 50 && repeats < 150, `the same teller twice in a row ${repeats} times of ${N - 1} (a rotation gives 0)`);
  const offered = (await a.auditEvents()).filter((e) => e.action === 'service.offer');
  t.equal(offered.length, N, 'every offer audited');
  t.match(offered[0], { actor: { auth: 'system' }, details: { routing: 'random', eligible: 3 } });
});

t.test('longest-idle routing, and the site assistant hook with its offline fallback', async (t) => {
  const seen: { question: string; passages: { title: string }[] }[] = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const q = JSON.parse(body) as { question: string; passages: { title: string }[] };
      seen.push(q);
      const reply = () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ text: `HOOK: ${q.passages[0]?.title ?? ''}` }));
      };
      if (q.question.includes('slow')) setTimeout(reply, 1500);
      else if (q.question.includes('broken')) res.writeHead(500).end();
      else reply();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => hook.close(() => r())));
  const port = (hook.address() as { port: number }).port;
  const clock = new ManualClock();
  const a = await startTestAppliance(t, {
    env: { KYC_ASSISTANT_URL: `http://127.0.0.1:${port}/answer`, KYC_ASSISTANT_TIMEOUT_MS: '300', KYC_QUEUE_ROUTING: 'longest_idle', KYC_SERVICE_VISITS_PER_MINUTE: '1000' },
    clock,
  });
  await seedKb(a);
  const c = await startVisit(a, { lang: 'en', name: 'Ann Lee' });
  const viaHook = (await a.app.inject(asVisitor(c, 'POST', '/messages', { text: 'I lost my credit card' }))).json();
  t.equal(viaHook.text, 'HOOK: I lost my credit card. What should I do?', "the site's assistant answers");
  t.match(viaHook.citation, { title: 'I lost my credit card. What should I do?', version: 1 }, 'citing the retrieved entry');
  t.match(seen[0]?.passages[0], { title: 'I lost my credit card. What should I do?' }, 'the hook got the passages');
  const slow = (await a.app.inject(asVisitor(c, 'POST', '/messages', { text: 'slow: I lost my credit card' }))).json();
  t.match(slow.text, /^Call the service hotline/, 'a hook that does not answer in time: the offline answer');
  const broken = (await a.app.inject(asVisitor(c, 'POST', '/messages', { text: 'broken: I lost my credit card' }))).json();
  t.match(broken.text, /^Call the service hotline/, 'a failing hook: the offline answer');
  const n = seen.length;
  const person = (await a.app.inject(asVisitor(c, 'POST', '/messages', { text: 'talk to a person' }))).json();
  t.equal(person.offerTransfer, true);
  t.equal(seen.length, n, 'a request for a person does not go to the hook');

  // longest idle: the teller available the longest gets the offer
  const users = ['teller2', 'teller_auditor1', 'teller1'];
  for (const u of users) {
    await a.app.inject({
      method: 'PUT',
      url: '/api/me/presence',
      headers: { authorization: `Bearer ${await a.tokenFor(u)}` },
      payload: { status: 'available', skills: { products: ['VIDEO-WITNESS'], languages: ['en'] } },
    });
    clock.advance(1000);
  }
  t.equal((await a.app.inject(asVisitor(c, 'POST', '/transfer'))).statusCode, 200);
  const offers = (await a.app.inject({ method: 'GET', url: '/api/service/offers?waitMs=5000', headers: { authorization: `Bearer ${await a.tokenFor('teller2')}` } })).json();
  t.equal(offers.length, 1, 'teller2, available first, gets it');
});
