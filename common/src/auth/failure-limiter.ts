import { isIP } from 'node:net';

/** Groups of an IPv6 address, all eight, from its textual form (compressed, zoned or with a dotted tail). */
function ipv6Groups(address: string): string[] {
  let text = address.split('%')[0]!.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const middle = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((g) => g.replace(/^0+(?=.)/, ''));
}

/**
 * What failures are counted under: an IPv4 address as is (IPv4-mapped IPv6 included), an IPv6 address by its
 * /64, because one host is usually given a whole /64 and could rotate through it to evade a per-address count.
 */
export function failureSourceKey(address: string): string {
  const mapped = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(mapped) === 4) return mapped;
  if (isIP(address.split('%')[0]!) !== 6) return address;
  return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
}

/**
 * Counts failed authentication per source (see failureSourceKey). A source over `max` failures within the
 * window is blocked: its wrong credentials are refused early and no longer logged one by one. A right
 * credential is never blocked (callers check it first): failures from one client, possibly on the same
 * address, must not lock out another that authenticates. Guessing is made hopeless by the minimum token
 * length, not by this limiter.
 */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private max = 10,
    private readonly windowMs = 60_000,
    private readonly maxTracked = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Applies a new limit at once (a config reload), keeping the counts so far. */
  setMax(max: number): void {
    this.max = max;
  }

  isBlocked(address: string): boolean {
    const key = failureSourceKey(address);
    const entry = this.failures.get(key);
    if (!entry) return false;
    if (entry.resetAt <= this.now()) {
      this.failures.delete(key);
      return false;
    }
    return entry.count >= this.max;
  }

  recordFailure(address: string): void {
    const key = failureSourceKey(address);
    const now = this.now();
    const entry = this.failures.get(key);
    if (entry && entry.resetAt > now) {
      entry.count += 1;
      return;
    }
    if (this.failures.size >= this.maxTracked) this.failures.delete(this.failures.keys().next().value as string);
    this.failures.set(key, { count: 1, resetAt: now + this.windowMs });
  }
}
