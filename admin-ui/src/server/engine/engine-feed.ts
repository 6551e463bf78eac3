import type { Logger } from '@ai-agent/common';
import type { EngineClient } from './engine-client.ts';
import { metricSummary } from './metric-summary.ts';

export type FeedEvent = { type: 'call' | 'status' | 'metrics'; data: unknown };
export type FeedListener = (event: FeedEvent) => void;

export interface EngineStatus {
  health: unknown;
  ready: { status: 'ready' | 'not_ready' | 'unreachable'; checks: Record<string, boolean> };
}

type Row = Record<string, unknown> & { id: string };

/** Recent records polled each tick: a call in progress is among them, so its turn count shows new turns. */
const RECENT = 50;
const METRICS_EVERY_MS = 5000;

/**
 * The engine's live state for every SSE client: ONE timer (running only while someone listens) asks the
 * engine for its calls list and health, and fans out only what changed — a call whose state, turn count or
 * outcome moved, the health/readiness when it changes, and a few metric values every ~5 s.
 */
export class EngineFeed {
  private readonly listeners = new Set<FeedListener>();
  private timer: NodeJS.Timeout | undefined;
  private readonly calls = new Map<string, string>();
  private status: string | undefined;
  private lastStatus: EngineStatus | undefined;
  private lastMetricsAt = 0;
  private polling = false;
  private primed = false;

  constructor(private readonly engine: EngineClient, private readonly intervalMs: number, private readonly log: Logger) {}

  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    if (this.lastStatus) listener({ type: 'status', data: this.lastStatus });
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), this.intervalMs);
      void this.tick();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.calls.clear();
    this.primed = false;
    this.status = undefined;
    this.lastMetricsAt = 0;
  }

  private emit(event: FeedEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /** Health and readiness in the admin API's shape; `unreachable` when the engine does not answer. */
  async engineStatus(): Promise<EngineStatus> {
    try {
      const [health, ready] = await Promise.all([this.engine.request('GET', '/health'), this.engine.request('GET', '/ready')]);
      const waiting = (ready.body as { waiting?: unknown }).waiting;
      const checks = Object.fromEntries((Array.isArray(waiting) ? waiting : []).map((name) => [String(name), false]));
      return { health: health.body, ready: { status: ready.status === 200 ? 'ready' : 'not_ready', checks } };
    } catch {
      return { health: null, ready: { status: 'unreachable', checks: {} } };
    }
  }

  private async tick(): Promise<void> {
    if (this.polling) return; // a slow engine: skip a beat rather than pile requests up
    this.polling = true;
    try {
      await this.pollStatus();
      if (this.lastStatus?.ready.status !== 'unreachable') {
        await this.pollCalls();
        if (Date.now() - this.lastMetricsAt >= METRICS_EVERY_MS) await this.pollMetrics();
      }
    } catch (err) {
      this.log.debug({ reason: (err as Error).message }, 'engine poll failed');
    } finally {
      this.polling = false;
    }
  }

  private async pollStatus(): Promise<void> {
    const status = await this.engineStatus();
    // Uptime moves every second; it is not a change worth a push.
    const key = JSON.stringify({ ...status, health: { ...(status.health as object), uptime_s: undefined } });
    this.lastStatus = status;
    if (key === this.status) return;
    this.status = key;
    this.emit({ type: 'status', data: status });
  }

  private async pollCalls(): Promise<void> {
    const reply = await this.engine.request('GET', `/calls?limit=${RECENT}`);
    if (reply.status !== 200) return;
    const { active = [], recent = [] } = reply.body as { active?: Row[]; recent?: Row[] };
    const merged = new Map<string, Row>();
    for (const row of recent) merged.set(row.id, { ...row, live: false });
    for (const row of active) merged.set(row.id, { ...merged.get(row.id), ...row, live: true });
    for (const [id, summary] of merged) {
      const key = JSON.stringify(summary);
      if (this.calls.get(id) === key) continue;
      this.calls.set(id, key);
      // On the first poll only calls in progress are news; the history is what GET /api/calls is for.
      if (this.primed || summary.live === true) this.emit({ type: 'call', data: summary });
    }
    this.primed = true;
    for (const id of this.calls.keys()) if (!merged.has(id)) this.calls.delete(id);
  }

  private async pollMetrics(): Promise<void> {
    this.lastMetricsAt = Date.now();
    const reply = await this.engine.request('GET', '/metrics');
    if (reply.status === 200 && typeof reply.body === 'string') this.emit({ type: 'metrics', data: metricSummary(reply.body) });
  }
}
