// make bench-capacity: how many recorded 1:1 calls one box carries. Synthetic parties speaking real WebRTC (werift,
// replaying pre-encoded VP8 + Opus, in party processes of their own) hold K calls at once through the real appliance
// (HTTPS API, signaling, in-process seal worker) and our Janus inside a network namespace (needs root). K ramps up
// (--start, --step, --max) holding each step --hold seconds; a step passes when every call joined, every recorded
// stream is continuous (no RTP packet missing, no pause of GAP_PAUSE_MS or more in the .mjr files, read at the end of
// the hold) and every recording, once the teller hung up, sealed complete. The ramp stops at the first failing step.
//
// Measured during each hold from /proc/<pid>/stat and status: CPU and RSS of Janus + the appliance process (which
// also runs the seal worker; nothing is sealed during a hold). The parties' own CPU is printed apart. Per call:
// CPU% / K, and RSS above the idle figure (before any call) / K, at the largest passing K. The last line is JSON;
// sealed_complete is true when every recording of every step run sealed complete.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import {
  GAP_PAUSE_MS,
  hangUpSyntheticCall,
  openSyntheticCall,
  partyStats,
  recordingContinuity,
  startSyntheticCallStack,
  waitSealed,
  type SyntheticCall,
} from '../test/harness/synthetic-calls.js';
import type { PartyHost } from '../test/harness/synthetic-party.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

const STEP = option('step', 10);
const START = option('start', STEP);
const MAX = option('max', 60);
const HOLD_S = option('hold', 30);
const HOSTS = option('hosts', 2);
/** --no-subscribe: the parties only publish (Janus records and forwards nothing), to see what forwarding costs */
const SUBSCRIBE = !process.argv.includes('--no-subscribe');
/** calls being opened at the same time */
const OPEN_CONCURRENCY = option('open-concurrency', 4);

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** user and system CPU seconds of a process so far */
function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15
  return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK };
}

const cpuSeconds = (pid: number) => {
  const t = cpuTimes(pid);
  return t.user + t.system;
};
const partiesSystemSeconds = (hosts: PartyHost[]) => hosts.reduce((x, h) => x + cpuTimes(h.pid).system, 0);

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Runs `fn` over `items`, at most `n` at a time. */
async function pool<T, R>(items: T[], n: number, fn: (x: T, i: number) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const out: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i).then(
          (value) => ({ status: 'fulfilled', value }) as const,
          (reason: unknown) => ({ status: 'rejected', reason }) as const,
        );
      }
    }),
  );
  return out;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

interface StepResult {
  k: number;
  pass: boolean;
  cpuPct: number;
  rssMb: number;
}

async function main(): Promise<void> {
  const teardowns: (() => unknown)[] = [];
  const log = (line: string) => process.stdout.write(`${line}\n`);
  // interrupted (Ctrl-C, a timeout): still remove the namespace, Janus and the party processes
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void (async () => {
        for (const fn of teardowns.reverse()) await Promise.resolve(fn()).catch(() => undefined);
        process.exit(130);
      })();
    });
  }
  try {
    const s = await startSyntheticCallStack({ teardown: (fn) => teardowns.push(fn) }, { partyHosts: HOSTS, sealConcurrency: 4 });
    const measured = { janus: s.janus.process().pid, appliance: process.pid };
    const idleRss = rssMb(measured.janus) + rssMb(measured.appliance);
    log(
      `machine: ${(await import('node:os')).cpus().length} cores, load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(
          ' ',
        )}; measured: Janus (pid ${measured.janus}) + appliance with in-process worker (pid ${measured.appliance}); parties: ${HOSTS} werift processes${SUBSCRIBE ? '' : ', publishing only (no subscriptions)'}`,
    );
    log(`idle RSS (Janus + appliance): ${round(idleRss)} MB; ramp ${START}..${MAX} step ${STEP}, hold ${HOLD_S} s`);

    const steps: StepResult[] = [];
    let sealedAll = 0;
    let recordingsAll = 0;
    let failedSeal = false;
    for (let k = START; k <= MAX; k += STEP) {
      const t0 = Date.now();
      // teller and customer in different party processes where there are two
      const pairs = Array.from({ length: k }, (_, i) => [s.hosts[i % s.hosts.length], s.hosts[(i + 1) % s.hosts.length]] as [PartyHost, PartyHost]);
      const opened = await pool(pairs, OPEN_CONCURRENCY, (pair) => openSyntheticCall(s, pair, { subscribe: SUBSCRIBE }));
      const calls = opened.filter((r): r is PromiseFulfilledResult<SyntheticCall> => r.status === 'fulfilled').map((r) => r.value);
      const joinFailures = opened.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason instanceof Error ? r.reason.message : String(r.reason)));
      const openS = (Date.now() - t0) / 1000;

      const cpu0 = {
        janus: cpuSeconds(measured.janus),
        janusSystem: cpuTimes(measured.janus).system,
        appliance: cpuSeconds(measured.appliance),
        parties: s.hosts.reduce((x, h) => x + cpuSeconds(h.pid), 0),
        partiesSystem: partiesSystemSeconds(s.hosts),
      };
      const h0 = performance.now();
      const rssSamples: number[] = [];
      for (let i = 0; i < HOLD_S; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        rssSamples.push(rssMb(measured.janus) + rssMb(measured.appliance));
      }
      const wall = (performance.now() - h0) / 1000;
      const pct = (now: number, before: number) => ((now - before) / wall) * 100;
      const cpu = {
        janus: pct(cpuSeconds(measured.janus), cpu0.janus),
        appliance: pct(cpuSeconds(measured.appliance), cpu0.appliance),
        parties: pct(
          s.hosts.reduce((x, h) => x + cpuSeconds(h.pid), 0),
          cpu0.parties,
        ),
        // kernel time (UDP sends and receives) within the above
        janusSystem: pct(cpuTimes(measured.janus).system, cpu0.janusSystem),
        partiesSystem: pct(partiesSystemSeconds(s.hosts), cpu0.partiesSystem),
      };
      const rss = Math.max(...rssSamples);
      const load = loadavg()[0] ?? 0;

      // continuity of every recorded stream, read while the calls are still up
      let gapStreams = 0;
      let lostPackets = 0;
      let maxPause = 0;
      let streams = 0;
      let disconnected = 0;
      const gapExamples: string[] = [];
      for (const call of calls) {
        const cont = await recordingContinuity(join(s.a.config.recording.dir, call.sessionId));
        if (cont.length !== 4) {
          gapStreams += 4 - cont.length;
          gapExamples.push(`${call.sessionId}: ${cont.length} streams recorded`);
        }
        for (const x of cont) {
          streams++;
          lostPackets += x.lost;
          maxPause = Math.max(maxPause, x.maxPauseMs);
          if (x.lost > 0 || x.maxPauseMs >= GAP_PAUSE_MS || x.packets === 0) {
            gapStreams++;
            if (gapExamples.length < 3) gapExamples.push(`${x.file}: ${x.lost} lost, pause ${x.maxPauseMs} ms`);
          }
        }
        const st = await partyStats(call);
        for (const p of [st.teller, st.customer]) if (!p || p.publisher !== 'connected' || p.closedCode !== null) disconnected++;
      }

      // printed before the seals are awaited (which can take minutes on a loaded machine)
      log(
        `K=${k} held ${HOLD_S} s: joined ${calls.length}/${k} in ${round(openS)} s; streams ${streams} with gaps ${gapStreams} (lost packets ${lostPackets}, longest pause ${maxPause} ms); parties disconnected ${disconnected}; ` +
          `CPU Janus ${round(cpu.janus)}% (system ${round(cpu.janusSystem)}%) + appliance ${round(cpu.appliance)}% (parties ${round(cpu.parties)}%, system ${round(cpu.partiesSystem)}%); RSS ${round(rss)} MB; load ${load.toFixed(2)}`,
      );
      await pool(calls, 8, (call) => hangUpSyntheticCall(s, call));
      const sealStart = Date.now();
      const seals = await pool(calls, 8, (call) => waitSealed(s, call.sessionId, 600_000));
      const sealS = (Date.now() - sealStart) / 1000;
      const sealed = seals.filter((r) => r.status === 'fulfilled' && r.value.status === 'sealed' && r.value.complete === true).length;
      const sealIssues = seals.flatMap((r) => (r.status === 'fulfilled' ? r.value.issues.filter((i) => i.severity === 'error').map((i) => i.message) : [String(r.reason)])).slice(0, 3);
      sealedAll += sealed;
      recordingsAll += calls.length;
      if (sealed < calls.length) failedSeal = true;

      const pass = joinFailures.length === 0 && gapStreams === 0 && disconnected === 0 && sealed === k;
      steps.push({ k, pass, cpuPct: cpu.janus + cpu.appliance, rssMb: rss });
      log(
        `K=${k}: ${pass ? 'PASS' : 'FAIL'} sealed complete ${sealed}/${k} in ${round(sealS)} s after the hang-up; CPU per call ${round((cpu.janus + cpu.appliance) / k, 2)}% (parties ${round(cpu.parties / k, 2)}%)`,
      );
      for (const f of joinFailures.slice(0, 3)) log(`  join failure: ${f}`);
      for (const g of gapExamples) log(`  gap: ${g}`);
      for (const i of sealIssues) log(`  seal: ${i}`);
      if (!pass) break;
    }

    const best = steps.filter((x) => x.pass).at(-1);
    const figures = {
      max_calls_no_gaps: best?.k ?? 0,
      cpu_pct_per_call: best ? round(best.cpuPct / best.k, 2) : null,
      rss_mb_per_call: best ? round((best.rssMb - idleRss) / best.k, 2) : null,
      sealed_complete: !failedSeal && recordingsAll > 0,
    };
    log(
      `largest K without a failed join, a gap or an incomplete seal: ${figures.max_calls_no_gaps} (target ≥ 40); per call: ${figures.cpu_pct_per_call}% CPU (Janus + appliance, 100% = one core), ${figures.rss_mb_per_call} MB RSS above idle; recordings sealed complete: ${sealedAll}/${recordingsAll}`,
    );
    log(JSON.stringify(figures));
  } finally {
    for (const fn of teardowns.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench-capacity failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
