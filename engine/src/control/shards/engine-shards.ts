import { ConfigError, type EngineConfig, type Logger } from '@ai-agent/common';
import { Socket } from 'node:net';
import type { ManagedCallStore } from '../../store/types.ts';
import type { AudioSocketServer } from '../../transport/audiosocket/audiosocket-server.ts';
import type { Admission } from '../../telephony/admission.ts';
import type { Telephony } from '../../telephony/build-telephony.ts';
import type { CallRegistry } from '../../telephony/registry.ts';
import type { CallDispatch } from '../../telephony/stasis-app.ts';
import type { Closer } from '../lifecycle/drain.ts';
import type { EngineOperations } from '../operations.ts';
import { IpcAdmission } from './ipc-admission.ts';
import { IpcCallStore } from './ipc-call-store.ts';
import { IpcPeer } from './ipc-peer.ts';
import { ShardLink } from './shard-link.ts';
import { ShardPool } from './shard-pool.ts';
import { configForShard, rtpSliceProblem, shardCount, shardPlaceFromEnv, type ShardPlace } from './shard-layout.ts';

/** Beyond the drain timeout, what a stopping process may take to close its listeners and store. */
const STOP_GRACE_MS = 30_000;

/**
 * This process's part in an engine spread over several processes (`shards:`): main asks it what to change, and it
 * wires process 1's pool or processes 2…N's link. With `shards: 1` every answer is "as before".
 */
export class EngineShards {
  private pool: ShardPool | null = null;
  /** The channel to process 1, in processes 2…N. */
  private readonly peer: IpcPeer | null;

  private constructor(readonly place: ShardPlace, log: Logger) {
    this.peer = place.index > 1 ? new IpcPeer(process, log) : null;
  }

  /** Throws ConfigError (key `shards`) when the layout cannot work with this config. */
  static plan(config: EngineConfig, env: NodeJS.ProcessEnv, log: Logger): EngineShards {
    const place = shardPlaceFromEnv(env) ?? { index: 1, count: shardCount(config) };
    const problem = rtpSliceProblem(config, place.count);
    if (problem) throw new ConfigError('shards', problem);
    return new EngineShards(place, log);
  }

  /** One of processes 2…N, started by process 1. */
  get isShard(): boolean {
    return this.place.index > 1;
  }

  configFor(config: EngineConfig): EngineConfig {
    return configForShard(config, this.place);
  }

  /** Processes 2…N write through process 1, and through a store of their own once it is gone. */
  records(): ((openOwn: () => ManagedCallStore) => ManagedCallStore) | undefined {
    const peer = this.peer;
    return peer ? (openOwn) => new IpcCallStore(peer, openOwn) : undefined;
  }

  /** Processes 2…N ask process 1, which holds the limits of the whole engine. */
  admission(local: Admission, busyMessage: () => string): Admission {
    return this.peer ? new IpcAdmission(this.peer, busyMessage) : local;
  }

  /** VAD threads per process, so the whole engine keeps the single-process default (`defaultWorkers`). */
  vadWorkers(defaultWorkers: number): number | undefined {
    return this.place.count === 1 ? undefined : Math.max(1, Math.floor(defaultWorkers / this.place.count));
  }

  /** Process 1 with others: starts them, and merges their metrics and reloads into its own. */
  startPool(ops: EngineOperations, hangupChannel: (channelId: string) => Promise<void>, log: Logger): Closer | null {
    if (this.isShard || this.place.count === 1) return null;
    const settings = () => ops.config.current().config;
    const pool = new ShardPool({
      count: this.place.count,
      app: settings().ari.app,
      records: ops.records,
      admission: ops.admission,
      hangupChannel,
      stopTimeoutMs: () => settings().limits.drain_timeout_seconds * 1000 + STOP_GRACE_MS,
      log,
    });
    this.pool = pool;
    ops.afterReload = () => pool.reload();
    ops.metrics.mergeFrom(() => pool.metrics());
    pool.start();
    log.info({ processes: this.place.count }, 'engine spread over processes: new callers go to the least-loaded');
    return { name: 'engine processes', close: () => pool.close() };
  }

  /** Where process 1's Stasis app sends new callers. */
  dispatch(): CallDispatch | undefined {
    const pool = this.pool;
    return pool ? { target: (load) => pool.target(load) } : undefined;
  }

  /**
   * Process 1 with others: calls the dialplan sends to its AudioSocket listener go to the least-loaded process, as
   * Stasis callers do. Process 1 reads the UUID (to tell them from its own ARI calls' connections), then passes
   * the socket on; if the channel to that process is gone, it keeps the call.
   */
  spreadDialplanCalls(audiosocket: AudioSocketServer, local: CallRegistry): void {
    const pool = this.pool;
    if (!pool) return;
    audiosocket.handOffDialplanCalls((uuid) => {
      const send = pool.connectionTarget(local.count());
      return send && ((socket, rest) => {
        if (!send(socket, uuid, rest)) audiosocket.adopt(socket, uuid, rest);
      });
    });
  }

  /** The live calls the control plane and the drain see: every process's, in process 1. */
  registry(local: CallRegistry): CallRegistry {
    return this.pool ? this.pool.registry(local) : local;
  }

  /** Processes 2…N: report to process 1, take the dialplan calls it passes on, and stop (draining) when it is gone. */
  link(ops: EngineOperations, telephony: Telephony, audiosocket: AudioSocketServer, log: Logger): void {
    if (!this.peer) return;
    const link = new ShardLink({ peer: this.peer, registry: telephony.registry, metrics: ops.metrics, reload: () => ops.reload(), log });
    this.peer.onNote('audiosocket', (body, handle) => {
      const { uuid, rest } = (body ?? {}) as { uuid?: unknown; rest?: unknown };
      if (!(handle instanceof Socket)) return log.warn('a dialplan AudioSocket call came without its connection; dropped');
      if (typeof uuid !== 'string' || typeof rest !== 'string') {
        log.warn('malformed dialplan AudioSocket hand-over from engine process 1; connection closed');
        handle.destroy();
        return;
      }
      audiosocket.adopt(handle, uuid, Buffer.from(rest, 'base64'));
    });
    const app = ops.config.current().config.ari.app;
    telephony.ari?.on('connected', () => link.ready(app, true));
    telephony.ari?.on('disconnected', () => link.ready(app, false));
    process.once('disconnect', () => {
      log.warn('engine process 1 is gone: draining and stopping');
      link.close();
      process.kill(process.pid, 'SIGTERM');
    });
  }
}
