import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@ai-agent/common';

/**
 * How a store waits for a database that stopped answering: pauses that double per failed attempt up to a ceiling,
 * with jitter so engines that lost the same database do not all come back in step; one warning when the outage
 * begins and one line when it ends, however many attempts it took.
 */
export class DatabaseOutage {
  private since: number | null = null;
  private attempts = 0;
  private pause: AbortController | null = null;

  constructor(
    private readonly log: Logger,
    private readonly limits: { retryMinMs: number; retryMaxMs: number },
  ) {}

  get active(): boolean {
    return this.since !== null;
  }

  /** An attempt failed: noted, then the pause before the next one. `hurry`: short pauses only (the store is closing). */
  async failed(reason: string, waitingWrites: number, hurry: boolean): Promise<void> {
    if (this.since === null) {
      this.since = performance.now();
      this.attempts = 0;
      this.log.warn({ reason, waiting: waitingWrites }, 'call database unavailable: records wait and are retried');
    } else {
      this.log.debug({ reason, attempt: this.attempts }, 'call database still unavailable');
    }
    const ceiling = hurry ? this.limits.retryMinMs * 4 : this.limits.retryMaxMs;
    const ms = Math.min(ceiling, this.limits.retryMinMs * 2 ** this.attempts++) * (0.8 + Math.random() * 0.4);
    this.pause = new AbortController();
    await sleep(ms, undefined, { signal: this.pause.signal }).catch(() => undefined);
    this.pause = null;
  }

  /** An attempt succeeded: the outage, if there was one, is over. */
  recovered(waitingWrites: number): void {
    if (this.since === null) return;
    const downMs = Math.round(performance.now() - this.since);
    this.since = null;
    this.log.info({ downMs, attempts: this.attempts, waiting: waitingWrites }, 'call database available again');
  }

  /** Ends the current pause now (the next attempt follows at once). */
  retryNow(): void {
    this.pause?.abort();
  }
}
