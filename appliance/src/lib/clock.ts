/**
 * Where the appliance reads the time for its own expiries (sessions, cached tokens, service offers). One clock is
 * built in the composition root and passed down; tests pass a clock they move by hand instead of waiting.
 */
export interface Clock {
  /** milliseconds since the epoch */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The clock's time as a Date (for rows and token checks). */
export const clockDate = (clock: Clock): Date => new Date(clock.now());
