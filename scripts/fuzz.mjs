#!/usr/bin/env node
// Runs every fuzz target (the test files in a `fuzz/` folder of any workspace) through the same runner as
// `npm test`. `npm test` already runs them with 10 000 cases each (a share for costly ones: common/src/testing/fuzz.ts); `npm run fuzz -- --long` runs 1 000 000 per
// target (hours on 2 cores). FUZZ_SEED=<n> replays a failure fast-check reported; FUZZ_RUNS overrides the count.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const long = process.argv.includes('--long');
const env = { ...process.env, FUZZ_RUNS: process.env.FUZZ_RUNS ?? (long ? '1000000' : '10000') };
const runner = fileURLToPath(new URL('./run-tests.mjs', import.meta.url));
console.log(`fuzz: ${env.FUZZ_RUNS} cases per target${env.FUZZ_SEED ? `, seed ${env.FUZZ_SEED}` : ''}`);
const child = spawn(process.execPath, ['--import', 'tsx', runner, '/fuzz/'], { env, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : code ?? 1));
