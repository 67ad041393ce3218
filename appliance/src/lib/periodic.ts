export interface Periodic {
  /** ends the schedule and waits for a run under way */
  stop(): Promise<void>;
}

/**
 * A background task of the process: run once now (awaited, so start-up finishes it first), then every `everyMs`,
 * never two runs at once. A failed run goes to `onError` and the schedule carries on.
 */
export async function startPeriodic(task: () => Promise<unknown>, everyMs: number, onError: (err: unknown) => void): Promise<Periodic> {
  let running: Promise<void> | null = null;
  let stopped = false;
  const run = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    running ??= task()
      .then(() => undefined, onError)
      .finally(() => {
        running = null;
      });
    return running;
  };
  await run();
  const timer = setInterval(() => void run(), everyMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
