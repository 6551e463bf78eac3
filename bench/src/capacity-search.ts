// The capacity benches' search for the most calls a system carries within its limit (media.ts, pipeline-capacity.ts):
// the load rises along a ladder until a step fails, then the bracket between the last passing (or no) load and the
// failing one is bisected. A step must fail twice to count, since one noisy window on a shared machine is not a limit.

export interface CapacitySearch<R> {
  /** The first load tried. */
  first: number;
  /** The load after `calls` on the way up. */
  next(calls: number): number;
  /** Loads above this are not tried. */
  max: number;
  /** Stop refining when the bracket between passing and failing load is this narrow. */
  resolution: number;
  /** Brings the load to `calls` (adds or removes calls). */
  resize(calls: number): Promise<void>;
  /** Measures the current load once. */
  measure(calls: number): Promise<R>;
  passes(result: R): boolean;
}

export interface CapacityResult<R> {
  /** The measurement of the highest passing load (null when none passed). */
  best: R | null;
  bestCalls: number;
  /** The lowest load found failing and its (second) measurement; null when none up to `max` failed. */
  failed: { calls: number; result: R } | null;
}

/** Bisection points are rounded to this many calls. */
const GRAIN = 5;

export async function searchCapacity<R>(search: CapacitySearch<R>): Promise<CapacityResult<R>> {
  const out: CapacityResult<R> = { best: null, bestCalls: 0, failed: null };
  const step = async (calls: number): Promise<boolean> => {
    await search.resize(calls);
    let result!: R;
    for (let attempt = 0; attempt < 2; attempt++) {
      result = await search.measure(calls);
      if (search.passes(result)) {
        out.best = result;
        out.bestCalls = calls;
        return true;
      }
    }
    out.failed = { calls, result };
    return false;
  };
  for (let calls = search.first; calls <= search.max; calls = search.next(calls)) {
    if (!(await step(calls))) break;
  }
  while (out.failed && out.failed.calls - out.bestCalls > search.resolution) {
    const mid = Math.round((out.bestCalls + out.failed.calls) / 2 / GRAIN) * GRAIN;
    if (mid <= out.bestCalls || mid >= out.failed.calls) break;
    await step(mid);
  }
  return out;
}
