// Data-key unwrap latency: through a PKCS#11 token (SoftHSM2, AES-256-GCM inside the token, one session) against
// the file KEK, in the same run and through the same keyring the appliance uses (KeyringSet routes by kid). Each
// side: a warm-up, then N sequential unwraps of distinct wrapped keys, each timed; p50/p95 in milliseconds.
// Then the crypto-shredding throughput of the retention shredder (appliance/bench/shred.ts).
// Last line {"hsm_unwrap_p50_ms":…,"hsm_unwrap_p95_ms":…,"file_unwrap_p50_ms":…,"file_unwrap_p95_ms":…,"shred_items_per_s":…}.
//
//   npx tsx appliance/bench/keys.bench.ts [--n 2000] [--warmup 200]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FileKeyring, KeyringSet, LiveKeyring, Pkcs11Keyring, newDataKey, type WrappedKey } from '@kyc/compliance';
import { createSoftHsmToken } from '@kyc/compliance/testing';
import { measureShredThroughput } from './shred.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '2000' }, warmup: { type: 'string', default: '200' } } });
const N = Number(values.n);
const WARMUP = Number(values.warmup);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** Wraps N + WARMUP distinct data keys with `set`, then unwraps them one after another, timing each unwrap. */
async function measure(set: KeyringSet, label: string): Promise<{ p50: number; p95: number }> {
  const wrapped: Array<{ key: WrappedKey; context: string }> = [];
  for (let i = 0; i < N + WARMUP; i++) {
    const context = `bench-${label}-${i}`;
    wrapped.push({ key: await set.wrap(newDataKey(), context), context });
  }
  for (const w of wrapped.slice(0, WARMUP)) (await set.unwrap(w.key, w.context)).fill(0);
  const ms: number[] = [];
  for (const w of wrapped.slice(WARMUP)) {
    const start = process.hrtime.bigint();
    const key = await set.unwrap(w.key, w.context);
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
    key.fill(0);
  }
  ms.sort((a, b) => a - b);
  const r = { p50: percentile(ms, 50), p95: percentile(ms, 95) };
  console.log(`${label}: ${N} unwraps after ${WARMUP} warm-up, p50 ${round(r.p50)} ms, p95 ${round(r.p95)} ms, max ${round(ms[ms.length - 1]!)} ms (kid ${wrapped[0]!.key.kid})`);
  return r;
}

const dir = await mkdtemp(join(tmpdir(), 'kyc-bench-keys-'));
const token = createSoftHsmToken('kyc-bench');
const setup = await Pkcs11Keyring.open({ ...token, currentLabel: 'bench-kek', requireCurrent: false });
await setup.generateKey('bench-kek');
await setup.close();
const kekDir = join(dir, 'kek');
await FileKeyring.openOrCreate(kekDir);
const hsm = await Pkcs11Keyring.open({ ...token, currentLabel: 'bench-kek' });
const viaHsm = new KeyringSet('pkcs11', new LiveKeyring(kekDir), hsm);
const viaFile = new KeyringSet('file', new LiveKeyring(kekDir), hsm);
try {
  await viaFile.refresh();
  console.log(`SoftHSM2 token ${token.tokenLabel} (${token.module}); file KEK directory ${kekDir}`);
  const h = await measure(viaHsm, 'hsm');
  const f = await measure(viaFile, 'file');
  console.log(`HSM unwrap costs ${round(h.p50 / f.p50)}× the file KEK at p50`);
  const shred = await measureShredThroughput();
  console.log(`shredding: ${shred.items} items in ${round(shred.seconds)} s (the real retention shredder over expired cases)`);
  console.log(
    JSON.stringify({
      hsm_unwrap_p50_ms: round(h.p50),
      hsm_unwrap_p95_ms: round(h.p95),
      file_unwrap_p50_ms: round(f.p50),
      file_unwrap_p95_ms: round(f.p95),
      shred_items_per_s: round(shred.itemsPerSecond),
    }),
  );
} finally {
  await viaHsm.close();
  await rm(dir, { recursive: true, force: true });
}
