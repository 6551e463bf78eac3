import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import type { Logger } from '@ai-agent/common';
import { migrate } from './migrations.ts';
import { redactEvent, redactStart, redactText, redactTurn, type RedactionPolicy } from './record-redaction.ts';
import type {
  CallEventRecord,
  CallOutcome,
  CallRecord,
  CallStartRecord,
  CallStore,
  CallSummary,
  TurnLatency,
  TurnRecord,
} from './types.ts';

export interface SqliteCallStoreOptions {
  /** Database file; its directory is created 0700 and the file 0600 (SQLite gives -wal/-shm the same mode). */
  path: string;
  redaction: RedactionPolicy;
  log: Logger;
}

export interface StoreCounters {
  /** Writes refused (unknown call, malformed record, disk error). The call itself is not affected. */
  writeErrors: number;
}

interface CallRow {
  id: string;
  channel_id: string | null;
  context: string;
  transport: string;
  codec: string;
  caller_number: string | null;
  caller_name: string | null;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  outcome: string | null;
  hangup_cause: string | null;
  turn_count: number;
}

interface TurnRow {
  speaker: 'caller' | 'agent';
  text: string;
  started_at: string;
  ended_at: string | null;
  interrupted: number;
  endpointing_ms: number | null;
  stt_final_ms: number | null;
  llm_first_token_ms: number | null;
  first_sentence_ms: number | null;
  tts_first_audio_ms: number | null;
  engine_overhead_ms: number | null;
  total_ms: number | null;
}

interface EventRow {
  kind: CallEventRecord['kind'];
  at: string;
  data: string;
}

/** Turn latency fields and their columns, in one place for writing and reading. */
const LATENCY_COLUMNS: ReadonlyArray<[keyof TurnLatency, keyof TurnRow]> = [
  ['endpointingMs', 'endpointing_ms'],
  ['sttFinalMs', 'stt_final_ms'],
  ['llmFirstTokenMs', 'llm_first_token_ms'],
  ['firstSentenceMs', 'first_sentence_ms'],
  ['ttsFirstAudioMs', 'tts_first_audio_ms'],
  ['engineOverheadMs', 'engine_overhead_ms'],
  ['totalMs', 'total_ms'],
];

/** Timestamps are stored as UTC ISO 8601 of one shape, so text order is time order (purge and paging rely on it). */
function isoTime(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError('not an ISO 8601 timestamp');
  return new Date(ms).toISOString();
}

const optionalIso = (value: string | undefined): string | null => (value === undefined ? null : isoTime(value));
const latencyValue = (value: number | undefined): number | null =>
  value !== undefined && Number.isFinite(value) && value >= 0 ? value : null;

function openDatabaseFile(path: string): Database {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Create (or tighten) the file before SQLite opens it: SQLite copies its mode to the WAL and shared-memory files.
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  // WAL + NORMAL: a power loss may drop the last transactions, never corrupt the file; commits stay cheap.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

/**
 * Call records in an embedded SQLite database (WAL mode). Every text is scrubbed on the way in; a write that
 * fails is logged and counted, never thrown at the call that made it.
 */
export class SqliteCallStore implements CallStore {
  readonly counters: StoreCounters = { writeErrors: 0 };
  private readonly db: Database;
  private readonly log: Logger;
  private readonly redaction: RedactionPolicy;
  private readonly stmt: {
    begin: Statement;
    answered: Statement;
    addTurn: Statement;
    countTurn: Statement;
    addEvent: Statement;
    countBargeIn: Statement;
    finish: Statement;
    getCall: Statement;
    getTurns: Statement;
    getEvents: Statement;
    list: Statement;
    listBefore: Statement;
    purge: Statement;
    closeAbandoned: Statement;
  };
  private closed = false;

  constructor(options: SqliteCallStoreOptions) {
    this.log = options.log.child({ component: 'call-store' });
    this.redaction = options.redaction;
    this.db = openDatabaseFile(options.path);
    try {
      const applied = migrate(this.db);
      if (applied.length) this.log.info({ applied }, 'call database migrated');
    } catch (err) {
      this.db.close();
      throw err;
    }
    const summaryColumns =
      'id, channel_id, context, transport, codec, caller_number, caller_name, started_at, answered_at, ended_at, outcome, hangup_cause, turn_count';
    this.stmt = {
      begin: this.db.prepare(
        `INSERT INTO calls (id, channel_id, context, transport, codec, caller_number, caller_name, started_at)
         VALUES (@id, @channelId, @context, @transport, @codec, @callerNumber, @callerName, @startedAt)`,
      ),
      answered: this.db.prepare('UPDATE calls SET answered_at = ? WHERE id = ? AND answered_at IS NULL'),
      addTurn: this.db.prepare(
        `INSERT INTO turns (call_id, seq, speaker, text, started_at, ended_at, interrupted,
           endpointing_ms, stt_final_ms, llm_first_token_ms, first_sentence_ms, tts_first_audio_ms, engine_overhead_ms, total_ms)
         VALUES (@callId, (SELECT turn_count + 1 FROM calls WHERE id = @callId), @speaker, @text, @startedAt, @endedAt, @interrupted,
           @endpointing_ms, @stt_final_ms, @llm_first_token_ms, @first_sentence_ms, @tts_first_audio_ms, @engine_overhead_ms, @total_ms)`,
      ),
      countTurn: this.db.prepare('UPDATE calls SET turn_count = turn_count + 1 WHERE id = ?'),
      addEvent: this.db.prepare(
        `INSERT INTO events (call_id, seq, kind, at, data)
         VALUES (@callId, (SELECT coalesce(max(seq), 0) + 1 FROM events WHERE call_id = @callId), @kind, @at, @data)`,
      ),
      countBargeIn: this.db.prepare('UPDATE calls SET barge_in_count = barge_in_count + 1 WHERE id = ?'),
      // The first end wins: a drain's hangup and the teardown that follows both report one.
      finish: this.db.prepare('UPDATE calls SET ended_at = ?, outcome = ?, hangup_cause = ? WHERE id = ? AND ended_at IS NULL'),
      getCall: this.db.prepare(`SELECT ${summaryColumns} FROM calls WHERE id = ?`),
      getTurns: this.db.prepare('SELECT * FROM turns WHERE call_id = ? ORDER BY seq'),
      getEvents: this.db.prepare('SELECT kind, at, data FROM events WHERE call_id = ? ORDER BY seq'),
      list: this.db.prepare(`SELECT ${summaryColumns} FROM calls ORDER BY started_at DESC, id DESC LIMIT ?`),
      // Keyset paging on (started_at, id): calls that started in the same millisecond are neither lost nor repeated.
      listBefore: this.db.prepare(
        `SELECT ${summaryColumns} FROM calls WHERE (started_at, id) < (SELECT started_at, id FROM calls WHERE id = ?)
         ORDER BY started_at DESC, id DESC LIMIT ?`,
      ),
      purge: this.db.prepare('DELETE FROM calls WHERE ended_at IS NOT NULL AND ended_at < ?'),
      closeAbandoned: this.db.prepare("UPDATE calls SET ended_at = ?, outcome = 'error', hangup_cause = ? WHERE ended_at IS NULL"),
    };
  }

  /** Runs one write; a failure is logged (without the record's content) and counted. */
  private write(operation: string, callId: string, body: () => void): void {
    if (this.closed) {
      this.counters.writeErrors++;
      this.log.warn({ callId, operation }, 'call record write after the store was closed');
      return;
    }
    try {
      body();
    } catch (err) {
      this.counters.writeErrors++;
      this.log.warn({ callId, operation, reason: (err as Error).message }, 'call record write failed');
    }
  }

  begin(call: CallStartRecord): void {
    this.write('begin', call.id, () => {
      const r = redactStart(call, this.redaction);
      this.stmt.begin.run({
        id: r.id,
        channelId: r.channelId ?? null,
        context: r.context,
        transport: r.transport,
        codec: r.codec,
        callerNumber: r.callerNumber ?? null,
        callerName: r.callerName ?? null,
        startedAt: isoTime(r.startedAt),
      });
    });
  }

  answered(callId: string, at: string): void {
    this.write('answered', callId, () => {
      this.stmt.answered.run(isoTime(at), callId);
    });
  }

  addTurn(callId: string, turn: TurnRecord): void {
    this.write('addTurn', callId, () => {
      const t = redactTurn(turn);
      const params: Record<string, unknown> = {
        callId,
        speaker: t.speaker,
        text: t.text,
        startedAt: isoTime(t.startedAt),
        endedAt: optionalIso(t.endedAt),
        interrupted: t.interrupted ? 1 : 0,
      };
      for (const [field, column] of LATENCY_COLUMNS) params[column] = latencyValue(t.latency?.[field]);
      this.db.transaction(() => {
        // An unknown call id fails here: the seq subquery yields NULL (NOT NULL) and the foreign key has no parent.
        this.stmt.addTurn.run(params);
        this.stmt.countTurn.run(callId);
      })();
    });
  }

  addEvent(callId: string, event: CallEventRecord): void {
    this.write('addEvent', callId, () => {
      const { kind, at, ...data } = redactEvent(event, this.redaction);
      this.db.transaction(() => {
        this.stmt.addEvent.run({ callId, kind, at: isoTime(at), data: JSON.stringify(data) });
        if (kind === 'barge_in') this.stmt.countBargeIn.run(callId);
      })();
    });
  }

  finish(callId: string, end: { endedAt: string; outcome: CallOutcome; hangupCause?: string }): void {
    this.write('finish', callId, () => {
      this.stmt.finish.run(isoTime(end.endedAt), end.outcome, redactText(end.hangupCause) ?? null, callId);
    });
  }

  get(callId: string): CallRecord | undefined {
    const row = this.stmt.getCall.get(callId) as CallRow | undefined;
    if (!row) return undefined;
    const { turnCount: _turnCount, ...call } = summaryFromRow(row);
    const turns = (this.stmt.getTurns.all(callId) as TurnRow[]).map(turnFromRow);
    const events = (this.stmt.getEvents.all(callId) as EventRow[]).map(
      (e) => ({ kind: e.kind, at: e.at, ...(JSON.parse(e.data) as object) }) as CallEventRecord,
    );
    return { ...call, turns, events };
  }

  list(query: { limit: number; before?: string }): CallSummary[] {
    const rows = query.before === undefined
      ? this.stmt.list.all(query.limit)
      : this.stmt.listBefore.all(query.before, query.limit);
    return (rows as CallRow[]).map(summaryFromRow);
  }

  purgeEndedBefore(cutoff: string): number {
    return this.stmt.purge.run(isoTime(cutoff)).changes;
  }

  /**
   * Ends records left open by a previous process that stopped without finishing them (crash, kill -9). Call it
   * at start, before any call is taken; returns how many.
   */
  closeAbandoned(at: string): number {
    return this.stmt.closeAbandoned.run(isoTime(at), 'engine stopped before the call ended').changes;
  }

  /** Folds the WAL into the database file and closes it. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }
}

function summaryFromRow(row: CallRow): CallSummary {
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

function turnFromRow(row: TurnRow): TurnRecord {
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
