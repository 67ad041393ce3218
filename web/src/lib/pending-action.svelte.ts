import { errorOf } from './labels.js';

/** A form's running action: `busy` while it runs, `error` (status and code) when it failed. */
export class PendingAction {
  busy = $state(false);
  error = $state<{ status: number; code: string } | null>(null);

  async run(fn: () => Promise<void>): Promise<void> {
    this.busy = true;
    this.error = null;
    try {
      await fn();
    } catch (err) {
      this.error = errorOf(err);
    } finally {
      this.busy = false;
    }
  }
}
