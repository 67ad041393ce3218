import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ensureOwnTls } from '../../src/pki/certificate-authority.js';
import { createFaceServices, type FaceServices } from '../../src/face/index.js';
import { faceFixture, testFaceConfig } from './fixtures.js';

// A real HTTPS hook server (certificate from a test CA) that checks the signature the way an institution would.
const dir = mkdtempSync(join(tmpdir(), 'kyc-face-hook-'));
const tls = ensureOwnTls(dir, ['127.0.0.1', 'localhost']);
const secret = 'hook-test-secret-' + Math.random().toString(36).slice(2);
const secretFile = join(dir, 'hook-secret');
writeFileSync(secretFile, secret, { mode: 0o600 });

type Mode = 'match' | 'fail-then-match' | 'hang' | 'bad-answer' | 'no-match';
let mode: Mode = 'match';
let attempts = 0;
let failuresLeft = 0;
const seen: { body: Record<string, unknown>; keys: string[]; signatureOk: boolean; timestamp: number }[] = [];

function verify(body: string, ts: string, sig: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`);
  const got = Buffer.from(sig);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    attempts++;
    const body = Buffer.concat(chunks).toString('utf8');
    const ts = String(req.headers['x-kyc-timestamp'] ?? '');
    const signatureOk = verify(body, ts, String(req.headers['x-kyc-signature'] ?? ''));
    const parsed = JSON.parse(body) as Record<string, unknown>;
    seen.push({ body: parsed, keys: Object.keys(parsed), signatureOk, timestamp: Number(ts) });
    if (!signatureOk) return res.writeHead(401).end();
    if (mode === 'hang') return; // never answers
    if (mode === 'fail-then-match' && failuresLeft-- > 0) return res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'application/json' });
    if (mode === 'bad-answer') return res.end(JSON.stringify({ score: 7, decision: 'match', engine: 'acme' }));
    if (mode === 'no-match') return res.end(JSON.stringify({ score: 0.12, decision: 'no_match', engine: 'acme-face 2.1' }));
    res.end(JSON.stringify({ score: 0.93, decision: 'match', engine: 'acme-face 2.1' }));
  });
});

let url = '';
const services: FaceServices[] = [];
function hookServices(overrides: { caFile?: string | null; timeoutMs?: number; retries?: number } = {}): FaceServices {
  const s = createFaceServices(
    testFaceConfig({
      engine: 'hook',
      hook: {
        url: new URL(url),
        secretFile,
        caFile: overrides.caFile === undefined ? tls.caCertPath : overrides.caFile,
        timeoutMs: overrides.timeoutMs ?? 2000,
        retries: overrides.retries ?? 2,
      },
    }),
  );
  services.push(s);
  return s;
}

t.before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  url = `https://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/verify`;
});
t.teardown(async () => {
  for (const s of services) await s.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const reference = faceFixture('id-cards/person-a-front.jpg');
const probe = faceFixture('people/london-005/smiling.jpg');

t.test('the hook gets the contract body, signed; its answer is the result', async (t) => {
  const face = hookServices();
  mode = 'match';
  seen.length = 0;
  const r = await face.engine.compare(reference, probe, { requestId: 'req-1', caseId: '7a1d2b8e-0000-4000-8000-000000000001' });
  t.equal(r.decision, 'match');
  t.equal(r.score, 0.93);
  t.equal(r.engine, 'hook:acme-face 2.1');
  t.same(r.faces, { reference: 1, probe: 1 });
  t.equal(seen.length, 1);
  const s = seen[0]!;
  t.ok(s.signatureOk, 'X-KYC-Signature = sha256=HMAC(secret, timestamp + "." + body)');
  t.ok(Math.abs(s.timestamp - Date.now() / 1000) < 60, 'X-KYC-Timestamp is the current unix time in seconds');
  t.same(s.keys, ['requestId', 'caseId', 'reference', 'probe']);
  t.equal(s.body['requestId'], 'req-1');
  t.equal(s.body['caseId'], '7a1d2b8e-0000-4000-8000-000000000001');
  t.ok(Buffer.from(String(s.body['reference']), 'base64').equals(reference), 'reference: the JPEG, base64');
  t.ok(Buffer.from(String(s.body['probe']), 'base64').equals(probe), 'probe: the JPEG, base64');

  mode = 'no-match';
  t.equal((await face.engine.compare(reference, probe)).decision, 'no_match', "the hook's own decision is kept");
});

t.test('5xx is retried a bounded number of times', async (t) => {
  const face = hookServices({ retries: 2 });
  mode = 'fail-then-match';
  failuresLeft = 2;
  attempts = 0;
  const r = await face.engine.compare(reference, probe);
  t.equal(attempts, 3);
  t.equal(r.decision, 'match');
  failuresLeft = 10;
  attempts = 0;
  const down = await face.engine.compare(reference, probe);
  t.equal(attempts, 3, 'one try and two retries, no more');
  t.equal(down.decision, 'review', 'a hook that keeps failing gives review');
});

t.test('timeout → review, never match', async (t) => {
  const face = hookServices({ timeoutMs: 300, retries: 1 });
  mode = 'hang';
  attempts = 0;
  const r = await face.engine.compare(reference, probe);
  t.equal(r.decision, 'review');
  t.equal(r.modelVersion, 'unavailable');
  t.equal(attempts, 2);
});

t.test('an answer off the contract, or an untrusted certificate → review', async (t) => {
  mode = 'bad-answer';
  t.equal((await hookServices().engine.compare(reference, probe)).decision, 'review', 'score 7 is not 0..1');
  mode = 'match';
  attempts = 0;
  const untrusted = await hookServices({ caFile: null, retries: 0 }).engine.compare(reference, probe);
  t.equal(untrusted.decision, 'review', 'a certificate not from the configured CA is not trusted');
  t.equal(attempts, 0, 'nothing reached the server');
});

t.test('bad images are refused before anything is sent', async (t) => {
  const face = hookServices();
  seen.length = 0;
  await t.rejects(face.engine.compare(Buffer.from('GIF89a not really'), probe), { code: 'KYC_ERR_IMAGE_INVALID' });
  t.equal(seen.length, 0);
});
