import { randomUUID } from 'node:crypto';
import type { Logger, PostCallWebhookConfig } from '@ai-agent/common';
import type { CallEventRecord, CallOutcome, TurnRecord } from '../call/index.ts';
import type { CallStartRecord, CallStore } from '../store/types.ts';
import type { Outbox } from './outbox.ts';

/** Finished calls remembered to recognise a repeated end (far more than calls end at once). */
const MAX_REMEMBERED = 10_000;

/**
 * A CallStore that also queues each finished call for the post-call webhook: once the call's end is written,
 * its record is read back (reads follow writes) and put in the outbox as a `call.ended` event. The record is the
 * stored one, so it carries what the store keeps and as it keeps it (caller number masked unless
 * logging.show_phone_numbers, tool arguments per store.store_tool_arguments).
 */
export class PostCallEvents implements CallStore {
  private readonly queueing = new Set<Promise<void>>();
  /** Calls already queued: a drained call's teardown reports its end a second time. */
  private readonly finished = new Set<string>();

  constructor(
    private readonly inner: CallStore,
    private readonly config: PostCallWebhookConfig,
    private readonly outbox: Outbox,
    private readonly queued: () => void,
    private readonly log: Logger,
  ) {}

  begin(call: CallStartRecord): void {
    this.inner.begin(call);
  }

  answered(callId: string, at: string): void {
    this.inner.answered(callId, at);
  }

  addTurn(callId: string, turn: TurnRecord): void {
    this.inner.addTurn(callId, turn);
  }

  addEvent(callId: string, event: CallEventRecord): void {
    this.inner.addEvent(callId, event);
  }

  finish(callId: string, end: { endedAt: string; outcome: CallOutcome; hangupCause?: string }): void {
    this.inner.finish(callId, end);
    if (this.finished.has(callId)) return;
    if (this.finished.size >= MAX_REMEMBERED) this.finished.delete(this.finished.values().next().value as string);
    this.finished.add(callId);
    const queueing = this.queue(callId, end).catch((err: unknown) => {
      this.log.error({ callId, err: { message: (err as Error).message } }, 'post-call webhook event could not be queued');
    });
    this.queueing.add(queueing);
    void queueing.finally(() => this.queueing.delete(queueing));
  }

  get(callId: string) {
    return this.inner.get(callId);
  }

  list(query: { limit: number; before?: string }) {
    return this.inner.list(query);
  }

  purgeEndedBefore(cutoff: string) {
    return this.inner.purgeEndedBefore(cutoff);
  }

  /** Waits for the events of calls already finished to be queued; the store itself is closed by its owner. */
  async settle(): Promise<void> {
    await Promise.all(this.queueing);
  }

  close() {
    return this.inner.close();
  }

  private async queue(callId: string, end: { endedAt: string; outcome: CallOutcome; hangupCause?: string }): Promise<void> {
    // A store that failed to keep the record still has the call's end to tell.
    const record = (await this.inner.get(callId)) ?? { id: callId, ...end };
    const context = 'context' in record ? record.context : undefined;
    if (this.config.contexts.length > 0 && (!context || !this.config.contexts.includes(context))) return;
    const id = randomUUID();
    const body = JSON.stringify({ type: 'call.ended', id, created_at: new Date().toISOString(), call: record });
    if (!(await this.outbox.add({ id, url: this.config.url, body }))) {
      this.log.error({ callId, queued: this.outbox.size }, 'webhook outbox full: the post-call event of this call was dropped');
      return;
    }
    this.queued();
  }
}
