import type { CallEventRecord, CallOutcome, TurnRecord } from '../../call/index.ts';
import type { CallListQuery, CallRecord, CallStartRecord, CallSummary, ManagedCallStore, StoreCounters } from '../../store/types.ts';
import type { IpcPeer } from './ipc-peer.ts';

/** The record operations a process 2…N forwards to process 1's store (which redacts and writes them). */
export const STORE_WRITES = ['begin', 'answered', 'addTurn', 'addEvent', 'finish'] as const;
export type StoreWrite = (typeof STORE_WRITES)[number];

/**
 * The call store of engine processes 2…N: every write goes to process 1 over IPC (ordered, so a read asked after a
 * write sees it), where the one store of the engine redacts and keeps it. Records left open by a process that
 * stopped are closed by process 1, which saw them begin.
 */
export class IpcCallStore implements ManagedCallStore {
  readonly counters: StoreCounters = { writeErrors: 0, writeRetries: 0 };
  readonly ready = Promise.resolve();

  constructor(private readonly peer: IpcPeer) {}

  private write(op: StoreWrite, ...args: unknown[]): void {
    if (!this.peer.note('store', { op, args })) this.counters.writeErrors++;
  }

  begin(call: CallStartRecord): void {
    this.write('begin', call);
  }
  answered(callId: string, at: string): void {
    this.write('answered', callId, at);
  }
  addTurn(callId: string, turn: TurnRecord): void {
    this.write('addTurn', callId, turn);
  }
  addEvent(callId: string, event: CallEventRecord): void {
    this.write('addEvent', callId, event);
  }
  finish(callId: string, end: { endedAt: string; outcome: CallOutcome; hangupCause?: string }): void {
    this.write('finish', callId, end);
  }
  get(callId: string): Promise<CallRecord | undefined> {
    return this.peer.request<CallRecord | undefined>('store.get', callId);
  }
  list(query: CallListQuery): Promise<CallSummary[]> {
    return this.peer.request<CallSummary[]>('store.list', query);
  }
  /** Process 1 runs the retention purge for the whole engine. */
  purgeEndedBefore(): number {
    return 0;
  }
  pendingWrites(): number {
    return 0;
  }
  closeAbandoned(): Promise<number> {
    return Promise.resolve(0);
  }
  /** Settles once process 1 has taken every write sent before it (the channel keeps order). */
  async close(): Promise<void> {
    await this.peer.request('store.flush').catch(() => undefined);
  }
}
