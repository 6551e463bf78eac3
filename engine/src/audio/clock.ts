/**
 * Time source for the pacer. Production uses the process's monotonic clock; tests inject a simulated one to
 * check an hour of scheduling in milliseconds of real time.
 */
export interface PacerClock {
  /** Monotonic milliseconds (fractional). Never goes backwards, unaffected by wall-clock changes. */
  now(): number;
  /** Calls `fn` once after about `delayMs`. */
  setTimer(fn: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

export const monotonicClock: PacerClock = {
  // A double from the same monotonic source as process.hrtime, without a BigInt allocation per reading.
  now: () => performance.now(),
  setTimer: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
