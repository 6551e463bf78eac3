import type { Logger } from '@ai-agent/common';
import type { CallRegistry } from '../../telephony/registry.ts';
import type { EngineMetrics } from '../metrics/engine-metrics.ts';
import type { IpcPeer } from './ipc-peer.ts';

/** How often a process 2…N looks whether its live calls changed, and tells process 1. */
const CALLS_REPORT_MS = 250;

export interface ShardLinkDeps {
  peer: IpcPeer;
  registry: CallRegistry;
  metrics: EngineMetrics;
  /** Rereads the config (process 1 asks after its own reload). */
  reload: () => unknown;
  log: Logger;
}

/**
 * Process 2…N's side of the engine: answers process 1's questions (metrics, hangup, reload) and reports its live
 * calls, which process 1 shows, counts for its limits and drain, and balances new callers by.
 */
export class ShardLink {
  private lastReport = '';
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly deps: ShardLinkDeps) {
    const { peer, registry, metrics } = deps;
    peer.handle('metrics', () => metrics.registry.getMetricsAsJSON());
    peer.handle('hangup', (id, reason, message) => registry.hangup(String(id), String(reason), typeof message === 'string' ? message : undefined));
    peer.handle('reload', () => deps.reload());
    this.timer = setInterval(() => this.report(), CALLS_REPORT_MS).unref();
  }

  /** Whether ARI holds this process's Stasis app: process 1 moves callers only to a process whose app is there. */
  ready(app: string, ready: boolean): void {
    this.deps.peer.note('ready', { app, ready });
  }

  private report(): void {
    const calls = this.deps.registry.list();
    const text = JSON.stringify(calls);
    if (text === this.lastReport) return;
    if (this.deps.peer.note('calls', calls)) this.lastReport = text;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
