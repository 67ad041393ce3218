// Replay range benchmark: one 48 MiB synthetic WebM sealed with the real encryptor, served by the appliance's
// media route (grant, auditor token, key unwrap, ranges decrypted on the fly) over HTTPS on loopback, against the
// same plaintext served by @fastify/static over HTTPS in the same run. Time to first byte over small ranges at
// random offsets, throughput over large ranges; ratios encrypted/plain (TTFB: lower is better, so ratio = enc/plain;
// throughput: ratio = plain/enc, so ≤ 1.5 is the target for both). Last line
// {"encrypted_ttfb_ratio":…,"encrypted_throughput_ratio":…}.
//
//   npx tsx appliance/bench/range.bench.ts [--mib 48] [--small 200] [--large 12]
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import fastifyStatic from '@fastify/static';
import pg from 'pg';
import { FileKeyring, encryptFile, newDataKey, recordingAad } from '@kyc/compliance';
import { ensureOwnTls } from '../src/pki/certificate-authority.js';
import { recordingRepository } from '../src/repositories/recording.repository.js';
import { freePort, startTestAppliance } from '../test/helpers/appliance.js';
import { insertSession } from '../test/helpers/recording-fixtures.js';
import { signInAtIdp } from '../test/helpers/idp-login.js';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '48' }, small: { type: 'string', default: '200' }, large: { type: 'string', default: '12' } } });
const SIZE = Number(values.mib) * 1024 * 1024;
const SMALL = Number(values.small);
const LARGE = Number(values.large);
const SMALL_BYTES = 64 * 1024;
const LARGE_BYTES = 16 * 1024 * 1024;

const teardowns: Array<() => unknown> = [];
const t = { teardown: (fn: () => unknown) => teardowns.push(fn) };
try {
  const a = await startTestAppliance(t, { listen: true, env: { KYC_WORKER_IN_PROCESS: 'false' } });
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 2 });
  t.teardown(() => pool.end());
  const { keyring } = await FileKeyring.openOrCreate(a.config.recording.kekDir);

  // Synthetic WebM: an EBML header, then incompressible bytes (what VP8 frames look like to a cipher).
  const plainDir = join(a.config.dataDir, 'plain');
  await mkdir(plainDir, { recursive: true, mode: 0o700 });
  const plain = Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), randomBytes(SIZE - 4)]);
  await writeFile(join(plainDir, 'teller-s01.webm'), plain);
  t.teardown(() => rm(plainDir, { recursive: true, force: true }));

  const { caseId, sessionId } = await insertSession(pool, { admittedAt: new Date(Date.now() - 3600_000), endedAt: new Date() });
  const rec = (await recordingRepository.createForSession(pool, { id: randomUUID(), sessionId, caseId }))!;
  const dataKey = newDataKey();
  const wrapped = await keyring.wrap(dataKey, rec.id);
  const folder = join(a.config.recording.archiveDir, rec.id);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const sealed = await encryptFile(join(plainDir, 'teller-s01.webm'), join(folder, 'teller-s01.webm.kseal'), dataKey, recordingAad(rec.id, 'teller-s01.webm'));
  dataKey.fill(0);
  await recordingRepository.setKeyOnce(pool, rec.id, wrapped.kid, wrapped.wrapped);
  await recordingRepository.replaceFiles(pool, rec.id, [
    {
      name: 'teller-s01.webm.kseal',
      kind: 'media',
      party: 'teller',
      segment: 1,
      durationMs: 600_000,
      plaintextBytes: sealed.plaintextBytes,
      plaintextSha256: sealed.plaintextSha256,
      ciphertextBytes: sealed.ciphertextBytes,
      ciphertextSha256: sealed.ciphertextSha256,
    },
  ]);
  await recordingRepository.markSealed(pool, rec.id, { manifest: {}, manifestSha256: '0'.repeat(64), complete: true, issues: [] });

  const token = await a.tokenFor('auditor1');
  const replay = await a.app.inject({ method: 'POST', url: `/api/recordings/${rec.id}/replay`, headers: { authorization: `Bearer ${token}` } });
  if (replay.statusCode !== 200) throw new Error(`replay: ${replay.statusCode} ${replay.body}`);
  const mediaUrl = `${a.baseUrl}${(replay.json() as { parties: Array<{ url: string }> }).parties[0]!.url}`;

  // the browser's way in: a session cookie from the sign-in flow (looked up in PostgreSQL on every request)
  const login = await a.app.inject({ method: 'GET', url: '/auth/login?returnTo=/archive' });
  const cookieOf = (setCookie: string | string[] | undefined, name: string): string => {
    for (const c of [setCookie ?? []].flat()) if (c.startsWith(`${name}=`)) return c.slice(name.length + 1).split(';')[0]!;
    throw new Error(`no ${name} cookie`);
  };
  const callback = await signInAtIdp(String(login.headers.location), 'auditor1', 'auditor1', a.baseUrl);
  const signedIn = await a.app.inject({
    method: 'GET',
    url: callback.pathname + callback.search,
    cookies: { '__Host-kyc_login': cookieOf(login.headers['set-cookie'], '__Host-kyc_login') },
  });
  const sessionCookie = `__Host-kyc_session=${cookieOf(signedIn.headers['set-cookie'], '__Host-kyc_session')}`;

  const tls = ensureOwnTls(a.config.dataDir, ['127.0.0.1', 'localhost']);
  const plainServer = Fastify({ logger: false, https: { cert: tls.cert, key: tls.key } });
  await plainServer.register(fastifyStatic, { root: plainDir, acceptRanges: true, cacheControl: false, etag: false, lastModified: false });
  const plainPort = await freePort();
  await plainServer.listen({ host: '127.0.0.1', port: plainPort });
  t.teardown(() => plainServer.close());
  const plainUrl = `https://127.0.0.1:${plainPort}/teller-s01.webm`;

  const ca = await readFile(a.caCertPath!);
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
  t.teardown(() => agent.destroy());
  const get = (url: string, from: number, to: number, headers: Record<string, string>) =>
    new Promise<{ ttfbMs: number; totalMs: number; bytes: Buffer }>((resolve, reject) => {
      const start = performance.now();
      let first = 0;
      const chunks: Buffer[] = [];
      const req = request(url, { agent, headers: { ...headers, range: `bytes=${from}-${to}` } }, (res) => {
        if (res.statusCode !== 206) reject(new Error(`${url}: ${res.statusCode}`));
        res.on('data', (c: Buffer) => {
          if (!first) first = performance.now();
          chunks.push(c);
        });
        res.on('end', () => resolve({ ttfbMs: first - start, totalMs: performance.now() - start, bytes: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  const targets = [
    { name: 'encrypted', url: mediaUrl, headers: { authorization: `Bearer ${token}` } },
    { name: 'plaintext', url: plainUrl, headers: {} },
    { name: 'session', url: mediaUrl, headers: { cookie: sessionCookie } },
  ] as const;

  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const ttfb: Record<string, number[]> = { encrypted: [], plaintext: [], session: [] };
  const mbps: Record<string, number[]> = { encrypted: [], plaintext: [] };
  for (const target of targets) await get(target.url, 0, 1023, target.headers); // connection and TLS set up
  // Interleaved, so both see the same machine state; every answer is checked against the plaintext.
  for (let i = 0; i < SMALL; i++) {
    const from = randomInt(0, SIZE - SMALL_BYTES);
    for (const target of targets) {
      const r = await get(target.url, from, from + SMALL_BYTES - 1, target.headers);
      if (!r.bytes.equals(plain.subarray(from, from + SMALL_BYTES))) throw new Error(`${target.name}: wrong bytes`);
      ttfb[target.name]!.push(r.ttfbMs);
    }
  }
  for (let i = 0; i < LARGE; i++) {
    const from = randomInt(0, SIZE - LARGE_BYTES);
    for (const target of targets.slice(0, 2)) {
      const r = await get(target.url, from, from + LARGE_BYTES - 1, target.headers);
      if (!r.bytes.equals(plain.subarray(from, from + LARGE_BYTES))) throw new Error(`${target.name}: wrong bytes`);
      mbps[target.name]!.push(LARGE_BYTES / 1024 / 1024 / (r.totalMs / 1000));
    }
  }
  console.log(
    `encrypted, browser session cookie instead of a bearer token: TTFB median ${median(ttfb.session!).toFixed(2)} ms, ratio ${(median(ttfb.session!) / median(ttfb.plaintext!)).toFixed(3)}`,
  );
  for (const target of targets.slice(0, 2)) {
    console.log(
      `${target.name.padEnd(10)} TTFB 64 KiB ranges: median ${median(ttfb[target.name]!).toFixed(2)} ms (n=${SMALL}); 16 MiB ranges: median ${median(mbps[target.name]!).toFixed(0)} MiB/s (n=${LARGE})`,
    );
  }
  const ttfbRatio = median(ttfb.encrypted!) / median(ttfb.plaintext!);
  const throughputRatio = median(mbps.plaintext!) / median(mbps.encrypted!);
  console.log(JSON.stringify({ encrypted_ttfb_ratio: Number(ttfbRatio.toFixed(3)), encrypted_throughput_ratio: Number(throughputRatio.toFixed(3)) }));
} finally {
  for (const fn of teardowns.reverse()) await Promise.resolve(fn()).catch(() => undefined);
}
