// What both databases share: the writes a store queues, the purge batch size, and how table rows become call
// records. Each database selects its rows in the shapes below, so the records read back are the same.
import type { CallEventRecord, CallOutcome, TurnLatency, TurnRecord } from '../call/index.ts';
import type { CallRecord, CallStartRecord, CallSummary } from './types.ts';

/** One write of a call record, already redacted by the store that queued it. */
export type WriteOp =
  | { kind: 'begin'; call: CallStartRecord }
  | { kind: 'answered'; callId: string; at: string }
  | { kind: 'addTurn'; callId: string; turn: TurnRecord }
  | { kind: 'addEvent'; callId: string; event: CallEventRecord }
  | { kind: 'finish'; callId: string; end: { endedAt: string; outcome: CallOutcome; hangupCause?: string } };

export const callIdOf = (op: WriteOp): string => (op.kind === 'begin' ? op.call.id : op.callId);

export interface WriteFailure {
  callId: string;
  operation: WriteOp['kind'];
  reason: string;
}

/** Calls deleted per purge transaction, so a large purge never holds the write lock for long. */
export const PURGE_BATCH = 500;

/** Columns of a call summary, in the order both databases select them. */
export const SUMMARY_COLUMNS =
  'id, channel_id, context, transport, codec, caller_number, caller_name, started_at, answered_at, ended_at, outcome, hangup_cause, turn_count';

export interface CallRow {
  id: string;
  channel_id: string | null;
  context: string;
  transport: string;
  codec: string;
  caller_number: string | null;
  caller_name: string | null;
  /** Timestamps as `isoTime` wrote them. */
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  outcome: string | null;
  hangup_cause: string | null;
  turn_count: number;
}

export interface TurnRow {
  speaker: 'caller' | 'agent';
  text: string;
  started_at: string;
  ended_at: string | null;
  /** 0 or 1. */
  interrupted: number;
  endpointing_ms: number | null;
  stt_final_ms: number | null;
  llm_first_token_ms: number | null;
  first_sentence_ms: number | null;
  tts_first_audio_ms: number | null;
  engine_overhead_ms: number | null;
  total_ms: number | null;
}

export interface EventRow {
  kind: CallEventRecord['kind'];
  at: string;
  /** The event's other fields, as JSON text. */
  data: string;
}

/** Turn latency fields and their columns, in one place for writing and reading. */
export const LATENCY_COLUMNS: ReadonlyArray<[keyof TurnLatency, keyof TurnRow]> = [
  ['endpointingMs', 'endpointing_ms'],
  ['sttFinalMs', 'stt_final_ms'],
  ['llmFirstTokenMs', 'llm_first_token_ms'],
  ['firstSentenceMs', 'first_sentence_ms'],
  ['ttsFirstAudioMs', 'tts_first_audio_ms'],
  ['engineOverheadMs', 'engine_overhead_ms'],
  ['totalMs', 'total_ms'],
];

/** Timestamps are stored as UTC ISO 8601 of one shape, so text order is time order (purge and paging rely on it). */
export function isoTime(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError('not an ISO 8601 timestamp');
  return new Date(ms).toISOString();
}

export const optionalIso = (value: string | undefined): string | null => (value === undefined ? null : isoTime(value));

/** A latency worth storing: finite and not negative (anything else is stored as unknown). */
export const latencyValue = (value: number | undefined): number | null =>
  value !== undefined && Number.isFinite(value) && value >= 0 ? value : null;

/** An event's fields other than kind and time, as stored. */
export function eventData(event: CallEventRecord): { kind: CallEventRecord['kind']; at: string; data: string } {
  const { kind, at, ...data } = event;
  return { kind, at: isoTime(at), data: JSON.stringify(data) };
}

export function summaryFromRow(row: CallRow): CallSummary {
  const summary: CallSummary = {
    id: row.id,
    context: row.context,
    transport: row.transport,
    codec: row.codec,
    startedAt: row.started_at,
    turnCount: row.turn_count,
  };
  if (row.channel_id !== null) summary.channelId = row.channel_id;
  if (row.caller_number !== null) summary.callerNumber = row.caller_number;
  if (row.caller_name !== null) summary.callerName = row.caller_name;
  if (row.answered_at !== null) summary.answeredAt = row.answered_at;
  if (row.ended_at !== null) summary.endedAt = row.ended_at;
  if (row.outcome !== null) summary.outcome = row.outcome as CallOutcome;
  if (row.hangup_cause !== null) summary.hangupCause = row.hangup_cause;
  return summary;
}

export function turnFromRow(row: TurnRow): TurnRecord {
  const turn: TurnRecord = { speaker: row.speaker, text: row.text, startedAt: row.started_at, interrupted: row.interrupted === 1 };
  if (row.ended_at !== null) turn.endedAt = row.ended_at;
  const latency: TurnLatency = {};
  let any = false;
  for (const [field, column] of LATENCY_COLUMNS) {
    const value = row[column];
    if (typeof value === 'number') {
      latency[field] = value;
      any = true;
    }
  }
  if (any) turn.latency = latency;
  return turn;
}

export const eventFromRow = (row: EventRow): CallEventRecord =>
  ({ kind: row.kind, at: row.at, ...(JSON.parse(row.data) as object) }) as CallEventRecord;

/** A whole record from its call row and its turn and event rows (in order). */
export function recordFromRows(row: CallRow, turns: readonly TurnRow[], events: readonly EventRow[]): CallRecord {
  const { turnCount: _turnCount, ...call } = summaryFromRow(row);
  return { ...call, turns: turns.map(turnFromRow), events: events.map(eventFromRow) };
}
