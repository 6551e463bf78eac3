// Settings every fuzz target shares, so a run is reproducible and its size set in one place: `npm test` runs
// each target with 10 000 cases, `npm run fuzz -- --long` with 1 000 000 (FUZZ_RUNS). The seed is fixed per
// target unless FUZZ_SEED is set; fast-check prints the seed and the shrunk counterexample on a failure, and
// `FUZZ_SEED=<seed> npm test -- <file>` replays it. A target whose every case costs milliseconds (a whole config
// file parsed and validated) runs a `share` of those cases, so no target holds `npm test` for a minute; `--long`
// scales it the same way.
import { createHash } from 'node:crypto';

export interface FuzzSettings {
  numRuns: number;
  seed: number;
}

export function fuzzSettings(target: string, share = 1): FuzzSettings {
  const runs = Math.ceil(Number(process.env.FUZZ_RUNS ?? 10_000) * share);
  const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : createHash('sha256').update(target).digest().readInt32LE(0);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('FUZZ_RUNS must be a positive integer');
  if (!Number.isInteger(seed)) throw new Error('FUZZ_SEED must be an integer');
  return { numRuns: runs, seed };
}
