/**
 * Counts failed authentication per remote address; once an address has failed `max` times within the window
 * it is refused before any credential is checked, which makes guessing tokens slow.
 */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly max = 10,
    private readonly windowMs = 60_000,
    private readonly maxTracked = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  isBlocked(address: string): boolean {
    const entry = this.failures.get(address);
    if (!entry) return false;
    if (entry.resetAt <= this.now()) {
      this.failures.delete(address);
      return false;
    }
    return entry.count >= this.max;
  }

  recordFailure(address: string): void {
    const now = this.now();
    const entry = this.failures.get(address);
    if (entry && entry.resetAt > now) {
      entry.count += 1;
      return;
    }
    if (this.failures.size >= this.maxTracked) this.failures.delete(this.failures.keys().next().value as string);
    this.failures.set(address, { count: 1, resetAt: now + this.windowMs });
  }
}
