import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineConfig, Logger } from '@ai-agent/common';
import { summarise, type CheckResult } from './check.ts';
import { runChecks } from './run-checks.ts';

export interface StartCheckOptions {
  config: EngineConfig;
  env: NodeJS.ProcessEnv;
  ariPassword: string | undefined;
  log: Logger;
  /** Per network request (short: nothing waits on these). */
  timeoutMs?: number;
  /** How long a refused or silent peer is tried again: npm start starts Asterisk's neighbours side by side. */
  graceMs?: number;
  retryMs?: number;
}

/**
 * The doctor's checks, run by the engine itself once it listens, in the background: nothing waits for them and
 * none stops the engine. Each problem is one log line (error for a failure, warn for a warning) with its fix;
 * one info line sums up. A check whose peer refused or did not answer is tried again for `graceMs` first.
 */
export function startChecksInBackground(options: StartCheckOptions): void {
  const { log } = options;
  void runWithGrace(options).then(
    (results) => {
      for (const r of results) {
        if (r.status === 'fail') log.error({ check: r.id, fix: r.fix }, `start check: ${r.title}: ${r.detail}`);
        if (r.status === 'warn') log.warn({ check: r.id, fix: r.fix }, `start check: ${r.title}: ${r.detail}`);
      }
      const s = summarise(results);
      log.info({ passed: s.pass, warnings: s.warn, failed: s.fail, skipped: s.skip }, 'start checks done (npm run doctor for the full report)');
    },
    (err: unknown) => log.warn({ err: { message: (err as Error).message } }, 'start checks could not run'),
  );
}

async function runWithGrace(options: StartCheckOptions): Promise<CheckResult[]> {
  const { timeoutMs = 2000, graceMs = 30_000, retryMs = 3000 } = options;
  const deadline = performance.now() + graceMs;
  const run = (): Promise<CheckResult[]> =>
    runChecks({ config: options.config, env: options.env, ariPassword: options.ariPassword, timeoutMs, mode: 'engine' });
  let results = await run();
  while (results.some((r) => r.transient) && performance.now() + retryMs < deadline) {
    await sleep(retryMs, undefined, { ref: false });
    results = await run();
  }
  return results;
}
