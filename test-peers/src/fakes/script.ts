// What a fake answers is scripted per test: each endpoint owns a queue of steps. A step is consumed by
// one request (or one connection / one model response); when the queue is empty the default step
// answers. A step may be a function of the request, so a test can answer differently per input.

/** Answer with an HTTP error status instead of a body (at the WebSocket upgrade for WS endpoints). */
export interface StatusFault {
  kind: 'status';
  status: number;
  /** Sent as `retry-after` (whole seconds, rounded up) and `retry-after-ms`. */
  retryAfterMs?: number;
  message?: string;
}

/** Stop sending after `afterChunks` chunks/events but keep the connection open. */
export interface StallFault {
  kind: 'stall';
  afterChunks?: number;
}

/** Destroy the TCP connection after `afterChunks` chunks/events (no HTTP terminator, no WS close frame). */
export interface DropFault {
  kind: 'drop';
  afterChunks?: number;
}

export type StreamFault = StallFault | DropFault;
export type Fault = StatusFault | StreamFault;

/** Timing of a streamed answer. */
export interface Pace {
  /** Delay before the first byte/event of the answer. */
  firstByteMs?: number;
  /** Delay between consecutive chunks/events. */
  betweenChunksMs?: number;
}

export type Scripted<T, R> = T | ((request: R) => T | Promise<T>);

export class ScriptQueue<T, R> {
  readonly #steps: Scripted<T, R>[] = [];
  #fallback: Scripted<T, R>;

  constructor(fallback: Scripted<T, R>) {
    this.#fallback = fallback;
  }

  /** Queue steps; each is used once, in order. */
  push(...steps: Scripted<T, R>[]): this {
    this.#steps.push(...steps);
    return this;
  }

  /** Replace the step used when the queue is empty. */
  setDefault(step: Scripted<T, R>): this {
    this.#fallback = step;
    return this;
  }

  get pending(): number {
    return this.#steps.length;
  }

  async next(request: R): Promise<T> {
    const step = this.#steps.length > 0 ? this.#steps.shift()! : this.#fallback;
    return typeof step === 'function' ? await (step as (r: R) => T | Promise<T>)(request) : step;
  }
}

/** Resolves after `ms`, or at once (false) when `signal` aborts; true when the full delay elapsed. */
export function pause(ms: number | undefined, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (!ms || ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Never resolves until `signal` aborts: models a peer that went silent. */
export function stallUntil(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Poll `predicate` until it returns a truthy value; rejects after `timeoutMs`. */
export async function waitUntil<T>(predicate: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`waitUntil: condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let counter = 0;
/** Vendor-looking identifiers (`prefix_` + 24 chars); unique within the process. */
export function fakeId(prefix: string): string {
  counter += 1;
  const tail = `${Date.now().toString(36)}${counter.toString(36)}`.padStart(24, '0').slice(-24);
  return `${prefix}_${tail}`;
}
