import { ProviderError } from '../errors.ts';

export interface RequestTimeouts {
  /** Until the answer starts (headers, socket open). */
  connectMs: number;
  /** Longest gap inside a streamed answer. */
  idleMs: number;
}

/**
 * One request's deadlines and cancellation in one AbortSignal handed to the SDK: the caller's signal (barge-in,
 * hangup), a connect timer until `started()`, then an idle timer that each `tick()` rearms. One timer per
 * request, refreshed in place rather than recreated per chunk.
 */
export class RequestWatch {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout;
  private timedOut: 'connect' | 'idle' | null = null;
  private phase: 'connect' | 'idle' = 'connect';

  constructor(private readonly provider: string, private readonly caller: AbortSignal, private readonly timeouts: RequestTimeouts) {
    this.timer = setTimeout(() => this.expire(), timeouts.connectMs);
    if (caller.aborted) this.controller.abort();
    else caller.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The caller gave the request up (not a failure). */
  get cancelled(): boolean {
    return this.caller.aborted;
  }

  /** The answer began: from now on only gaps longer than the idle timeout fail it. */
  started(): void {
    this.phase = 'idle';
    this.tick();
  }

  tick(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.expire(), this.phase === 'connect' ? this.timeouts.connectMs : this.timeouts.idleMs);
  }

  /** The timeout error if a timer ended the request, else undefined. */
  timeoutError(): ProviderError | undefined {
    if (!this.timedOut) return undefined;
    return this.timedOut === 'connect'
      ? new ProviderError(this.provider, 'timeout', `no answer within ${this.timeouts.connectMs} ms`)
      : new ProviderError(this.provider, 'timeout', `the answer stalled for ${this.timeouts.idleMs} ms`);
  }

  done(): void {
    clearTimeout(this.timer);
    this.caller.removeEventListener('abort', this.onCallerAbort);
  }

  private expire(): void {
    this.timedOut = this.phase;
    this.controller.abort();
  }

  private readonly onCallerAbort = (): void => {
    clearTimeout(this.timer);
    this.controller.abort();
  };
}
