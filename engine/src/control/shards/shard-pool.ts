import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Logger } from '@ai-agent/common';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { CallStartRecord, CallStore, CallListQuery } from '../../store/types.ts';
import type { Admission } from '../../telephony/admission.ts';
import type { ActiveCall, CallRegistry } from '../../telephony/registry.ts';
import type { RemoteDecision } from './ipc-admission.ts';
import { IpcPeer } from './ipc-peer.ts';
import { STORE_WRITES, type StoreWrite } from './ipc-call-store.ts';
import { SHARD_ENV, shardApp } from './shard-layout.ts';

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** A process that stopped on its own is started again after this, doubled per quick failure up to the cap. */
const RESTART_DELAY_MS = { first: 1_000, max: 30_000 } as const;
/** A process that ran this long before stopping counts as healthy: its next restart waits the first delay again. */
const HEALTHY_RUN_MS = 60_000;
/** A caller moved to a process counts towards its load until its report shows the call, or for this long. */
const MOVE_COUNTS_MS = 5_000;

export interface ShardPoolDeps {
  /** Processes 2…count are started; this process is 1. */
  count: number;
  /** The operator's Stasis app (process 1's); the others' names derive from it. */
  app: string;
  /** Process 1's own call store: the others' records are written through it. */
  records: CallStore;
  /** Process 1's limits, which count every process's calls. */
  admission: Admission;
  /** Hangs up a caller whose process stopped under it (through process 1's ARI). */
  hangupChannel: (channelId: string) => Promise<void>;
  /** How long a stopping process may take to drain its calls. */
  stopTimeoutMs: () => number;
  log: Logger;
}

interface Shard {
  index: number;
  app: string;
  child: ChildProcess | null;
  peer: IpcPeer | null;
  ready: boolean;
  calls: ActiveCall[];
  /** When callers were moved to it and not yet seen in its report. */
  moves: number[];
  /** Calls it began and has not finished: closed by process 1 if the process stops. */
  open: Map<string, string | undefined>;
  /** Its admitted calls' slots, by token: given back when it says so, or when it stops. */
  slots: Map<number, () => void>;
  startedAt: number;
  restartDelayMs: number;
}

/**
 * Process 1's view of engine processes 2…N: starts them (and again when one stops), takes their call records into
 * the one store, knows their live calls, and picks where each new caller goes. Every call is pinned to the process
 * that took it for its whole life.
 */
export class ShardPool {
  private readonly shards: Shard[] = [];
  private closing = false;

  constructor(private readonly deps: ShardPoolDeps) {
    for (let index = 2; index <= deps.count; index++) {
      this.shards.push({ index, app: shardApp(deps.app, index), child: null, peer: null, ready: false, calls: [], moves: [], open: new Map(), slots: new Map(), startedAt: 0, restartDelayMs: RESTART_DELAY_MS.first });
    }
  }

  start(): void {
    for (const shard of this.shards) this.spawn(shard);
  }

  private spawn(shard: Shard): void {
    const { log } = this.deps;
    const child = fork(process.argv[1]!, process.argv.slice(2), {
      env: { ...process.env, [SHARD_ENV.index]: String(shard.index), [SHARD_ENV.count]: String(this.deps.count) },
      stdio: 'inherit',
    });
    const peer = new IpcPeer(child, log.child({ process: shard.index }));
    Object.assign(shard, { child, peer, ready: false, calls: [], moves: [], startedAt: Date.now() });
    peer.onNote('ready', (body) => {
      shard.ready = (body as { ready?: unknown } | null)?.ready === true;
      if (shard.ready) log.info({ process: shard.index, app: shard.app }, 'engine process ready: new callers may be moved to it');
      else log.warn({ process: shard.index, app: shard.app }, 'engine process lost ARI: no new callers go to it');
    });
    peer.onNote('calls', (body) => this.takeReport(shard, body));
    peer.onNote('store', (body) => this.takeWrite(shard, body));
    peer.handle('store.get', (id) => this.deps.records.get(String(id)));
    peer.handle('store.list', (query) => this.deps.records.list(query as CallListQuery));
    peer.handle('store.flush', () => true);
    peer.handle('admit', (context) => this.admit(shard, String(context)));
    peer.onNote('release', (token) => {
      shard.slots.get(Number(token))?.();
      shard.slots.delete(Number(token));
    });
    child.on('exit', (code, signal) => this.exited(shard, child, code, signal));
    log.info({ process: shard.index, pid: child.pid, app: shard.app }, 'engine process started');
  }

  private nextToken = 1;

  private async admit(shard: Shard, context: string): Promise<RemoteDecision> {
    const decision = await this.deps.admission.tryAdmit(context);
    if (!decision.admit) return decision;
    const token = this.nextToken++;
    shard.slots.set(token, decision.release);
    return { admit: true, token };
  }

  private takeReport(shard: Shard, body: unknown): void {
    if (!Array.isArray(body)) return;
    const grew = body.length - shard.calls.length;
    if (grew > 0) shard.moves.splice(0, grew);
    shard.calls = body as ActiveCall[];
  }

  private takeWrite(shard: Shard, body: unknown): void {
    const { op, args } = (body ?? {}) as { op?: unknown; args?: unknown };
    if (!STORE_WRITES.includes(op as StoreWrite) || !Array.isArray(args)) {
      this.deps.log.warn({ process: shard.index }, 'malformed call record write from an engine process dropped');
      return;
    }
    if (op === 'begin') {
      const call = args[0] as CallStartRecord;
      shard.open.set(call.id, call.channelId);
    } else if (op === 'finish') {
      shard.open.delete(String(args[0]));
    }
    (this.deps.records[op as StoreWrite] as (...a: unknown[]) => void)(...args);
  }

  private exited(shard: Shard, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (shard.child !== child) return;
    const { log } = this.deps;
    shard.peer?.failPending('engine process stopped');
    Object.assign(shard, { child: null, peer: null, ready: false, calls: [], moves: [] });
    // Its callers hear nothing any more: their records are closed and their channels hung up, not left open.
    const endedAt = new Date().toISOString();
    for (const [callId, channelId] of shard.open) {
      this.deps.records.finish(callId, { endedAt, outcome: 'error', hangupCause: `engine process ${shard.index} stopped` });
      if (channelId) void this.deps.hangupChannel(channelId).catch(() => undefined);
    }
    const lost = shard.open.size;
    shard.open.clear();
    for (const release of shard.slots.values()) release();
    shard.slots.clear();
    if (this.closing) {
      log.info({ process: shard.index, code, signal }, 'engine process stopped');
      return;
    }
    if (Date.now() - shard.startedAt >= HEALTHY_RUN_MS) shard.restartDelayMs = RESTART_DELAY_MS.first;
    log.error({ process: shard.index, code, signal, callsEnded: lost, restartInMs: shard.restartDelayMs }, 'engine process stopped unexpectedly; starting it again');
    setTimeout(() => {
      if (!this.closing) this.spawn(shard);
    }, shard.restartDelayMs).unref();
    shard.restartDelayMs = Math.min(shard.restartDelayMs * 2, RESTART_DELAY_MS.max);
  }

  /**
   * Where a new caller goes: the app of the least-loaded ready process, or undefined for this one (which wins ties,
   * so a quiet engine keeps its calls in one process).
   */
  target(localLoad: number): string | undefined {
    return this.leastLoaded(localLoad)?.app;
  }

  /**
   * Where a new dialplan AudioSocket connection goes, chosen as `target` chooses: a function that hands the socket
   * over (with what was read of it after its UUID) and returns false if it could not (the socket is still this
   * process's), or null for this process.
   */
  connectionTarget(localLoad: number): ((socket: Socket, uuid: string, rest: Buffer) => boolean) | null {
    const shard = this.leastLoaded(localLoad);
    const peer = shard?.peer;
    if (!shard || !peer) return null;
    return (socket, uuid, rest) =>
      peer.noteWithSocket('audiosocket', { uuid, rest: rest.toString('base64') }, socket, (err) => {
        this.deps.log.warn({ process: shard.index, reason: err.message }, 'dialplan AudioSocket call lost on its way to an engine process');
        socket.destroy();
      });
  }

  private leastLoaded(localLoad: number): Shard | undefined {
    const now = Date.now();
    let best: Shard | undefined;
    let bestLoad = localLoad;
    for (const shard of this.shards) {
      if (!shard.ready) continue;
      while (shard.moves.length && now - shard.moves[0]! > MOVE_COUNTS_MS) shard.moves.shift();
      const load = shard.calls.length + shard.moves.length;
      if (load < bestLoad) {
        best = shard;
        bestLoad = load;
      }
    }
    best?.moves.push(now);
    return best;
  }

  private remoteCalls(): ActiveCall[] {
    return this.shards.flatMap((s) => s.calls);
  }

  /** The live calls of every process: what the control API, the limits' view and the drain see. */
  registry(local: CallRegistry): CallRegistry {
    return {
      list: () => [...local.list(), ...this.remoteCalls()],
      get: (id) => local.get(id) ?? this.remoteCalls().find((c) => c.info.id === id),
      count: (context) => local.count(context) + this.remoteCalls().filter((c) => !context || c.info.context === context).length,
      hangup: async (id, reason, message) => {
        if (await local.hangup(id, reason, message)) return true;
        const shard = this.shards.find((s) => s.calls.some((c) => c.info.id === id));
        return shard?.peer ? shard.peer.request<boolean>('hangup', id, reason, message) : false;
      },
    };
  }

  /** The metrics of every running process 2…N (one that does not answer is left out of this scrape). */
  async metrics(): Promise<MetricsJson[]> {
    const answers = await Promise.all(this.shards.map((s) => s.peer?.request<MetricsJson>('metrics').catch(() => null) ?? null));
    return answers.filter((a): a is MetricsJson => Array.isArray(a));
  }

  /** Processes 2…N reread the config after process 1 did. */
  reload(): void {
    for (const shard of this.shards) {
      shard.peer?.request('reload').catch((err: Error) => this.deps.log.warn({ process: shard.index, reason: err.message }, 'engine process reload failed'));
    }
  }

  /** Stops every process (each drains its own calls first) and waits for them. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.shards.map(async ({ child }) => {
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), this.deps.stopTimeoutMs());
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
