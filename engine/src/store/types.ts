// Call records: what the store keeps per call, and the interface a store implements (embedded SQLite by
// default; a server database can replace it when several engines share one history).

export type CallOutcome =
  | 'completed' // the agent ended the call (hangup tool, goodbye)
  | 'caller_hangup'
  | 'transferred'
  | 'no_input' // silence watchdog hung up
  | 'max_duration'
  | 'rejected_busy' // over the concurrency limit
  | 'provider_failure' // apology and hangup after a provider failed with no fallback
  | 'drained' // hung up by a graceful shutdown
  | 'error';

export interface TurnLatency {
  /** End of caller speech (VAD) → endpoint decided. */
  endpointingMs?: number;
  /** Endpoint → STT final text. */
  sttFinalMs?: number;
  /** LLM request → first token. */
  llmFirstTokenMs?: number;
  /** LLM request → first complete sentence. */
  firstSentenceMs?: number;
  /** TTS request of the first sentence → first audio chunk. */
  ttsFirstAudioMs?: number;
  /** Time spent in the engine itself (queues, resampling, scheduling). */
  engineOverheadMs?: number;
  /** End of caller speech → first agent audio written to the media stream. */
  totalMs?: number;
}

export interface TurnRecord {
  speaker: 'caller' | 'agent';
  text: string;
  startedAt: string; // ISO 8601
  endedAt?: string;
  /** Agent turn cut off by a barge-in: `text` is what the caller heard. */
  interrupted: boolean;
  latency?: TurnLatency;
}

export type CallEventRecord =
  /**
   * `reactionMs`: caller speech onset → agent audio stopped leaving the engine; `decisionMs`: → the
   * interruption was decided (the reply is abandoned). Both from the caller's onset as received.
   */
  | { kind: 'barge_in'; at: string; reactionMs?: number; decisionMs?: number; heardText: string }
  /** Caller speech over the agent that did not interrupt it (noise, a backchannel such as "mm-hm"). */
  | { kind: 'false_barge_in'; at: string; reason: string; transcript: string; speechMs: number }
  | { kind: 'tool_call'; at: string; name: string; arguments: string; result: string }
  | { kind: 'provider_error'; at: string; provider: string; stage: 'stt' | 'llm' | 'tts' | 'agent'; message: string }
  | { kind: 'dtmf'; at: string; digits: string };

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
  /** Newest first. `before`: the id of the last call of the previous page; the list continues after it. */
  list(query: { limit: number; before?: string }): Awaitable<CallSummary[]>;
  /** Deletes calls that ended before `cutoff`; returns how many. */
  purgeEndedBefore(cutoff: string): Awaitable<number>;
  /** Settles once every write made before it is stored; later writes are refused. */
  close(): Awaitable<void>;
}
