import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@ai-agent/common';
import { backoffDelay } from '../egress/backoff.ts';
import type { Outbox, OutboxEvent } from './outbox.ts';
import type { WebhookSender } from './webhook-sender.ts';

export interface DispatcherOptions {
  outbox: Outbox;
  sender: WebhookSender;
  /** Per delivery attempt. */
  timeoutMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** An event older than this is given up (moved to the outbox's failed/ folder). */
  giveUpAfterMs: number;
  log: Logger;
}

/**
 * Delivers the outbox in order, one event at a time: a 2xx answer removes the event; anything else (an error
 * status, a refused or failed connection, a timeout) keeps it and waits, doubling from retryInitialMs up to
 * retryMaxMs, before trying the same event again. Later events wait behind it (they go to the same receiver,
 * which is down), and a new event does not cut the wait short.
 */
export class OutboxDispatcher {
  private readonly stop = new AbortController();
  private wakeIdle: (() => void) | null = null;
  private running: Promise<void> | null = null;
  /** Delivered events since start (tests, logs). */
  delivered = 0;

  constructor(private readonly opts: DispatcherOptions) {}

  start(): void {
    this.running ??= this.loop();
  }

  /** A new event is in the outbox. */
  notify(): void {
    this.wakeIdle?.();
  }

  /** Stops after the attempt in flight is abandoned; undelivered events stay on disk for the next start. */
  async close(): Promise<void> {
    this.stop.abort();
    this.wakeIdle?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    const { outbox, log } = this.opts;
    const signal = this.stop.signal;
    while (!signal.aborted) {
      const event = outbox.head();
      try {
        if (!event) {
          await new Promise<void>((resolve) => (this.wakeIdle = resolve));
          this.wakeIdle = null;
        } else if (Date.now() - event.createdAt > this.opts.giveUpAfterMs) {
          await outbox.fail(event);
          log.error({ event: event.id, attempts: event.attempts }, 'webhook event given up after its retry period; moved to the outbox failed/ folder');
        } else if (event.nextAttemptAt > Date.now()) {
          await sleep(event.nextAttemptAt - Date.now(), undefined, { signal });
        } else {
          await this.attempt(event, signal);
        }
      } catch (err) {
        if (signal.aborted) break;
        // The disk failed under the outbox: wait, then look again (the event is still where it was).
        log.error({ err: { message: (err as Error).message } }, 'webhook outbox error');
        await sleep(this.opts.retryMaxMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  private async attempt(event: OutboxEvent, signal: AbortSignal): Promise<void> {
    const { outbox, sender, log } = this.opts;
    let failure: string;
    try {
      const res = await sender.post(new URL(event.url), event.id, event.body, this.opts.timeoutMs, signal);
      if (res.status >= 200 && res.status < 300) {
        await outbox.remove(event);
        this.delivered++;
        log.info({ event: event.id, attempts: event.attempts + 1 }, 'webhook delivered');
        return;
      }
      failure = `HTTP ${res.status}`;
    } catch (err) {
      if (signal.aborted) return;
      failure = (err as Error).message;
    }
    const delay = backoffDelay(event.attempts + 1, this.opts.retryInitialMs, this.opts.retryMaxMs);
    await outbox.retryLater(event, Date.now() + delay);
    log.warn({ event: event.id, attempts: event.attempts, failure, retryInMs: delay, queued: outbox.size }, 'webhook delivery failed; will retry');
  }
}
