import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@ai-agent/common';
import type { CallRegistry } from '../../telephony/registry.ts';

export interface Closer {
  name: string;
  close(): unknown;
}

export interface DrainOptions {
  registry: CallRegistry;
  /** Stops taking calls (readiness 503, admission refusing, the Stasis app turning new channels away). */
  stopAccepting: () => void;
  /** How long active calls may go on by themselves. */
  timeoutMs: number;
  /** Said to each call still up when the timeout ends, before it is hung up. */
  message: string;
  /** How long the hangups (which speak `message` first) may take before shutdown goes on without them. */
  hangupGraceMs: number;
  /** Closed in this order once the calls are gone: e.g. media listeners, the call store, the control server. */
  closers: readonly Closer[];
  log: Logger;
  /** How often the registry is looked at while waiting (only during a drain). */
  pollMs?: number;
}

export interface DrainReport {
  /** Calls that were up when the drain began. */
  activeAtStart: number;
  /** Calls hung up with the drain message after the timeout. */
  hungUp: number;
  /** Calls still registered when shutdown went on regardless. */
  abandoned: number;
}

async function waitForNoCalls(registry: CallRegistry, ms: number, pollMs: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (registry.count() > 0) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await sleep(Math.min(pollMs, left));
  }
  return true;
}

/**
 * Graceful shutdown: stop taking calls, let active calls finish up to the timeout, end the rest with the drain
 * message, then close everything in order (the store last among data holders, so every call's end is written).
 */
export async function drain(opts: DrainOptions): Promise<DrainReport> {
  const { registry, log } = opts;
  const pollMs = opts.pollMs ?? 200;
  opts.stopAccepting();
  const activeAtStart = registry.count();
  log.info({ activeCalls: activeAtStart, timeoutMs: opts.timeoutMs }, 'draining: no new calls, waiting for active calls to end');

  let hungUp = 0;
  if (!(await waitForNoCalls(registry, opts.timeoutMs, pollMs))) {
    const graceEnds = Date.now() + opts.hangupGraceMs;
    const remaining = registry.list();
    hungUp = remaining.length;
    log.warn({ calls: hungUp }, 'drain timeout: ending the remaining calls with the drain message');
    const hangups = remaining.map((call) =>
      registry.hangup(call.info.id, 'drain', opts.message).catch((err: unknown) => {
        log.warn({ callId: call.info.id, reason: (err as Error).message }, 'drain hangup failed');
        return false;
      }),
    );
    const graceTimer = new AbortController();
    await Promise.race([Promise.all(hangups), sleep(opts.hangupGraceMs, undefined, { signal: graceTimer.signal }).catch(() => undefined)]);
    graceTimer.abort();
    // A registry's hangup may resolve before its teardown has removed the call.
    await waitForNoCalls(registry, Math.max(0, graceEnds - Date.now()), pollMs);
  }
  const abandoned = registry.count();
  if (abandoned) log.error({ calls: abandoned }, 'calls still up after the drain grace period; shutting down regardless');

  for (const closer of opts.closers) {
    try {
      await closer.close();
    } catch (err) {
      log.warn({ closer: closer.name, reason: (err as Error).message }, 'close failed during shutdown');
    }
  }
  log.info({ activeAtStart, hungUp, abandoned }, 'drained');
  return { activeAtStart, hungUp, abandoned };
}
