/**
 * A minimal typed event emitter. Unlike Node's EventEmitter an 'error' with no listener is not thrown:
 * media errors are reported to whoever listens and otherwise only logged and counted by the transport,
 * because a throw from a socket handler would take every other call down with it.
 */
type Listener<A extends unknown[]> = (...args: A) => void;

export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly listeners: { [K in keyof Events]?: Listener<Events[K]>[] } = {};

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    (this.listeners[event] ??= []).push(listener);
    return this;
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const wrapper: Listener<Events[K]> = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const list = this.listeners[event];
    if (list) {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }

  listenerCount<K extends keyof Events>(event: K): number {
    return this.listeners[event]?.length ?? 0;
  }

  /** Calls each listener; returns false when there was none. Listener exceptions propagate to the caller. */
  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): boolean {
    const list = this.listeners[event];
    if (!list || list.length === 0) return false;
    for (const listener of list.length === 1 ? list : list.slice()) listener(...args);
    return true;
  }

  protected removeAllListeners(): void {
    for (const key of Object.keys(this.listeners)) delete this.listeners[key as keyof Events];
  }
}
