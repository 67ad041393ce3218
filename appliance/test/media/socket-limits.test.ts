// Call sockets are bounded: a party of a session holds at most 4 open at once (a newer one retires the oldest, so
// tabs and reconnects never pile up), and one client address at most KYC_SIGNALING_SOCKETS_PER_ADDRESS (beyond it
// new sockets are refused with 1013, which the browser retries later).
import { readFileSync } from 'node:fs';
import t from 'tap';
import { applianceWithoutMedia, liveSessionOf, openSignaling, waitingCustomer, type Socket } from '../helpers/signaling-client.js';
import { CLOSE_CODES, FINAL_CLOSE_CODES, SIGNALING_ERRORS, SIGNALING_PATH, SIGNALING_SUBPROTOCOL } from '../../src/media/protocol.js';
import WebSocket from 'ws';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/media/signaling-hub.js';

t.test('sockets per party and per address are bounded', async (t) => {
  const { a, su } = await applianceWithoutMedia(t, { listen: true, env: { KYC_SIGNALING_SOCKETS_PER_ADDRESS: '7' } });
  const teller = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const c = await waitingCustomer(a, teller);
  const sessionId = await liveSessionOf(su, c.caseId);

  const customer = () => openSignaling(a, `invitation=${c.token}`, { cookie: `__Host-kyc_device=${c.cookies['__Host-kyc_device']}` });
  const perParty = DEFAULT_CONNECTION_LIMITS.perParty;
  const sockets: Socket[] = [];
  for (let i = 0; i < perParty + 2; i++) sockets.push(await customer());
  // the two oldest made way for the newest; each was told it is obsolete (a final close: no reconnect loop)
  t.equal(await sockets[0]!.closed, CLOSE_CODES.REPLACED, 'the oldest socket is retired');
  t.equal(await sockets[1]!.closed, CLOSE_CODES.REPLACED, 'and the next oldest');
  t.ok(FINAL_CLOSE_CODES.includes(CLOSE_CODES.REPLACED), 'a retired tab does not reconnect');
  const open = () => sockets.filter((s) => s.ws.readyState === s.ws.OPEN).length;
  t.equal(open(), perParty, `the party holds ${perParty} sockets, not ${perParty + 2}`);

  // Over the network (the address is the socket's peer): 7 sockets from 127.0.0.1 are open, the 8th is refused.
  const ca = readFileSync(a.caCertPath!);
  const wsUrl = `${a.baseUrl.replace('https:', 'wss:')}${SIGNALING_PATH}?session=${sessionId}`;
  const connect = () =>
    new Promise<{ ws: WebSocket; closed: Promise<number>; frames: Array<Record<string, unknown>> }>((resolve, reject) => {
      const frames: Array<Record<string, unknown>> = [];
      const ws = new WebSocket(wsUrl, SIGNALING_SUBPROTOCOL, { ca, headers: { ...teller, origin: a.config.publicUrl.origin } });
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Record<string, unknown>));
      ws.once('open', () => resolve({ ws, closed, frames }));
      ws.once('error', reject);
    });
  const tellerSockets = [];
  for (let i = 0; i < 7; i++) tellerSockets.push(await connect());
  const retired = await Promise.all(tellerSockets.slice(0, 7 - perParty).map((s) => s.closed));
  t.same(retired, Array(7 - perParty).fill(CLOSE_CODES.REPLACED), 'the oldest teller sockets are retired');
  t.equal(tellerSockets.filter((s) => s.ws.readyState === s.ws.OPEN).length, 4, 'the teller holds 4 (per party), all from one address');
  const customers = [];
  for (let i = 0; i < 3; i++) {
    customers.push(
      new WebSocket(wsUrl.replace(`session=${sessionId}`, `invitation=${c.token}`), SIGNALING_SUBPROTOCOL, {
        ca,
        headers: { cookie: `__Host-kyc_device=${c.cookies['__Host-kyc_device']}`, origin: a.config.publicUrl.origin },
      }),
    );
  }
  await Promise.all(customers.map((w) => new Promise((r) => w.once('open', r))));
  const refused = await connect();
  t.equal(await refused.closed, CLOSE_CODES.TRY_AGAIN_LATER, 'past the address limit (4 + 3 open): refused, to be retried later');
  t.ok(
    refused.frames.some((f) => f.code === SIGNALING_ERRORS.LIMIT),
    'with a LIMIT error frame',
  );
  t.notOk(FINAL_CLOSE_CODES.includes(CLOSE_CODES.TRY_AGAIN_LATER), 'a refusal for load is not final');
  t.equal(customers.filter((w) => w.readyState === w.OPEN).length, 3, 'the open ones are untouched');
  for (const w of customers) w.close();
  await new Promise((r) => setTimeout(r, 300));
  const again = await connect();
  t.equal(again.ws.readyState, again.ws.OPEN, 'after others closed, a new socket is accepted');
  again.ws.close();
  for (const s of [...sockets, ...tellerSockets]) s.ws.close();
});
