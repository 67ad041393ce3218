// janus-accept.mjs RELEASE_DIR ADMIN_SECRET_FILE PORT true|false: tells the appliance's Janus (admin API on loopback)
// whether to accept new sessions — false drains it before an upgrade. Run with the release's Node.js; uses the
// release's `ws` package. Prints Janus's answer as JSON; exit 1 when Janus refused or could not be reached.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

const [release, secretFile, port, accept] = process.argv.slice(2);
const WebSocket = createRequire(`${release}/app/appliance/package.json`)('ws');
const secret = readFileSync(secretFile, 'utf8').trim();
const ws = new WebSocket(`ws://127.0.0.1:${port}`, 'janus-admin-protocol');
const timer = setTimeout(() => fail('no answer from Janus within 10 s'), 10_000);
function fail(message) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: message })}\n`);
  process.exit(1);
}
ws.on('error', (err) => fail(err.message));
ws.on('open', () => {
  ws.send(JSON.stringify({ janus: 'accept_new_sessions', accept: accept === 'true', transaction: randomUUID(), admin_secret: secret }));
});
ws.on('message', (data) => {
  clearTimeout(timer);
  const answer = JSON.parse(String(data));
  process.stdout.write(`${JSON.stringify({ ok: answer.janus === 'success', accept: accept === 'true', janus: answer.janus })}\n`);
  ws.close();
  process.exit(answer.janus === 'success' ? 0 : 1);
});
