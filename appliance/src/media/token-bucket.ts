/**
 * A token bucket: `burst` frames at once, refilled at `ratePerSec`. The clock is a parameter so that the
 * limiter is a pure function of the times it is asked at.
 */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    readonly burst: number,
    readonly ratePerSec: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(burst >= 1) || !(ratePerSec > 0)) throw new RangeError('burst must be ≥ 1 and ratePerSec > 0');
    this.#tokens = burst;
    this.#last = now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const t = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#last) / 1000) * this.ratePerSec);
    this.#last = t;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
