// make bench-join: how long from the customer's join click (consent given, teller admitted, teller already
// live in the room) until both parties decode each other's video. Real Janus, relay and two headless
// Chromium pages inside a private network namespace (needs root). Prints one line per run, then the summary;
// the last line is JSON.
import { startCallStack } from '../test/harness/call-stack.js';

const RUNS = 12;
const WARMUP = 1;
const DEADLINE_MS = 20_000;

function percentile(sorted: number[], p: number): number {
  // Nearest rank: the smallest value with at least p% of the runs at or below it.
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const teardowns: (() => unknown)[] = [];
  const stack = await startCallStack({ teardown: (fn) => teardowns.push(fn) });
  try {
    const tellerBrowser = await stack.launchBrowser();
    const customerBrowser = await stack.launchBrowser();
    const tellerPage = await tellerBrowser.newPage();
    const customerPage = await customerBrowser.newPage();
    const open = (page: typeof tellerPage, token: string) => page.goto(`${stack.baseUrl}/call?token=${encodeURIComponent(token)}`);

    const results: number[] = [];
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const session = `bench-${i}`;
      await open(tellerPage, stack.credential(session, 'teller'));
      await open(customerPage, stack.credential(session, 'customer'));
      // The teller is in the room and sending before the customer is admitted.
      await tellerPage.evaluate('window.__start()');
      await tellerPage.waitForFunction("window.__client.state === 'live'", undefined, { timeout: DEADLINE_MS });

      const clicked = (await customerPage.evaluate('window.__start()')) as number;
      const [tellerSees, customerSees] = (await Promise.all([
        tellerPage.evaluate(`window.__decoding(0, ${DEADLINE_MS})`),
        customerPage.evaluate(`window.__decoding(0, ${DEADLINE_MS})`),
      ])) as [number, number];
      const joinMs = Math.max(tellerSees, customerSees) - clicked;
      const line = `run ${i + 1 - WARMUP}: join ${joinMs.toFixed(0)} ms (customer decodes at ${(customerSees - clicked).toFixed(0)} ms, teller at ${(tellerSees - clicked).toFixed(0)} ms)`;
      if (i < WARMUP) process.stdout.write(`warm-up ${line.slice(line.indexOf(':') + 2)}\n`);
      else {
        results.push(joinMs);
        process.stdout.write(`${line}\n`);
      }
      await stack.hub.endSession(session, 'benchmark run over');
    }

    const sorted = [...results].sort((a, b) => a - b);
    const p50 = Math.round(percentile(sorted, 50));
    const p95 = Math.round(percentile(sorted, 95));
    process.stdout.write(
      `join → both decoding over ${RUNS} runs: p50 ${p50} ms, p95 ${p95} ms, min ${Math.round(sorted[0] ?? 0)} ms, max ${Math.round(sorted.at(-1) ?? 0)} ms (target p50 ≤ 1000 ms)\n`,
    );
    process.stdout.write(`${JSON.stringify({ join_p50_ms: p50, join_p95_ms: p95 })}\n`);
  } finally {
    for (const fn of teardowns.reverse()) await fn();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-join failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
