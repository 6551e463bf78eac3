import type { CallEventRecord, CallOutcome, TurnRecord } from '../../call/index.ts';
import type { CallListQuery, CallRecord, CallStartRecord, CallSummary, ManagedCallStore, StoreCounters } from '../../store/types.ts';
import type { IpcPeer } from './ipc-peer.ts';

/** The record operations a process 2…N forwards to process 1's store (which redacts and writes them). */
export const STORE_WRITES = ['begin', 'answered', 'addTurn', 'addEvent', 'finish'] as const;
export type StoreWrite = (typeof STORE_WRITES)[number];

/**
 * The call store of engine processes 2…N: every write goes to process 1 over IPC (ordered, so a read asked after a
 * write sees it), where the one store of the engine redacts and keeps it. Records left open by a process that
 * stopped are closed by process 1, which saw them begin. If process 1 is gone (this process then drains), the
 * calls still under way are written to the engine's store opened here, so their turns and outcome are kept.
 */
export class IpcCallStore implements ManagedCallStore {
  readonly ready = Promise.resolve();
  private readonly ipcCounters: StoreCounters = { writeErrors: 0, writeRetries: 0 };
  private own: ManagedCallStore | null = null;

  constructor(private readonly peer: IpcPeer, private readonly openOwn: () => ManagedCallStore) {}

  get counters(): StoreCounters {
    return this.own?.counters ?? this.ipcCounters;
  }

  /** This process's own store once process 1 is gone (opened then), else null. */
  private ownStore(): ManagedCallStore | null {
    if (this.own || this.peer.connected) return this.own;
    this.own = this.openOwn();
    return this.own;
  }

  private write(op: StoreWrite, ...args: unknown[]): void {
    let own: ManagedCallStore | null;
    try {
      own = this.ownStore();
    } catch {
      this.ipcCounters.writeErrors++;
      return;
    }
    if (own) (own[op] as (...a: unknown[]) => void)(...args);
    else if (!this.peer.note('store', { op, args })) this.ipcCounters.writeErrors++;
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
  async get(callId: string): Promise<CallRecord | undefined> {
    const own = this.ownStore();
    return own ? own.get(callId) : this.peer.request<CallRecord | undefined>('store.get', callId);
  }
  async list(query: CallListQuery): Promise<CallSummary[]> {
    const own = this.ownStore();
    return own ? own.list(query) : this.peer.request<CallSummary[]>('store.list', query);
  }
  /** Process 1 runs the retention purge for the whole engine. */
  purgeEndedBefore(): number {
    return 0;
  }
  pendingWrites(): number {
    return this.own?.pendingWrites() ?? 0;
  }
  closeAbandoned(): Promise<number> {
    return Promise.resolve(0);
  }
  /** Settles once process 1 has taken every write sent before it (the channel keeps order), or this process's own store has written its. */
  async close(): Promise<void> {
    if (this.own) return this.own.close();
    await this.peer.request('store.flush').catch(() => undefined);
  }
}
