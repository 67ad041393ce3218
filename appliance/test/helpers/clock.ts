import type { Clock } from '../../src/lib/clock.js';

/** A clock that moves only when the test moves it: expiries are reached by advance(), not by waiting. */
export class ManualClock implements Clock {
  constructor(private ms: number = Date.now()) {}

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }

  set(ms: number): void {
    this.ms = ms;
  }
}
