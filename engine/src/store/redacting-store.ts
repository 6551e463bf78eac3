import type { CallEventRecord, CallOutcome, TurnRecord } from '../call/index.ts';
import type { WriteOp } from './call-rows.ts';
import { redactEvent, redactStart, redactText, redactTurn, type RedactionPolicy } from './record-redaction.ts';
import type { CallStartRecord } from './types.ts';

/**
 * The writes of CallStore, each turned into a redacted WriteOp the same way whatever database keeps it; a store
 * supplies `write`, which queues the op and returns at once.
 */
export abstract class RedactingWrites {
  protected abstract readonly redaction: RedactionPolicy;

  /** Queues one write; `makeOp` redacts the record (a failure there refuses it, like a failure in the database). */
  protected abstract write(operation: WriteOp['kind'], callId: string, makeOp: () => WriteOp): void;

  begin(call: CallStartRecord): void {
    this.write('begin', call.id, () => ({ kind: 'begin', call: redactStart(call, this.redaction) }));
  }

  answered(callId: string, at: string): void {
    this.write('answered', callId, () => ({ kind: 'answered', callId, at }));
  }

  addTurn(callId: string, turn: TurnRecord): void {
    this.write('addTurn', callId, () => ({ kind: 'addTurn', callId, turn: redactTurn(turn) }));
  }

  addEvent(callId: string, event: CallEventRecord): void {
    this.write('addEvent', callId, () => ({ kind: 'addEvent', callId, event: redactEvent(event, this.redaction) }));
  }

  finish(callId: string, end: { endedAt: string; outcome: CallOutcome; hangupCause?: string }): void {
    this.write('finish', callId, () => ({ kind: 'finish', callId, end: { ...end, hangupCause: redactText(end.hangupCause) } }));
  }
}
