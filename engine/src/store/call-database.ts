import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import {
  LATENCY_COLUMNS,
  PURGE_BATCH,
  SUMMARY_COLUMNS,
  callIdOf,
  eventData,
  isoTime,
  latencyValue,
  optionalIso,
  recordFromRows,
  summaryFromRow,
  type CallRow,
  type EventRow,
  type TurnRow,
  type WriteFailure,
  type WriteOp,
} from './call-rows.ts';
import { callFilterSql } from './call-filters.ts';
import type { CallListQuery, CallRecord, CallSummary } from './types.ts';

const LIST_COLUMNS = SUMMARY_COLUMNS.split(', ').map((column) => `c.${column}`).join(', ');

/** Another connection holds the lock past busy_timeout: worth waiting for, unlike every other failure. */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/**
 * Opens the call database. `create`: make the file first if needed (its directory 0700, the file 0600); without
 * it, a missing file is an error rather than an empty database.
 */
export function openDatabaseFile(path: string, options: { create: boolean }): Database {
  if (options.create) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Create (or tighten) the file before SQLite opens it: SQLite copies its mode to the WAL and shared-memory files.
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
  }
  const db = new BetterSqlite3(path, { fileMustExist: !options.create });
  db.pragma('journal_mode = WAL');
  // WAL + NORMAL: a power loss may drop the last transactions, never corrupt the file; commits stay cheap.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** The call-record tables of one open, migrated database: every statement the store runs. */
export class CallDatabase {
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
    purgeBatch: Statement;
    closeAbandoned: Statement;
  };
  private readonly listings = new Map<string, Statement>();
  /** Each write in its own savepoint inside the batch's transaction: a bad record fails alone. */
  private readonly applyOne: (op: WriteOp) => void;
  private readonly applyBatch: { immediate(ops: readonly WriteOp[]): WriteFailure[] };

  constructor(private readonly db: Database) {
    this.stmt = {
      begin: db.prepare(
        `INSERT INTO calls (id, channel_id, context, transport, codec, caller_number, caller_name, started_at)
         VALUES (@id, @channelId, @context, @transport, @codec, @callerNumber, @callerName, @startedAt)`,
      ),
      answered: db.prepare('UPDATE calls SET answered_at = ? WHERE id = ? AND answered_at IS NULL'),
      addTurn: db.prepare(
        `INSERT INTO turns (call_id, seq, speaker, text, started_at, ended_at, interrupted,
           endpointing_ms, stt_final_ms, llm_first_token_ms, first_sentence_ms, tts_first_audio_ms, engine_overhead_ms, total_ms)
         VALUES (@callId, (SELECT turn_count + 1 FROM calls WHERE id = @callId), @speaker, @text, @startedAt, @endedAt, @interrupted,
           @endpointing_ms, @stt_final_ms, @llm_first_token_ms, @first_sentence_ms, @tts_first_audio_ms, @engine_overhead_ms, @total_ms)`,
      ),
      countTurn: db.prepare('UPDATE calls SET turn_count = turn_count + 1 WHERE id = ?'),
      addEvent: db.prepare(
        `INSERT INTO events (call_id, seq, kind, at, data)
         VALUES (@callId, (SELECT coalesce(max(seq), 0) + 1 FROM events WHERE call_id = @callId), @kind, @at, @data)`,
      ),
      countBargeIn: db.prepare('UPDATE calls SET barge_in_count = barge_in_count + 1 WHERE id = ?'),
      // The first end wins: a drain's hangup and the teardown that follows both report one.
      finish: db.prepare('UPDATE calls SET ended_at = ?, outcome = ?, hangup_cause = ? WHERE id = ? AND ended_at IS NULL'),
      getCall: db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM calls WHERE id = ?`),
      getTurns: db.prepare('SELECT * FROM turns WHERE call_id = ? ORDER BY seq'),
      getEvents: db.prepare('SELECT kind, at, data FROM events WHERE call_id = ? ORDER BY seq'),
      purgeBatch: db.prepare(
        `DELETE FROM calls WHERE rowid IN
           (SELECT rowid FROM calls WHERE ended_at IS NOT NULL AND ended_at < ? LIMIT ${PURGE_BATCH})`,
      ),
      closeAbandoned: db.prepare("UPDATE calls SET ended_at = ?, outcome = 'error', hangup_cause = ? WHERE ended_at IS NULL"),
    };
    this.applyOne = db.transaction((op: WriteOp) => this.run(op));
    this.applyBatch = db.transaction((ops: readonly WriteOp[]) => {
      const failures: WriteFailure[] = [];
      for (const op of ops) {
        try {
          this.applyOne(op);
        } catch (err) {
          // A lock is not the record's fault: the whole batch is tried again.
          if (isBusy(err)) throw err;
          failures.push({ callId: callIdOf(op), operation: op.kind, reason: (err as Error).message });
        }
      }
      return failures;
    });
  }

  /**
   * Applies writes in order in one transaction (one commit for the batch); returns the ones refused (unknown call,
   * malformed record). Throws only when the batch as a whole failed: a lock (isBusy) or a disk error.
   */
  applyWrites(ops: readonly WriteOp[]): WriteFailure[] {
    return this.applyBatch.immediate(ops);
  }

  private run(op: WriteOp): void {
    switch (op.kind) {
      case 'begin': {
        const c = op.call;
        this.stmt.begin.run({
          id: c.id,
          channelId: c.channelId ?? null,
          context: c.context,
          transport: c.transport,
          codec: c.codec,
          callerNumber: c.callerNumber ?? null,
          callerName: c.callerName ?? null,
          startedAt: isoTime(c.startedAt),
        });
        return;
      }
      case 'answered':
        this.stmt.answered.run(isoTime(op.at), op.callId);
        return;
      case 'addTurn': {
        const t = op.turn;
        const params: Record<string, unknown> = {
          callId: op.callId,
          speaker: t.speaker,
          text: t.text,
          startedAt: isoTime(t.startedAt),
          endedAt: optionalIso(t.endedAt),
          interrupted: t.interrupted ? 1 : 0,
        };
        for (const [field, column] of LATENCY_COLUMNS) params[column] = latencyValue(t.latency?.[field]);
        // An unknown call id fails here: the seq subquery yields NULL (NOT NULL) and the foreign key has no parent.
        this.stmt.addTurn.run(params);
        this.stmt.countTurn.run(op.callId);
        return;
      }
      case 'addEvent': {
        const event = eventData(op.event);
        this.stmt.addEvent.run({ callId: op.callId, ...event });
        if (event.kind === 'barge_in') this.stmt.countBargeIn.run(op.callId);
        return;
      }
      case 'finish':
        this.stmt.finish.run(isoTime(op.end.endedAt), op.end.outcome, op.end.hangupCause ?? null, op.callId);
        return;
    }
  }

  get(callId: string): CallRecord | undefined {
    const row = this.stmt.getCall.get(callId) as CallRow | undefined;
    if (!row) return undefined;
    return recordFromRows(row, this.stmt.getTurns.all(callId) as TurnRow[], this.stmt.getEvents.all(callId) as EventRow[]);
  }

  list(query: CallListQuery): CallSummary[] {
    const { where, params } = callFilterSql(query, 'sqlite');
    const sql = `SELECT ${LIST_COLUMNS} FROM calls c ${where} ORDER BY c.started_at DESC, c.id DESC LIMIT ?`;
    // One statement per combination of filters (at most 2^6), prepared once.
    let statement = this.listings.get(sql);
    if (!statement) this.listings.set(sql, (statement = this.db.prepare(sql)));
    return (statement.all(...params, query.limit) as CallRow[]).map(summaryFromRow);
  }

  /** Deletes up to PURGE_BATCH calls that ended before `cutoff` (with their turns and events); returns how many. */
  purgeBatch(cutoff: string): number {
    return this.stmt.purgeBatch.run(isoTime(cutoff)).changes;
  }

  closeAbandoned(at: string): number {
    return this.stmt.closeAbandoned.run(isoTime(at), 'engine stopped before the call ended').changes;
  }

  /** Folds the WAL into the database file and closes it. */
  close(): void {
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }
}
