/**
 * Failed logins per (user name, source address). `maxFailures` within `lockoutMs` lock the pair for
 * `lockoutMs`, then it is forgiven. Keyed by the pair, so an attacker elsewhere cannot lock the real admin out of their own address,
 * and every lock expires. Bounded: the oldest entry goes first when `maxTracked` is reached.
 */
export class LoginLockout {
  private readonly entries = new Map<string, { failures: number; firstAt: number; lockedUntil: number }>();

  constructor(
    private readonly maxFailures: number,
    private readonly lockoutMs: number,
    private readonly maxTracked = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  private key(user: string, source: string): string {
    return `${user.toLowerCase()}\u0000${source}`;
  }

  isLocked(user: string, source: string): boolean {
    const entry = this.entries.get(this.key(user, source));
    if (!entry || entry.lockedUntil === 0) return false;
    if (entry.lockedUntil > this.now()) return true;
    this.entries.delete(this.key(user, source));
    return false;
  }

  /** True when this failure locked the pair. */
  fail(user: string, source: string): boolean {
    const key = this.key(user, source);
    const now = this.now();
    const known = this.entries.get(key);
    // Failures spread wider than the lockout period are forgiven, so a lock needs a burst, not a month of typos.
    const entry = known && now - known.firstAt < this.lockoutMs ? known : { failures: 0, firstAt: now, lockedUntil: 0 };
    entry.failures += 1;
    if (entry.failures >= this.maxFailures) entry.lockedUntil = now + this.lockoutMs;
    this.entries.delete(key);
    if (this.entries.size >= this.maxTracked) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, entry);
    return entry.lockedUntil !== 0;
  }

  succeed(user: string, source: string): void {
    this.entries.delete(this.key(user, source));
  }
}
