import { monotonicClock, type PacerClock } from './clock.ts';

/** One participant of the shared clock (a call's media stream). */
export interface PacedSink {
  /** Send exactly one frame of outbound audio (wire timing comes first in each tick). */
  sendTick(tick: number): void;
  /** Release one frame of inbound audio to the pipeline. */
  receiveTick(tick: number): void;
}

export interface PacerStats {
  /** Ticks run. */
  ticks: number;
  /** Ticks skipped after a stall instead of being run in a burst. */
  skippedTicks: number;
  /** Ticks that ran later than `lateThresholdMs` after their due time. */
  lateTicks: number;
  /** Exceptions thrown by a sink (caught so one call cannot stop the clock for the others). */
  sinkErrors: number;
  sinks: number;
}

export interface PacerOptions {
  frameMs?: number;
  clock?: PacerClock;
  /** A tick later than this counts as late (statistics only). */
  lateThresholdMs?: number;
  onSinkError?: (err: unknown) => void;
}

/**
 * A tick may run this much before its due time. Timers resolve whole milliseconds (plus the kernel's timer
 * slack), so waking within half a millisecond either side is the precision to be had without busy-waiting,
 * which would hold the event loop (every call's media) for the rest of each millisecond.
 */
const EARLY_MS = 0.5;

/**
 * The one 20 ms clock shared by every call. Ticks are scheduled against an absolute monotonic timeline
 * (origin + n × frame), so timer lateness never accumulates into drift. After a stall (GC, blocked event
 * loop) the missed ticks are skipped and counted, never run back to back: a burst would overflow the far
 * end's buffer and be heard as a glitch anyway, whereas a skip only delays the audio still queued.
 */
export class Pacer {
  readonly frameMs: number;
  readonly stats: PacerStats = { ticks: 0, skippedTicks: 0, lateTicks: 0, sinkErrors: 0, sinks: 0 };
  private readonly clock: PacerClock;
  private readonly lateThresholdMs: number;
  private readonly onSinkError: (err: unknown) => void;
  private readonly sinks = new Set<PacedSink>();
  private origin = 0;
  private nextTick = 0;
  private timer: unknown = null;
  /**
   * Delay of each tick behind its due time (down to -EARLY_MS), for the benchmark and pacing tests (ring of the
   * last 4096).
   */
  readonly lateness = new Float64Array(4096);

  constructor(options: PacerOptions = {}) {
    this.frameMs = options.frameMs ?? 20;
    this.clock = options.clock ?? monotonicClock;
    this.lateThresholdMs = options.lateThresholdMs ?? 2;
    this.onSinkError = options.onSinkError ?? (() => {});
  }

  /** Adds a sink; returns the function that removes it. The clock runs only while it has sinks. */
  add(sink: PacedSink): () => void {
    this.sinks.add(sink);
    this.stats.sinks = this.sinks.size;
    if (this.timer === null) this.start();
    return () => this.remove(sink);
  }

  remove(sink: PacedSink): void {
    this.sinks.delete(sink);
    this.stats.sinks = this.sinks.size;
    if (this.sinks.size === 0) this.stop();
  }

  /** Number of the tick that runs next: a frame sent ahead of it carries its place on the timeline. */
  get upcomingTick(): number {
    return this.nextTick;
  }

  /** Milliseconds from now until the next tick is due (for tests that align with the clock). */
  get msUntilNextTick(): number {
    return this.origin + this.nextTick * this.frameMs - this.clock.now();
  }

  private start(): void {
    this.origin = this.clock.now();
    this.nextTick = 0;
    this.schedule();
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    const due = this.origin + this.nextTick * this.frameMs;
    // Rounded, the whole-millisecond timer is aimed within half a millisecond of the due time; one that still
    // fires too early is simply aimed again.
    this.timer = this.clock.setTimer(this.onTimer, Math.max(0, Math.round(due - this.clock.now())));
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    const now = this.clock.now();
    const elapsedTicks = Math.floor((now - this.origin + EARLY_MS) / this.frameMs);
    if (elapsedTicks >= this.nextTick) {
      if (elapsedTicks > this.nextTick) {
        this.stats.skippedTicks += elapsedTicks - this.nextTick;
        this.nextTick = elapsedTicks;
      }
      const late = now - (this.origin + this.nextTick * this.frameMs);
      this.lateness[this.stats.ticks & 4095] = late;
      if (late > this.lateThresholdMs) this.stats.lateTicks++;
      this.runTick(this.nextTick);
      this.stats.ticks++;
      this.nextTick++;
    }
    if (this.sinks.size > 0) this.schedule();
  };

  private runTick(tick: number): void {
    // Two passes: every call's outbound frame goes on the wire before any inbound frame is handed to the
    // pipeline, whose listeners may do real work.
    for (const sink of this.sinks) {
      try {
        sink.sendTick(tick);
      } catch (err) {
        this.stats.sinkErrors++;
        this.onSinkError(err);
      }
    }
    for (const sink of this.sinks) {
      try {
        sink.receiveTick(tick);
      } catch (err) {
        this.stats.sinkErrors++;
        this.onSinkError(err);
      }
    }
  }
}

let shared: Pacer | null = null;

/** The process-wide pacer every transport uses unless a test passes its own. */
export function sharedPacer(): Pacer {
  shared ??= new Pacer();
  return shared;
}
