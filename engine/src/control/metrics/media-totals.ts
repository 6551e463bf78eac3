import type { ReasonCounts } from '../../transport/counters.ts';
import type { MediaStreamCounters } from '../../call/index.ts';

/** Jitter-buffer events exported as metrics (the stats' gauges, jitter and delay, are per stream only). */
export const JITTER_EVENTS = ['late', 'concealed', 'duplicate', 'resync', 'stretched', 'shrunk'] as const;
export type JitterEvent = (typeof JITTER_EVENTS)[number];

/** Media counters summed over streams. */
export interface MediaTotals {
  packetsIn: number;
  packetsOut: number;
  outboundDrains: number;
  outboundOverflowSamples: number;
  rejected: ReasonCounts;
  jitter: Record<JitterEvent, number>;
}

function emptyTotals(): MediaTotals {
  return {
    packetsIn: 0,
    packetsOut: 0,
    outboundDrains: 0,
    outboundOverflowSamples: 0,
    rejected: {},
    jitter: { late: 0, concealed: 0, duplicate: 0, resync: 0, stretched: 0, shrunk: 0 },
  };
}

/** A stream's `MediaStreamCounters` is a `MediaTotals` (plus fields not summed), so both add the same way. */
function addInto(totals: MediaTotals, counters: MediaTotals): void {
  totals.packetsIn += counters.packetsIn;
  totals.packetsOut += counters.packetsOut;
  totals.outboundDrains += counters.outboundDrains;
  totals.outboundOverflowSamples += counters.outboundOverflowSamples;
  for (const [reason, n] of Object.entries(counters.rejected)) totals.rejected[reason] = (totals.rejected[reason] ?? 0) + n;
  for (const event of JITTER_EVENTS) totals.jitter[event] += counters.jitter[event];
}

/**
 * Sums every media stream's plain counters for the metrics scrape, finished calls included: a stream is
 * tracked while live (read at scrape time, nothing per packet) and folded into a retired total when it ends,
 * so counters only ever grow.
 */
export class MediaCounterTotals {
  private readonly live = new Set<MediaStreamCounters>();
  private readonly retired = emptyTotals();

  /** Starts counting a stream; call the returned function once when the stream has closed. */
  track(counters: MediaStreamCounters): () => void {
    this.live.add(counters);
    return () => {
      if (!this.live.delete(counters)) return;
      addInto(this.retired, counters);
    };
  }

  snapshot(): MediaTotals {
    const totals = emptyTotals();
    addInto(totals, this.retired);
    for (const counters of this.live) addInto(totals, counters);
    return totals;
  }
}
