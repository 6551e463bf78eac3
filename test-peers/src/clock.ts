/**
 * One 20 ms clock shared by every media leg of the peer, as Asterisk's timing source drives every channel.
 * A setTimeout chain re-aimed at `origin + n * period` on each tick (never setInterval): errors of the
 * event loop do not accumulate, so the mean period is exact and the pace does not drift over a long call.
 * The timer runs only while something listens, so an idle peer lets the process exit.
 */
export type TickHandler = (now: number) => void;

/** When the loop stalls longer than this many ticks we re-anchor instead of bursting the backlog out. */
const MAX_CATCH_UP_TICKS = 10;

export class MediaClock {
  private readonly handlers = new Set<TickHandler>();
  private timer: NodeJS.Timeout | null = null;
  private origin = 0;
  private tick = 0;
  /** Ticks dispatched since start; useful for tests and reports. */
  ticks = 0;

  constructor(readonly periodMs = 20, private readonly onError: (err: unknown) => void = () => {}) {}

  /** Adds a handler called once per tick; returns the function that removes it. */
  add(handler: TickHandler): () => void {
    this.handlers.add(handler);
    if (!this.timer) this.start();
    return () => {
      this.handlers.delete(handler);
      if (this.handlers.size === 0) this.stop();
    };
  }

  private start(): void {
    this.origin = performance.now();
    this.tick = 0;
    this.schedule();
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    const due = this.origin + (this.tick + 1) * this.periodMs;
    this.timer = setTimeout(this.run, Math.max(0, due - performance.now()));
  }

  private readonly run = (): void => {
    this.timer = null;
    const now = performance.now();
    this.tick++;
    const behind = Math.floor((now - this.origin) / this.periodMs) - this.tick;
    if (behind > MAX_CATCH_UP_TICKS) {
      this.origin = now - this.tick * this.periodMs;
    }
    this.ticks++;
    for (const handler of this.handlers) {
      try {
        handler(now);
      } catch (err) {
        this.onError(err);
      }
    }
    if (this.handlers.size > 0 && !this.timer) this.schedule();
  };
}

/** The process-wide clock: every peer, leg and standalone caller ticks on it. */
export const sharedClock = new MediaClock(20);
