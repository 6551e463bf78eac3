import type { CallEventRecord, CallOutcome, TurnRecord } from '../../call/index.ts';
import type { CallStartRecord, CallStore } from '../../store/types.ts';
import type { EngineMetrics } from './engine-metrics.ts';

/** Bound on calls remembered between begin and finish, should some call never report its end. */
const MAX_OPEN_CALLS = 10_000;

/**
 * A CallStore that also feeds the call metrics: the call record is the one report of what happened in a
 * call, so outcome counts, turn latencies, barge-ins, tool calls and provider errors are observed as the
 * record is written and can never disagree with it.
 */
export class MeteredCallStore implements CallStore {
  /** Context and start time of calls begun and not yet finished. */
  private readonly open = new Map<string, { context: string; startedAtMs: number }>();

  constructor(private readonly inner: CallStore, private readonly metrics: EngineMetrics) {}

  begin(call: CallStartRecord): void {
    if (this.open.size >= MAX_OPEN_CALLS) this.open.delete(this.open.keys().next().value as string);
    this.open.set(call.id, { context: call.context, startedAtMs: Date.parse(call.startedAt) });
    this.inner.begin(call);
  }

  answered(callId: string, at: string): void {
    this.inner.answered(callId, at);
  }

  addTurn(callId: string, turn: TurnRecord): void {
    if (turn.latency) this.metrics.turn(turn.latency);
    this.inner.addTurn(callId, turn);
  }

  addEvent(callId: string, event: CallEventRecord): void {
    switch (event.kind) {
      case 'barge_in':
        this.metrics.bargeIn(event.reactionMs);
        break;
      case 'false_barge_in':
        this.metrics.falseBargeIn(event.reason);
        break;
      case 'provider_error':
        this.metrics.providerError(event.provider, event.stage);
        break;
      case 'tool_call':
        this.metrics.toolCall(event.name);
        break;
      case 'usage':
        this.metrics.usage(event.usage);
        break;
      case 'dtmf':
        break;
    }
    this.inner.addEvent(callId, event);
  }

  finish(callId: string, end: { endedAt: string; outcome: CallOutcome; hangupCause?: string }): void {
    const call = this.open.get(callId);
    // Only the first end of a call counts (a drained call's teardown reports again).
    if (call) {
      this.open.delete(callId);
      const seconds = (Date.parse(end.endedAt) - call.startedAtMs) / 1000;
      this.metrics.callEnded(call.context, end.outcome, Number.isFinite(seconds) ? seconds : undefined);
    }
    this.inner.finish(callId, end);
  }

  get: CallStore['get'] = (callId) => this.inner.get(callId);
  list: CallStore['list'] = (query) => this.inner.list(query);
  purgeEndedBefore: CallStore['purgeEndedBefore'] = (cutoff) => this.inner.purgeEndedBefore(cutoff);

  close: CallStore['close'] = () => this.inner.close();
}
