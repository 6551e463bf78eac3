import { Prng } from './prng.ts';

/**
 * Network impairments for one direction of one media leg: loss (independent and Gilbert–Elliott bursts),
 * duplication, reordering and jitter, all drawn from a seeded PRNG so a run can be replayed exactly.
 * Delayed packets wait in one time-ordered queue per impairer served by a single timer, so a large jitter
 * naturally reorders packets the way a real network (and netem) does.
 */
export type JitterDistribution =
  | { distribution: 'uniform'; minMs?: number; maxMs: number }
  | { distribution: 'normal'; meanMs: number; stdMs: number }
  | { distribution: 'pareto'; scaleMs: number; shape: number; maxMs?: number };

export interface BurstLoss {
  /** Probability per packet of moving from the good to the bad state. */
  pGoodToBad: number;
  /** Probability per packet of moving from the bad to the good state. */
  pBadToGood: number;
  /** Loss probability while bad (default 1). */
  lossInBad?: number;
  /** Loss probability while good (default 0). */
  lossInGood?: number;
}

export interface ImpairmentOptions {
  seed?: number;
  /** Independent loss probability per packet. */
  loss?: number;
  burst?: BurstLoss;
  /** Probability that a packet is delivered twice. */
  duplicate?: number;
  /** Probability that a packet is held back and delivered right after the next one. */
  reorder?: number;
  jitter?: JitterDistribution;
}

export interface ImpairmentStats {
  offered: number;
  delivered: number;
  lost: number;
  duplicated: number;
  reordered: number;
  /** Delay applied to each delivered packet (ms), for checking the distribution. */
  delaysMs: number[];
}

interface Pending {
  due: number;
  seq: number;
  packet: Buffer;
}

/** Pareto tails are capped so one draw cannot stall a stream for minutes. */
const DEFAULT_PARETO_CAP_MS = 1000;

export class Impairer {
  readonly stats: ImpairmentStats = { offered: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, delaysMs: [] };
  private readonly rng: Prng;
  private bad = false;
  private held: Buffer | null = null;
  private readonly queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private order = 0;
  private closed = false;

  constructor(private readonly opts: ImpairmentOptions, private readonly deliver: (packet: Buffer) => void) {
    this.rng = new Prng(opts.seed ?? 1);
  }

  /** True when the options would change nothing (callers then skip the impairer entirely). */
  static isNoop(opts: ImpairmentOptions | undefined): boolean {
    return !opts || (!opts.loss && !opts.burst && !opts.duplicate && !opts.reorder && !opts.jitter);
  }

  send(packet: Buffer): void {
    if (this.closed) return;
    this.stats.offered++;
    if (this.isLost()) {
      this.stats.lost++;
      return;
    }
    if (this.opts.reorder && !this.held && this.rng.next() < this.opts.reorder) {
      this.held = packet;
      this.stats.reordered++;
      return;
    }
    this.schedule(packet);
    if (this.opts.duplicate && this.rng.next() < this.opts.duplicate) {
      this.stats.duplicated++;
      this.schedule(packet);
    }
    if (this.held) {
      const late = this.held;
      this.held = null;
      this.schedule(late);
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.held = null;
  }

  private isLost(): boolean {
    const { loss, burst } = this.opts;
    let lost = false;
    if (burst) {
      if (this.bad) {
        if (this.rng.next() < burst.pBadToGood) this.bad = false;
      } else if (this.rng.next() < burst.pGoodToBad) {
        this.bad = true;
      }
      const p = this.bad ? burst.lossInBad ?? 1 : burst.lossInGood ?? 0;
      lost = this.rng.next() < p;
    }
    if (!lost && loss) lost = this.rng.next() < loss;
    return lost;
  }

  private delayMs(): number {
    const j = this.opts.jitter;
    if (!j) return 0;
    switch (j.distribution) {
      case 'uniform': {
        const min = j.minMs ?? 0;
        return min + this.rng.next() * (j.maxMs - min);
      }
      case 'normal':
        return Math.max(0, j.meanMs + j.stdMs * this.rng.normal());
      case 'pareto': {
        let u = this.rng.next();
        if (u === 0) u = Number.MIN_VALUE;
        const d = j.scaleMs * (Math.pow(u, -1 / j.shape) - 1);
        return Math.min(d, j.maxMs ?? DEFAULT_PARETO_CAP_MS);
      }
    }
  }

  private schedule(packet: Buffer): void {
    const delay = this.delayMs();
    this.stats.delaysMs.push(delay);
    if (delay <= 0 && this.queue.length === 0) {
      this.stats.delivered++;
      this.deliver(packet);
      return;
    }
    const item: Pending = { due: performance.now() + delay, seq: this.order++, packet };
    // Insertion keeps the queue sorted by due time; queues stay short (jitter window / 20 ms).
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1].due > item.due) i--;
    this.queue.splice(i, 0, item);
    this.arm();
  }

  private arm(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(this.flush, Math.max(0, this.queue[0].due - performance.now()));
  }

  private readonly flush = (): void => {
    this.timer = null;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0].due <= now + 0.5) {
      const item = this.queue.shift()!;
      this.stats.delivered++;
      this.deliver(item.packet);
    }
    this.arm();
  };
}
