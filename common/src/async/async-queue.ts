/**
 * A single-consumer queue: producers push from callbacks, the consumer reads with for-await, in order (LLM
 * sentences → TTS, socket messages → a stream's reader). `end(error)` lets the consumer read what is queued,
 * then throws `error` at it. A consumer that stops early (break, return) ends the queue: later pushes are dropped.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (err: unknown) => void } | null = null;
  private ended = false;
  private failure: unknown;

  push(item: T): void {
    if (this.ended) return;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = null;
      waiter.resolve({ value: item, done: false });
    } else {
      this.items.push(item);
    }
  }

  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = null;
      if (error !== undefined) waiter.reject(error);
      else waiter.resolve({ value: undefined, done: true });
    }
  }

  /** Ended by the producer or by the consumer leaving; queued items may still be unread. */
  get done(): boolean {
    return this.ended;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
        if (this.ended) {
          if (this.failure === undefined) return Promise.resolve({ value: undefined, done: true });
          const failure = this.failure;
          this.failure = undefined; // thrown once; a further next() is simply done
          return Promise.reject(failure);
        }
        return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
      },
      return: () => {
        this.end();
        this.items.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
