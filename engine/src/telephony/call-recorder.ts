import { maskPhoneNumber, scrubber } from '@ai-agent/common';
import type { CallInfo, CallOutcome, CallRecordSink } from '../call/index.ts';
import type { CallStore } from '../store/types.ts';

const now = (): string => new Date().toISOString();

/** Writes one call's record through its life; a missing store (tests, store disabled) makes it a no-op. */
export class CallRecorder {
  readonly startedAt = now();
  answeredAt: string | undefined;
  private finished = false;

  constructor(private readonly store: CallStore | null, private readonly info: CallInfo) {
    const number = info.callerNumber;
    store?.begin({
      id: info.id,
      channelId: info.channelId,
      context: info.context,
      transport: info.transport,
      codec: info.codec,
      callerNumber: number && !scrubber.showPhoneNumbers ? maskPhoneNumber(number) : number,
      callerName: info.callerName,
      startedAt: this.startedAt,
    });
  }

  answered(): void {
    this.answeredAt = now();
    this.store?.answered(this.info.id, this.answeredAt);
  }

  readonly sink: CallRecordSink = {
    turn: (turn) => this.store?.addTurn(this.info.id, turn),
    event: (event) => this.store?.addEvent(this.info.id, event),
  };

  finish(outcome: CallOutcome, hangupCause?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.store?.finish(this.info.id, { endedAt: now(), outcome, hangupCause });
  }
}
