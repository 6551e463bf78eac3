import { configHash } from './config-diff.ts';

export type DeepReadonly<T> = T extends (infer U)[]
  ? ReadonlyArray<DeepReadonly<U>>
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** One validated configuration, frozen: a call keeps the snapshot it started with for its whole life. */
export interface ConfigSnapshot<T> {
  readonly config: DeepReadonly<T>;
  /** 1 for the config loaded at start, +1 per reload. */
  readonly version: number;
  readonly hash: string;
  readonly loadedAt: string;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * The running configuration. `current()` is what a new call (or a limit check) takes; `swap()` installs a
 * config that has already been validated in full. Snapshots are immutable, so calls in progress are never
 * touched by a reload.
 */
export class ConfigHolder<T extends object> {
  private snapshot: ConfigSnapshot<T>;

  constructor(initial: T) {
    this.snapshot = this.freeze(initial, 1);
  }

  current(): ConfigSnapshot<T> {
    return this.snapshot;
  }

  swap(next: T): ConfigSnapshot<T> {
    this.snapshot = this.freeze(next, this.snapshot.version + 1);
    return this.snapshot;
  }

  private freeze(config: T, version: number): ConfigSnapshot<T> {
    // A private deep copy: the caller's object stays theirs, ours cannot be changed through it.
    const own = deepFreeze(structuredClone(config)) as DeepReadonly<T>;
    return Object.freeze({ config: own, version, hash: configHash(own), loadedAt: new Date().toISOString() });
  }
}
