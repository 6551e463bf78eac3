import type { Logger } from '@ai-agent/common';
import type { CallStore } from './types.ts';

export interface RetentionSettings {
  retentionDays: number;
  purgeIntervalMinutes: number;
}

const DAY_MS = 86_400_000;

/**
 * Deletes ended calls older than the retention period: once at start, then on one process-wide timer.
 * Settings are read at each run, so a reload applies from the next purge (the interval from the next start).
 */
export class RetentionJob {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: CallStore,
    private readonly settings: () => RetentionSettings,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Purges now; resolves to how many calls were deleted. */
  async runOnce(): Promise<number> {
    const cutoff = new Date(this.now() - this.settings().retentionDays * DAY_MS).toISOString();
    try {
      const deleted = await this.store.purgeEndedBefore(cutoff);
      if (deleted) this.log.info({ deleted, cutoff }, 'expired call records purged');
      return deleted;
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'call record purge failed');
      return 0;
    }
  }

  start(): void {
    if (this.timer) return;
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), this.settings().purgeIntervalMinutes * 60_000);
    // Housekeeping must never keep the process alive on its own.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
