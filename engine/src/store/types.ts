// Call records: what the store keeps per call, and the interface a store implements (embedded SQLite by
// default; a server database can replace it when several engines share one history).
import type { CallEventRecord, CallOutcome, TurnRecord } from '../call/index.ts';

export interface CallStartRecord {
  id: string;
  channelId?: string;
  context: string;
  transport: string;
  codec: string;
  /** Already masked per the redaction policy by the caller of the store. */
  callerNumber?: string;
  callerName?: string;
  startedAt: string;
}

export interface CallRecord extends CallStartRecord {
  answeredAt?: string;
  endedAt?: string;
  outcome?: CallOutcome;
  hangupCause?: string;
  turns: TurnRecord[];
  events: CallEventRecord[];
}

export type CallSummary = Omit<CallRecord, 'turns' | 'events'> & { turnCount: number };

/** A page of recorded calls, newest first, and what they must match (every filter given). */
export interface CallListQuery {
  limit: number;
  /** The id of the last call of the previous page; the list continues after it. */
  before?: string;
  /** Started at or after this time (ISO 8601). */
  from?: string;
  /** Started before this time (ISO 8601). */
  to?: string;
  context?: string;
  /** How the call ended; `in_progress` for calls that have not. */
  outcome?: CallOutcome | 'in_progress';
  /**
   * Part of the caller's name or number, any case, as stored: a number is stored masked (last four digits) unless
   * `logging.show_phone_numbers`, so the digits hidden from operators cannot be searched for either.
   */
  caller?: string;
}

/** A store on disk answers later (off the event loop); one in memory may answer at once. */
export type Awaitable<T> = T | Promise<T>;

/**
 * Writes return at once and never throw: they are queued, and a store that keeps them on disk writes them
 * off the event loop. Reads come after every write made before them.
 */
export interface CallStore {
  begin(call: CallStartRecord): void;
  answered(callId: string, at: string): void;
  addTurn(callId: string, turn: TurnRecord): void;
  addEvent(callId: string, event: CallEventRecord): void;
  finish(callId: string, end: { endedAt: string; outcome: CallOutcome; hangupCause?: string }): void;
  get(callId: string): Awaitable<CallRecord | undefined>;
  /** Newest first, filtered (CallListQuery). */
  list(query: CallListQuery): Awaitable<CallSummary[]>;
  /** Deletes calls that ended before `cutoff`; returns how many. */
  purgeEndedBefore(cutoff: string): Awaitable<number>;
  /** Settles once every write made before it is stored; later writes are refused. */
  close(): Awaitable<void>;
}

export interface StoreCounters {
  /** Writes refused or lost (unknown call, malformed record, disk error, store closed, too many waiting). The calls are not affected. */
  writeErrors: number;
  /** Attempts to write that found the database locked or unavailable; the records waited and were tried again. */
  writeRetries: number;
}

/** What the engine needs of its store beyond CallStore: housekeeping at start, and counters for the metrics. */
export interface ManagedCallStore extends CallStore {
  readonly counters: Readonly<StoreCounters>;
  /** Writes accepted and not yet stored (or refused). */
  pendingWrites(): number;
  /**
   * Settles after the first attempt to open the database: rejects when this engine can never use it (a schema
   * from a newer engine, refused credentials), so the engine refuses to start; resolves otherwise.
   */
  readonly ready: Promise<void>;
  /**
   * Ends records left open by a previous run of this engine that stopped without finishing them (crash, kill -9).
   * Call it at start, before any call is taken (writes made after it come after it); resolves to how many.
   */
  closeAbandoned(at: string): Promise<number>;
}
