import { DatabaseError, types, type ClientBase, type CustomTypesConfig, type QueryConfig } from 'pg';
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
import { isUnavailable } from './postgres-failures.ts';
import { callFilterSql } from './call-filters.ts';
import type { CallListQuery, CallRecord, CallSummary } from './types.ts';

// Every statement the PostgreSQL store runs on the call tables (postgres-migrations.ts), and the batch of writes
// as one transaction. Rows are selected in the shapes of call-rows.ts, so records read back as from SQLite.

const TIMESTAMPTZ_OID = 1184;
const parseTimestamp = types.getTypeParser(TIMESTAMPTZ_OID) as (text: string) => Date;

/** timestamptz read back as the ISO 8601 text it was written as (ms precision, UTC), like the embedded store. */
export const ROW_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMPTZ_OID && format !== 'binary'
      ? (text: string) => parseTimestamp(text).toISOString()
      : types.getTypeParser(oid, format)) as CustomTypesConfig['getTypeParser'],
};

/** A write the database would not take, found without a failed statement (the transaction goes on). */
class RecordRefused extends Error {}

interface WriteStatement extends QueryConfig {
  /** The write did nothing when no row changed: refused with this reason. */
  mustChange?: string;
}

/** The one statement of a write. Throws (refusing the record) on a value no database would store. */
function writeStatement(op: WriteOp, engineId: string): WriteStatement {
  switch (op.kind) {
    case 'begin': {
      const c = op.call;
      return {
        text: `INSERT INTO calls (id, engine_id, channel_id, context, transport, codec, caller_number, caller_name, started_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
        values: [c.id, engineId, c.channelId ?? null, c.context, c.transport, c.codec, c.callerNumber ?? null, c.callerName ?? null, isoTime(c.startedAt)],
        mustChange: 'a call with this id is already stored',
      };
    }
    case 'answered':
      return { text: 'UPDATE calls SET answered_at = $1 WHERE id = $2 AND answered_at IS NULL', values: [isoTime(op.at), op.callId] };
    case 'addTurn': {
      const t = op.turn;
      // The call's own counter numbers its turns: one row lock, no max() over the turns.
      return {
        text: `WITH c AS (UPDATE calls SET turn_count = turn_count + 1 WHERE id = $1 RETURNING turn_count)
               INSERT INTO turns (call_id, seq, speaker, text, started_at, ended_at, interrupted, ${LATENCY_COLUMNS.map(([, column]) => column).join(', ')})
               SELECT $1, c.turn_count, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM c`,
        values: [op.callId, t.speaker, t.text, isoTime(t.startedAt), optionalIso(t.endedAt), t.interrupted,
          ...LATENCY_COLUMNS.map(([field]) => latencyValue(t.latency?.[field]))],
        mustChange: 'unknown call',
      };
    }
    case 'addEvent': {
      const event = eventData(op.event);
      return {
        text: `WITH c AS (UPDATE calls SET event_count = event_count + 1, barge_in_count = barge_in_count + $5 WHERE id = $1 RETURNING event_count)
               INSERT INTO events (call_id, seq, kind, at, data) SELECT $1, c.event_count, $2, $3, $4 FROM c`,
        values: [op.callId, event.kind, event.at, event.data, event.kind === 'barge_in' ? 1 : 0],
        mustChange: 'unknown call',
      };
    }
    case 'finish':
      // The first end wins: a drain's hangup and the teardown that follows both report one.
      return {
        text: 'UPDATE calls SET ended_at = $1, outcome = $2, hangup_cause = $3 WHERE id = $4 AND ended_at IS NULL',
        values: [isoTime(op.end.endedAt), op.end.outcome, op.end.hangupCause ?? null, op.callId],
      };
  }
}

const failureOf = (op: WriteOp, err: unknown): WriteFailure => ({ callId: callIdOf(op), operation: op.kind, reason: (err as Error).message });

/** The connection broke while COMMIT was on its way: the batch may or may not be stored; `xid` tells which. */
export class CommitOutcomeUnknown extends Error {
  constructor(readonly xid: string, readonly failures: WriteFailure[], cause: unknown) {
    super(`commit outcome unknown: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Applies writes in order in one transaction; returns the ones refused (unknown call, duplicate id, malformed
 * record). A statement the server refuses aborts the transaction: it is rolled back and run again without that
 * write, so one bad record never costs the others. Throws when the database is unavailable (nothing stored), or
 * CommitOutcomeUnknown when the connection broke during COMMIT.
 */
export async function applyWrites(client: ClientBase, ops: readonly WriteOp[], engineId: string): Promise<WriteFailure[]> {
  const refused: WriteFailure[] = [];
  let remaining = ops;
  for (;;) {
    await client.query('BEGIN');
    const xid = (await client.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid')).rows[0]!.xid;
    const failures: WriteFailure[] = [];
    let broken: WriteOp | undefined;
    for (const op of remaining) {
      let statement: WriteStatement;
      try {
        statement = writeStatement(op, engineId);
      } catch (err) {
        failures.push(failureOf(op, err));
        continue;
      }
      try {
        const result = await client.query(statement);
        if (statement.mustChange && result.rowCount === 0) failures.push(failureOf(op, new RecordRefused(statement.mustChange)));
      } catch (err) {
        if (!(err instanceof DatabaseError) || isUnavailable(err)) throw err;
        refused.push(failureOf(op, err));
        broken = op;
        break;
      }
    }
    if (broken) {
      await client.query('ROLLBACK');
      remaining = remaining.filter((op) => op !== broken);
      continue;
    }
    try {
      await client.query('COMMIT');
    } catch (err) {
      // An answer from the server means it did not commit; silence means nobody knows yet.
      if (err instanceof DatabaseError) throw err;
      throw new CommitOutcomeUnknown(xid, [...refused, ...failures], err);
    }
    return [...refused, ...failures];
  }
}

/** What became of a transaction whose COMMIT got no answer: 'committed', 'aborted' or 'in progress'. */
export async function transactionStatus(client: ClientBase, xid: string): Promise<string | null> {
  return (await client.query<{ status: string | null }>('SELECT pg_xact_status($1::xid8) AS status', [xid])).rows[0]!.status;
}

const CALL_ROW = SUMMARY_COLUMNS.split(', ').map((c) => `c.${c}`).join(', ');
const TURN_ROW = `speaker, text, started_at, ended_at, interrupted::int AS interrupted, ${LATENCY_COLUMNS.map(([, column]) => column).join(', ')}`;

export async function getCall(client: ClientBase, callId: string): Promise<CallRecord | undefined> {
  const call = (await client.query<CallRow>(`SELECT ${CALL_ROW} FROM calls c WHERE c.id = $1`, [callId])).rows[0];
  if (!call) return undefined;
  const turns = await client.query<TurnRow>(`SELECT ${TURN_ROW} FROM turns WHERE call_id = $1 ORDER BY seq`, [callId]);
  const events = await client.query<EventRow>('SELECT kind, at, data FROM events WHERE call_id = $1 ORDER BY seq', [callId]);
  return recordFromRows(call, turns.rows, events.rows);
}

/** Newest first, filtered; keyset paging on (started_at, id), so calls that started in the same millisecond page without loss. */
export async function listCalls(client: ClientBase, query: CallListQuery): Promise<CallSummary[]> {
  const { where, params } = callFilterSql(query, 'postgres', 2);
  const { rows } = await client.query<CallRow>(
    `SELECT ${CALL_ROW} FROM calls c ${where} ORDER BY c.started_at DESC, c.id DESC LIMIT $1`,
    [query.limit, ...params],
  );
  return rows.map(summaryFromRow);
}

/**
 * Deletes up to PURGE_BATCH calls that ended before `cutoff` (their turns and events go with them); returns how
 * many. Rows another engine's purge holds are skipped, so engines sharing the database share the work.
 */
export async function purgeBatch(client: ClientBase, cutoff: string): Promise<number> {
  const result = await client.query(
    `DELETE FROM calls WHERE id IN
       (SELECT id FROM calls WHERE ended_at IS NOT NULL AND ended_at < $1 LIMIT ${PURGE_BATCH} FOR UPDATE SKIP LOCKED)`,
    [isoTime(cutoff)],
  );
  return result.rowCount ?? 0;
}

/** Ends this engine's calls left open by a previous run of it; other engines' calls are theirs. */
export async function closeAbandoned(client: ClientBase, at: string, engineId: string): Promise<number> {
  const result = await client.query(
    "UPDATE calls SET ended_at = $1, outcome = 'error', hangup_cause = $2 WHERE ended_at IS NULL AND engine_id = $3",
    [isoTime(at), 'engine stopped before the call ended', engineId],
  );
  return result.rowCount ?? 0;
}
