// Queue and routing benchmark: a real appliance over HTTPS (own database, dev IdP), customers arriving at a fixed
// rate against N tellers with a fixed handling time. Each teller runs what the teller console runs: a long poll of
// GET /api/service/offers, accept, "handle" for the fixed time, then PUT /api/me/presence available again. Each
// waiting customer polls GET /api/service/visits/:id as the /service page does.
//
// Routing latency: from the moment an offer became possible (the customer's transfer answered AND the receiving
// teller's "available" answered, whichever is later) to the moment the offer is in that teller's long-poll answer.
// Position correctness: every position a customer was shown is checked against the order of transfers and the
// accepts that happened around the poll (bounds computed from request start and end times, so concurrency cannot
// make a correct answer look wrong); a position outside the bounds counts as an error.
//
//   npx tsx appliance/bench/queue.bench.ts [--customers 40] [--interval-ms 400] [--handling-ms 1500]
// Last line: {"route_p50_ms":…,"route_p95_ms":…,"position_errors":…}
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { parseArgs } from 'node:util';
import { startTestAppliance } from '../test/helpers/appliance.js';

const { values } = parseArgs({
  options: { customers: { type: 'string', default: '40' }, 'interval-ms': { type: 'string', default: '400' }, 'handling-ms': { type: 'string', default: '1500' } },
});
const CUSTOMERS = Number(values.customers);
const INTERVAL = Number(values['interval-ms']);
const HANDLING = Number(values['handling-ms']);
const TELLERS = ['teller1', 'teller2', 'teller_auditor1'];

const teardowns: (() => unknown)[] = [];
const a = await startTestAppliance({ teardown: (fn) => teardowns.push(fn) }, { listen: true, env: { KYC_SERVICE_VISITS_PER_MINUTE: '100000', KYC_QUEUE_OFFER_TIMEOUT_SECONDS: '60' } });
const agent = new Agent({ ca: readFileSync(a.caCertPath ?? ''), keepAlive: true, maxSockets: 64 });

interface Res {
  status: number;
  body: unknown;
  cookies: string[];
}
function call(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      new URL(path, a.baseUrl),
      { method, agent, headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null, cookies: res.headers['set-cookie'] ?? [] });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

interface Customer {
  id: string;
  headers: Record<string, string>;
  transferStart: number;
  transferDone: number;
  acceptStart: number;
  acceptDone: number;
  polls: { start: number; end: number; position: number | null }[];
}
const customers: Customer[] = [];
const routeMs: number[] = [];
let done = false;

try {
  const tokens = Object.fromEntries(await Promise.all(TELLERS.map(async (u) => [u, `Bearer ${await a.tokenFor(u)}`] as const)));
  for (const u of TELLERS) {
    const res = await call('PUT', '/api/me/presence', { authorization: tokens[u]! }, { status: 'away', skills: { products: ['VIDEO-WITNESS'], languages: ['zh-CN'] } });
    if (res.status !== 200) throw new Error(`presence: ${res.status}`);
  }

  async function teller(u: string): Promise<void> {
    const auth = { authorization: tokens[u]! };
    let availableAt: number;
    await call('PUT', '/api/me/presence', auth, { status: 'available' });
    availableAt = performance.now();
    while (!done) {
      const res = await call('GET', '/api/service/offers?waitMs=2000', auth);
      const seenAt = performance.now();
      const offer = (res.body as { id: string; visitId: string }[])[0];
      if (!offer) continue;
      const c = customers.find((x) => x.id === offer.visitId);
      if (!c) throw new Error('offer of an unknown visit');
      routeMs.push(seenAt - Math.max(c.transferDone, availableAt));
      c.acceptStart = performance.now();
      const acc = await call('POST', `/api/service/offers/${offer.id}/accept`, auth, { customerIdNumber: '11010519491231002X', customerPhone: '13812345678' });
      c.acceptDone = performance.now();
      if (acc.status !== 200) throw new Error(`accept: ${acc.status} ${JSON.stringify(acc.body)}`);
      await sleep(HANDLING);
      await call('PUT', '/api/me/presence', auth, { status: 'available' });
      availableAt = performance.now();
    }
  }

  async function customer(i: number): Promise<void> {
    const res = await call('POST', '/api/service/visits', {}, { productCode: 'VIDEO-WITNESS', lang: 'zh-CN', name: `客户${i}`, consent: true });
    if (res.status !== 201) throw new Error(`visit: ${res.status}`);
    const b = res.body as { ticket: string; ticketHeader: string; visit: { id: string } };
    const cookie = (res.cookies[0] ?? '').split(';')[0] ?? '';
    const c: Customer = { id: b.visit.id, headers: { [b.ticketHeader]: b.ticket, cookie }, transferStart: 0, transferDone: 0, acceptStart: Infinity, acceptDone: Infinity, polls: [] };
    customers.push(c);
    c.transferStart = performance.now();
    const tr = await call('POST', `/api/service/visits/${c.id}/transfer`, c.headers);
    c.transferDone = performance.now();
    if (tr.status !== 200) throw new Error(`transfer: ${tr.status}`);
    for (;;) {
      const start = performance.now();
      const v = await call('GET', `/api/service/visits/${c.id}`, c.headers);
      const end = performance.now();
      const visit = (v.body as { visit: { state: string; position: number | null } }).visit;
      if (visit.state !== 'queued') break;
      c.polls.push({ start, end, position: visit.position });
      await sleep(250);
    }
  }

  const tellersRunning = TELLERS.map((u) => teller(u));
  const arrivals: Promise<void>[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    arrivals.push(customer(i));
    await sleep(INTERVAL);
  }
  await Promise.all(arrivals);
  done = true;
  await Promise.all(tellersRunning);

  let errors = 0;
  let checked = 0;
  for (const c of customers) {
    for (const p of c.polls) {
      // ahead for sure: transferred before c's transfer began and not yet being accepted when the poll ended;
      // possibly ahead: transfer began before c's ended, and not accepted for sure before the poll began
      const lower = 1 + customers.filter((u) => u !== c && u.transferDone < c.transferStart && u.acceptStart > p.end).length;
      const upper = 1 + customers.filter((u) => u !== c && u.transferStart < c.transferDone && u.acceptDone > p.start).length;
      checked++;
      if (p.position === null || p.position < lower || p.position > upper) errors++;
    }
  }
  const served = customers.filter((c) => Number.isFinite(c.acceptDone)).length;
  console.log(`${CUSTOMERS} customers every ${INTERVAL} ms, ${TELLERS.length} tellers, handling ${HANDLING} ms: ${served} served, ${routeMs.length} offers`);
  console.log(`routing latency p50 ${pct(routeMs, 50).toFixed(1)} ms, p95 ${pct(routeMs, 95).toFixed(1)} ms, max ${Math.max(...routeMs).toFixed(1)} ms`);
  console.log(`positions checked ${checked}, errors ${errors}; longest queue ${Math.max(0, ...customers.flatMap((c) => c.polls.map((p) => p.position ?? 0)))}`);
  console.log(JSON.stringify({ route_p50_ms: Number(pct(routeMs, 50).toFixed(1)), route_p95_ms: Number(pct(routeMs, 95).toFixed(1)), position_errors: errors }));
} finally {
  done = true;
  agent.destroy();
  for (const fn of teardowns.reverse()) await fn();
}
