// Server-wide bound on synthesis: at most `max` sentences are synthesised at once. A connection may use every
// slot while it is the only one (the engine multiplexes its calls over one connection); with others connected
// the last free slot goes only to a connection that holds none, and waiting connections are served in turn
// (round robin). So a client that queues many sentences never makes another wait for a slot.

interface Waiter {
  grant: () => void;
  fail: (err: unknown) => void;
}

export class SynthesisGate {
  private active = 0;
  /** Sentences in synthesis per owner (a connection). */
  private readonly busy = new Map<object, number>();
  /** Waiters per owner; the map's order is the rotation: a served owner moves to the back. */
  private readonly waiting = new Map<object, Waiter[]>();

  constructor(private readonly max: number, private readonly openConnections: () => number) {}

  /** Resolves with a release function once `owner` may synthesise one sentence; rejects if `signal` aborts first. */
  acquire(owner: object, signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (!this.waiting.has(owner) && this.mayGrant(owner)) return Promise.resolve(this.grant(owner));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { grant: () => resolve(this.grant(owner)), fail: reject };
      const queue = this.waiting.get(owner) ?? [];
      queue.push(waiter);
      this.waiting.set(owner, queue);
      signal.addEventListener('abort', () => this.withdraw(owner, waiter, signal.reason), { once: true });
    });
  }

  private mayGrant(owner: object): boolean {
    if (this.active >= this.max) return false;
    const mine = this.busy.get(owner) ?? 0;
    return mine === 0 || this.active < this.max - 1 || this.openConnections() <= 1;
  }

  private grant(owner: object): () => void {
    this.active += 1;
    this.busy.set(owner, (this.busy.get(owner) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= 1;
      const left = this.busy.get(owner)! - 1;
      if (left > 0) this.busy.set(owner, left);
      else this.busy.delete(owner);
      this.next();
    };
  }

  /** Grants waiting owners, in rotation, while slots allow. */
  private next(): void {
    for (const [owner, queue] of this.waiting) {
      if (this.active >= this.max) return;
      if (!this.mayGrant(owner)) continue;
      const waiter = queue.shift()!;
      this.waiting.delete(owner);
      if (queue.length > 0) this.waiting.set(owner, queue);
      waiter.grant();
    }
  }

  private withdraw(owner: object, waiter: Waiter, reason: unknown): void {
    const queue = this.waiting.get(owner);
    const at = queue?.indexOf(waiter) ?? -1;
    if (!queue || at < 0) return;
    queue.splice(at, 1);
    if (queue.length === 0) this.waiting.delete(owner);
    waiter.fail(reason);
  }
}
