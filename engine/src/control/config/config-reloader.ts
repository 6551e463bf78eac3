import { ConfigError, type Logger } from '@ai-agent/common';
import { changedPaths, configHash, isUnder } from './config-diff.ts';
import type { ConfigHolder, ConfigSnapshot } from './config-holder.ts';

export interface ConfigReloaderOptions<T extends object> {
  holder: ConfigHolder<T>;
  /** Reads and fully validates the on-disk config; throws ConfigError naming the key. */
  load: () => T;
  /**
   * Config keys each listener was bound with (`{ control: ['control.port'] }`). A listener keeps its socket
   * on reload; when one of its keys changed, replies say it needs a restart.
   */
  listenerKeys: Readonly<Record<string, readonly string[]>>;
  /** Applies process-wide settings of a snapshot just installed (log level, phone-number policy). */
  onSwap?: (snapshot: ConfigSnapshot<T>) => void;
  log: Logger;
}

export interface ReloadOutcome {
  version: number;
  /** Key paths whose values changed. */
  changed: string[];
  /** Listeners running with settings older than the current config; they apply after a restart. */
  restartRequired: string[];
}

export interface ConfigState {
  running: { version: number; hash: string; loadedAt: string };
  onDisk: { hash: string } | { error: { key: string; reason: string } };
  /** Key paths where the file on disk differs from the running config (empty when the file is invalid). */
  differs: string[];
  restartRequired: string[];
}

/**
 * Hot reload: the new config is validated in full before anything changes; a valid one is swapped in for
 * new calls (calls in progress keep their snapshot). Only one reload runs at a time.
 */
export class ConfigReloader<T extends object> {
  /** The config the listeners bound with. */
  private readonly boot: ConfigSnapshot<T>;

  constructor(private readonly opts: ConfigReloaderOptions<T>) {
    this.boot = opts.holder.current();
  }

  /**
   * Whatever goes wrong reading the file is a ConfigError: an exception from outside the config-error path
   * must not turn /reload or /config/state into a 500 (the details go to the log).
   */
  private load(): T {
    try {
      return this.opts.load();
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      this.opts.log.error({ err }, 'loading the configuration failed unexpectedly');
      throw new ConfigError('(config)', 'could not be loaded (see the log)');
    }
  }

  /** Throws ConfigError (nothing changed) for an invalid file. */
  reload(): ReloadOutcome {
    const next = this.load();
    const previous = this.opts.holder.current();
    const changed = changedPaths(previous.config, next);
    const snapshot = changed.length ? this.opts.holder.swap(next) : previous;
    if (changed.length) this.opts.onSwap?.(snapshot);
    return { version: snapshot.version, changed, restartRequired: this.restartRequired(snapshot) };
  }

  state(): ConfigState {
    const running = this.opts.holder.current();
    const summary = { version: running.version, hash: running.hash, loadedAt: running.loadedAt };
    let onDisk: ConfigState['onDisk'];
    let differs: string[] = [];
    try {
      const disk = this.load();
      differs = changedPaths(running.config, disk);
      onDisk = { hash: configHash(disk) };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      onDisk = { error: { key: err.key, reason: err.reason } };
    }
    return { running: summary, onDisk, differs, restartRequired: this.restartRequired(running) };
  }

  private restartRequired(snapshot: ConfigSnapshot<T>): string[] {
    const changed = changedPaths(this.boot.config, snapshot.config);
    return Object.entries(this.opts.listenerKeys)
      .filter(([, keys]) => changed.some((path) => keys.some((key) => isUnder(path, key))))
      .map(([listener]) => listener)
      .sort();
  }
}
