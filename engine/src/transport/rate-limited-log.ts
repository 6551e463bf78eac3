import type { Logger } from '@ai-agent/common';

/**
 * Logs at most one line per reason per interval, with the number of occurrences folded into it, so a flood
 * of bad packets costs a counter increment each instead of a log line each.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly log: Logger, private readonly intervalMs = 10_000, private readonly now = () => performance.now()) {}

  warn(reason: string, fields: Record<string, unknown>, message: string): void {
    const t = this.now();
    const entry = this.last.get(reason);
    if (entry && t - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(reason, { at: t, suppressed: 0 });
    this.log.warn({ ...fields, reason, suppressed }, message);
  }
}
