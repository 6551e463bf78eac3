import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scrubber, type EngineConfig, type Logger } from '@ai-agent/common';
import { openCallStore } from '../store/open-call-store.ts';
import { RetentionJob } from '../store/retention.ts';
import type { CallStore, ManagedCallStore } from '../store/types.ts';
import type { CallRegistry } from '../telephony/registry.ts';
import type { AuthGuard } from './auth-guard.ts';
import { ConfigHolder, type ConfigSnapshot } from './config/config-holder.ts';
import { ConfigReloader } from './config/config-reloader.ts';
import { AdmissionControl } from './lifecycle/admission-control.ts';
import { drain, type Closer, type DrainReport } from './lifecycle/drain.ts';
import { EngineMetrics, type MetricsSources } from './metrics/engine-metrics.ts';
import { MediaCounterTotals } from './metrics/media-totals.ts';
import { MeteredCallStore } from './metrics/metered-store.ts';
import type { Readiness } from './readiness.ts';
import { callRoutes } from './routes/call-routes.ts';
import { configRoutes } from './routes/config-routes.ts';
import { metricsRoute } from './routes/metrics-route.ts';
import type { ControlRoutes } from './server.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Hangups at the end of a drain speak the drain message first; this bounds how long that may take. */
const DRAIN_HANGUP_GRACE_MS = 20_000;

/** Settings read once at start: a change is reported by /reload and /config/state as needing a restart. */
const RESTART_KEYS: Readonly<Record<string, readonly string[]>> = {
  control: ['control.port'],
  call_store: ['store.backend', 'store.path', 'store.engine_id', 'store.postgres_allow_plaintext'],
  ari: ['ari'],
};

/** Live calls before telephony is attached (or in a process without it). */
const NO_CALLS: CallRegistry = { list: () => [], get: () => undefined, count: () => 0, hangup: async () => false };

export interface OperationsDeps {
  log: Logger;
  /** The validated config the process started with. */
  config: EngineConfig;
  /** Reads and fully validates the on-disk config (throws ConfigError). */
  loadConfig: () => EngineConfig;
  guard: AuthGuard;
  readiness: Readiness;
  /** More settings that need a restart, per listener (e.g. `{ rtp: ['media.rtp'] }`). */
  restartKeys?: Readonly<Record<string, readonly string[]>>;
  /** DATABASE_URL, for `store.backend: postgres`. */
  databaseUrl?: string;
  /**
   * The records' store when another process keeps it (engine processes 2…N write through process 1): given how to
   * open this engine's own store, for when that process is gone.
   */
  records?: (openOwn: () => ManagedCallStore) => ManagedCallStore;
}

/**
 * The name this engine writes on its records in a shared database, unless store.engine_id sets one: stable across
 * restarts of the same engine, and distinct for engines on different hosts or serving different Stasis apps.
 */
function defaultEngineId(config: EngineConfig): string {
  return `${hostname()}:${config.ari.app}`.replace(/[^A-Za-z0-9_.:-]/g, '-').slice(0, 64);
}

export interface ShutdownOptions {
  /** Extra ways to stop taking calls (e.g. the Stasis app turning new channels away). */
  stopAccepting?: () => void;
  /** Closed in order once calls are gone (media listeners, ARI, control server); the call store closes last. */
  closers: readonly Closer[];
}

/**
 * What an operator needs around the calls: the running config and its hot reload, call records, metrics,
 * admission limits, the control routes and the graceful drain. Built once by main.
 */
export class EngineOperations {
  readonly config: ConfigHolder<EngineConfig>;
  /** Call records (scrubbed on write) that also feed the call metrics: what telephony writes to. */
  readonly store: CallStore;
  readonly admission: AdmissionControl;
  readonly metrics: EngineMetrics;
  /** Media streams register their counters here for the metrics (`track(stream.counters)` → release on close). */
  readonly mediaTotals = new MediaCounterTotals();
  /** Scrape-time sources; main may add `pacer` and `listenerRejections`. */
  readonly sources: MetricsSources;
  /** The redacting store itself, without the metrics: process 1 writes the other processes' records here. */
  readonly records: ManagedCallStore;
  /** Runs after every reload (process 1 has the others reread the config). */
  afterReload: () => void = () => undefined;
  private readonly retention: RetentionJob;
  private readonly reloader: ConfigReloader<EngineConfig>;
  private registry: CallRegistry = NO_CALLS;
  private readonly log: Logger;

  constructor(private readonly deps: OperationsDeps) {
    this.log = deps.log;
    this.config = new ConfigHolder(deps.config);
    const settings = () => this.config.current().config;
    const openOwn = (): ManagedCallStore =>
      openCallStore({
        config: deps.config.store,
        sqlitePath: isAbsolute(deps.config.store.path) ? deps.config.store.path : resolve(REPO_ROOT, deps.config.store.path),
        databaseUrl: deps.databaseUrl,
        engineId: deps.config.store.engine_id ?? defaultEngineId(deps.config),
        redaction: {
          toolArguments: () => settings().store.store_tool_arguments,
          showPhoneNumbers: () => scrubber.showPhoneNumbers,
        },
        log: deps.log,
      });
    this.records = deps.records ? deps.records(openOwn) : openOwn();
    this.admission = new AdmissionControl(() => settings().limits);
    this.sources = {
      activeCalls: () => this.registry.list().map((call) => call.info),
      media: () => this.mediaTotals.snapshot(),
      authFailures: () => deps.guard.failures,
      admissionRefusals: () => this.admission.refusals,
      storeWriteErrors: () => this.records.counters.writeErrors,
      storeWriteRetries: () => this.records.counters.writeRetries,
      storePendingWrites: () => this.records.pendingWrites(),
    };
    this.metrics = new EngineMetrics(this.sources);
    this.store = new MeteredCallStore(this.records, this.metrics);
    this.retention = new RetentionJob(
      this.records,
      () => ({ retentionDays: settings().store.retention_days, purgeIntervalMinutes: settings().store.purge_interval_minutes }),
      deps.log,
    );
    this.reloader = new ConfigReloader({
      holder: this.config,
      load: deps.loadConfig,
      listenerKeys: { ...RESTART_KEYS, ...deps.restartKeys },
      onSwap: (snapshot) => this.applyProcessSettings(snapshot),
      log: deps.log,
    });
  }

  /** Settings that are process-wide rather than per call take effect at once. */
  private applyProcessSettings(snapshot: ConfigSnapshot<EngineConfig>): void {
    scrubber.showPhoneNumbers = snapshot.config.logging.show_phone_numbers;
    this.log.level = snapshot.config.logging.level;
    this.deps.guard.setFailureLimit(snapshot.config.control.auth_failures_per_minute);
  }

  /** The live calls (telephony's registry), for the control routes, the metrics and the drain. */
  attachRegistry(registry: CallRegistry): void {
    this.registry = registry;
  }

  /**
   * Closes records a previous run left open, then starts the retention purge. Call before taking calls; rejects
   * when the call store can never work (e.g. a database migrated by a newer engine): the engine must not start.
   */
  start(): Promise<void> {
    // Queued ahead of every call's first write, so it cannot close a call of this run.
    void this.records.closeAbandoned(new Date().toISOString()).then(
      (closed) => {
        if (closed) this.log.warn({ calls: closed }, 'call records left open by the previous run were closed');
      },
      (err: unknown) => this.log.warn({ reason: (err as Error).message }, 'closing records left open by the previous run failed'),
    );
    this.retention.start();
    return this.records.ready;
  }

  /** Rereads the config file and swaps in what may change while running (POST /reload). */
  reload(): ReturnType<ConfigReloader<EngineConfig>['reload']> {
    const outcome = this.reloader.reload();
    this.afterReload();
    return outcome;
  }

  /** Protected routes for buildControlServer. */
  routes(): ControlRoutes[] {
    return [
      configRoutes({ reload: () => this.reload(), state: () => this.reloader.state(), log: this.log }),
      callRoutes({ registry: () => this.registry, store: this.store, log: this.log }),
      metricsRoute(this.metrics),
    ];
  }

  /** The drain: no new calls, active calls finish or are ended with the drain message, then everything closes. */
  shutdown(options: ShutdownOptions): Promise<DrainReport> {
    const limits = this.config.current().config.limits;
    return drain({
      registry: this.registry,
      stopAccepting: () => {
        this.deps.readiness.startDraining();
        this.admission.startDraining();
        options.stopAccepting?.();
      },
      timeoutMs: limits.drain_timeout_seconds * 1000,
      message: limits.drain_message,
      hangupGraceMs: DRAIN_HANGUP_GRACE_MS,
      closers: [
        ...options.closers,
        { name: 'call store', close: () => { this.retention.stop(); return this.store.close(); } },
      ],
      log: this.log,
    });
  }
}

export function buildOperations(deps: OperationsDeps): EngineOperations {
  return new EngineOperations(deps);
}
