import { Concealer } from '../audio/plc.ts';
import { SampleQueue } from '../audio/sample-queue.ts';
import type { InboundFrameKind, JitterBufferStats } from '../call/index.ts';

export interface JitterBufferOptions {
  sampleRate: number;
  /** Samples per released frame (20 ms at `sampleRate`). */
  frameSamples: number;
  /** Monotonic ms. */
  now: () => number;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Packets held at most (reordering window). Power of two. */
  capacity?: number;
  /** Largest packet accepted, in samples. */
  maxPacketSamples?: number;
}

interface Slot {
  seq: number;
  samples: Int16Array;
  length: number;
  filled: boolean;
}

const SEQ_MOD = 0x10000;

/** Signed distance a − b in 16-bit sequence space. */
function seqDiff(a: number, b: number): number {
  return ((a - b + SEQ_MOD + SEQ_MOD / 2) % SEQ_MOD) - SEQ_MOD / 2;
}

/**
 * Adaptive jitter buffer, clocked by the shared pacer rather than by packet arrival:
 * - reorders by sequence number, drops duplicates and packets whose time has passed;
 * - conceals a missing packet when later ones are already here (loss), and stretches by one concealed
 *   frame when nothing is here yet (lateness), up to the concealment limit;
 * - starts each talk spurt after the RFC 3550 jitter estimate says enough margin has built up (3 × J plus
 *   a boost after late packets), and drops a frame when the buffer has stayed a frame above target for a
 *   second, so delay tracks the network instead of only growing;
 * - treats a silent sender (Asterisk stops RTP while the caller is quiet) as the end of a talk spurt,
 *   emitting 'silence' frames, never as loss.
 */
export class JitterBuffer {
  readonly stats: JitterBufferStats = {
    received: 0, played: 0, concealed: 0, stretched: 0, late: 0, duplicate: 0, resync: 0, shrunk: 0, spurts: 0,
    jitterMs: 0, targetDelayMs: 0,
  };
  private readonly slots: Slot[];
  private readonly mask: number;
  private readonly fifo: SampleQueue;
  private readonly plc: Concealer;
  private readonly frameSamples: number;
  private readonly frameMs: number;
  private readonly sampleRate: number;
  private readonly now: () => number;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxPacketSamples: number;
  private readonly maxConcealedFrames: number;

  private playing = false;
  /** Next sequence number to play (valid once anchored). */
  private expected = 0;
  private anchored = false;
  /** Filled slots. */
  private buffered = 0;
  private lastPacketSamples: number;
  private spurtStart = 0;
  private consecutiveConcealed = 0;
  private transitRef = NaN;
  private lastArrivalSeq = -1;
  private lateBoostMs = 0;
  private minLeadSamples = Infinity;
  private leadWindowTicks = 0;

  constructor(options: JitterBufferOptions) {
    this.sampleRate = options.sampleRate;
    this.frameSamples = options.frameSamples;
    this.frameMs = (options.frameSamples * 1000) / options.sampleRate;
    this.now = options.now;
    this.minDelayMs = options.minDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 300;
    this.maxPacketSamples = options.maxPacketSamples ?? options.frameSamples * 6;
    const capacity = options.capacity ?? 64;
    this.mask = capacity - 1;
    this.slots = Array.from({ length: capacity }, () => ({ seq: -1, samples: new Int16Array(0), length: 0, filled: false }));
    this.fifo = new SampleQueue(options.frameSamples * 4);
    this.plc = new Concealer(options.sampleRate);
    this.maxConcealedFrames = Math.ceil(this.plc.maxAudibleSamples / options.frameSamples);
    this.lastPacketSamples = options.frameSamples;
    this.stats.targetDelayMs = this.minDelayMs;
  }

  get maxPacket(): number {
    return this.maxPacketSamples;
  }

  /** Packets it can hold ahead of the playout point. */
  get depth(): number {
    return this.slots.length;
  }

  /**
   * Accepts a decoded packet. `timestamp` is in samples at `sampleRate` (RTP timestamp or a running count).
   * Returns false (and counts why) when the packet is dropped.
   */
  push(seq: number, timestamp: number, samples: Int16Array, length: number = samples.length): boolean {
    const arrival = this.now();
    this.stats.received++;
    this.updateJitter(seq, timestamp, arrival);
    const ahead = this.anchored ? seqDiff(seq, this.expected) : 0;
    if (!this.anchored) {
      this.restart(seq, arrival);
    } else if (ahead < 0 && ahead > -SEQ_MOD / 4) {
      this.stats.late++;
      this.lateBoostMs = Math.min(this.lateBoostMs + this.frameMs / 2, this.maxDelayMs);
      return false;
    } else if (ahead < 0 || ahead > this.mask) {
      // Far behind (the sender restarted its sequence) or too far ahead to bridge.
      this.stats.resync++;
      this.restart(seq, arrival);
    } else if (!this.playing && this.buffered === 0) {
      this.restart(seq, arrival); // first packet of a new talk spurt
    }
    const slot = this.slots[seq & this.mask];
    if (slot.filled && slot.seq === seq) {
      this.stats.duplicate++;
      return false;
    }
    const n = Math.min(length, this.maxPacketSamples);
    if (slot.samples.length < n) slot.samples = new Int16Array(Math.max(n, this.frameSamples));
    const dst = slot.samples;
    for (let i = 0; i < n; i++) dst[i] = samples[i];
    slot.length = n;
    slot.seq = seq;
    if (!slot.filled) this.buffered++;
    slot.filled = true;
    this.lastPacketSamples = n;
    return true;
  }

  /** Fills `dst` (frameSamples long) with the next frame of playout. Called once per pacer tick. */
  pull(dst: Int16Array): InboundFrameKind {
    this.lateBoostMs *= 0.999;
    const target = this.targetDelayMs();
    this.stats.targetDelayMs = target;
    if (!this.playing) {
      if (this.buffered === 0 || this.now() - this.spurtStart < target) {
        dst.fill(0);
        return 'silence';
      }
      this.playing = true;
      this.stats.spurts++;
    }
    let kind: InboundFrameKind = 'audio';
    const F = this.frameSamples;
    while (this.fifo.length < F) {
      const slot = this.slots[this.expected & this.mask];
      if (slot.filled && slot.seq === this.expected) {
        this.consumeSlot(slot);
      } else if (this.buffered > 0) {
        // Later packets are here but this one is not: it is lost (or too late to wait for).
        this.concealInto(this.lastPacketSamples);
        this.expected = (this.expected + 1) % SEQ_MOD;
        this.stats.concealed++;
        kind = 'concealed';
      } else if (this.consecutiveConcealed < this.maxConcealedFrames) {
        // Nothing buffered: the next packet is late or the talk spurt ended. Bridge one frame and wait.
        this.concealInto(F - this.fifo.length);
        this.stats.stretched++;
        kind = 'concealed';
      } else {
        break;
      }
    }
    const got = this.fifo.pull(dst, F);
    if (got < F) {
      // The sender went quiet: end of talk spurt. Pad, and wait for the next one.
      dst.fill(0, got);
      this.playing = false;
      this.fifo.clear();
      this.transitRef = NaN;
      return got === 0 ? 'silence' : kind;
    }
    if (kind === 'audio') this.stats.played++;
    this.trackLead(target);
    return kind;
  }

  private consumeSlot(slot: Slot): void {
    this.plc.observe(slot.samples, slot.length);
    this.fifo.push(slot.samples, slot.length);
    slot.filled = false;
    this.buffered--;
    this.consecutiveConcealed = 0;
    this.expected = (this.expected + 1) % SEQ_MOD;
  }

  private concealBuf = new Int16Array(0);

  private concealInto(n: number): void {
    if (this.concealBuf.length < n) this.concealBuf = new Int16Array(n);
    this.plc.conceal(this.concealBuf, n);
    this.fifo.push(this.concealBuf, n);
    this.consecutiveConcealed++;
  }

  /**
   * Keeps delay near target: when the audio buffered beyond this frame has stayed more than a frame above
   * target for a whole second, one packet is dropped (counted) — the cost of a stretch or a stall is repaid.
   */
  private trackLead(targetMs: number): void {
    const lead = this.fifo.length + this.buffered * this.lastPacketSamples;
    if (lead < this.minLeadSamples) this.minLeadSamples = lead;
    if (++this.leadWindowTicks < 50) return;
    const targetSamples = ((targetMs + this.frameMs) * this.sampleRate) / 1000;
    if (this.minLeadSamples > targetSamples + this.frameSamples && this.buffered > 0) {
      const slot = this.slots[this.expected & this.mask];
      if (slot.filled && slot.seq === this.expected) {
        slot.filled = false;
        this.buffered--;
        this.expected = (this.expected + 1) % SEQ_MOD;
        this.stats.shrunk++;
      }
    }
    this.minLeadSamples = Infinity;
    this.leadWindowTicks = 0;
  }

  private targetDelayMs(): number {
    const t = 3 * this.stats.jitterMs + this.lateBoostMs;
    return Math.min(this.maxDelayMs, Math.max(this.minDelayMs, t));
  }

  /** RFC 3550 §6.4.1 interarrival jitter, from consecutive packets only (gaps in sending are not jitter). */
  private updateJitter(seq: number, timestamp: number, arrival: number): void {
    const transit = arrival - (timestamp * 1000) / this.sampleRate;
    if (this.lastArrivalSeq >= 0 && seqDiff(seq, this.lastArrivalSeq) === 1 && !Number.isNaN(this.transitRef)) {
      const d = Math.abs(transit - this.transitRef);
      if (d < 1000) this.stats.jitterMs += (d - this.stats.jitterMs) / 16;
    }
    this.transitRef = transit;
    this.lastArrivalSeq = seq;
  }

  private restart(seq: number, arrival: number): void {
    for (const slot of this.slots) slot.filled = false;
    this.buffered = 0;
    this.expected = seq;
    this.anchored = true;
    if (!this.playing) this.spurtStart = arrival;
  }

  /** Forgets the sequence anchor and everything buffered (new SSRC, or the stream was re-pointed). */
  reset(): void {
    for (const slot of this.slots) slot.filled = false;
    this.buffered = 0;
    this.anchored = false;
    this.playing = false;
    this.fifo.clear();
    this.transitRef = NaN;
    this.lastArrivalSeq = -1;
  }
}
