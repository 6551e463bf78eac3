/**
 * Timings computed from what crossed the wire. Times are performance.now() milliseconds.
 *
 * Definitions (also in the README):
 *  - agent audio: a frame from the engine whose RMS reaches AUDIO_RMS_THRESHOLD (audio/level.ts);
 *  - caller speech: the frames of an utterance at that same level, so the silence a recording carries
 *    before and after the words is not speech; onset is the first such frame sent, end the last;
 *  - response latency: end of caller speech → first agent audio frame after it;
 *  - reply lead-in: agent sound heard below the audible level (RMS above IDLE_RMS) right before that frame;
 *  - barge-in stop: caller onset (first frame of speech over the agent) → last agent audio frame before
 *    the agent stays quiet for STOP_SILENCE_MS;
 *  - gap: inside an agent spurt, two consecutive agent frames (audible or not) more than GAP_MIN_MS
 *    apart — an underrun the caller hears as a hole in the agent's speech;
 *  - spurt: agent audio frames separated by less than SPURT_BREAK_MS.
 */
export const STOP_SILENCE_MS = 400;
export const GAP_MIN_MS = 50;
export const SPURT_BREAK_MS = 400;

export function firstAtOrAfter(times: readonly number[], t: number): number | null {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo < times.length ? times[lo] : null;
}

/** Last agent audio before a silence of STOP_SILENCE_MS, starting from `onset`; null if it never stopped. */
export function agentStopAfter(times: readonly number[], onset: number, callEnd: number): number | null {
  let prev = onset;
  let i = times.findIndex((t) => t >= onset);
  if (i < 0) return callEnd - onset >= STOP_SILENCE_MS ? 0 : null;
  for (; i < times.length; i++) {
    if (times[i] - prev > STOP_SILENCE_MS) break;
    prev = times[i];
  }
  if (i === times.length && callEnd - prev < STOP_SILENCE_MS) return null;
  return prev - onset;
}

export interface GapStats {
  count: number;
  maxMs: number;
  totalMs: number;
}

/** Gaps between consecutive agent frames (`frames`, any level) that fall inside a spurt of audible audio. */
export function gapsOf(frames: readonly number[], spurts: ReadonlyArray<{ start: number; end: number }>): GapStats {
  const stats: GapStats = { count: 0, maxMs: 0, totalMs: 0 };
  let s = 0;
  for (let i = 1; i < frames.length; i++) {
    const a = frames[i - 1];
    const b = frames[i];
    while (s < spurts.length && spurts[s].end < a) s++;
    if (s >= spurts.length) break;
    if (a < spurts[s].start || b > spurts[s].end) continue;
    const d = b - a;
    if (d > GAP_MIN_MS) {
      stats.count++;
      stats.totalMs += d - 20;
      if (d > stats.maxMs) stats.maxMs = d;
    }
  }
  stats.maxMs = Math.round(stats.maxMs);
  stats.totalMs = Math.round(stats.totalMs);
  return stats;
}

export function spurtsOf(times: readonly number[]): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  for (const t of times) {
    const last = out[out.length - 1];
    if (last && t - last.end < SPURT_BREAK_MS) last.end = t;
    else out.push({ start: t, end: t });
  }
  return out;
}
