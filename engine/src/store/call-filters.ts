// The WHERE clause of a call listing (CallListQuery), for both databases: the same conditions, each database's
// placeholders and text functions. Values only ever travel as parameters.
import { isoTime } from './call-rows.ts';
import type { CallListQuery } from './types.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface CallFilterSql {
  /** `WHERE …` or an empty string; columns of the calls table aliased `c`. */
  where: string;
  params: unknown[];
}

/** `firstParam`: the number of the first `$n` placeholder (PostgreSQL), after those the caller already uses. */
export function callFilterSql(query: Omit<CallListQuery, 'limit'>, dialect: Dialect, firstParam = 1): CallFilterSql {
  const params: unknown[] = [];
  const p = (value: unknown, cast = ''): string => {
    params.push(value);
    return dialect === 'sqlite' ? '?' : `$${firstParam + params.length - 1}${cast}`;
  };
  const time = dialect === 'postgres' ? '::timestamptz' : '';
  const conditions: string[] = [];
  // Timestamps are stored normalised by isoTime (SQLite compares the text, PostgreSQL the timestamptz).
  if (query.from !== undefined) conditions.push(`c.started_at >= ${p(isoTime(query.from), time)}`);
  if (query.to !== undefined) conditions.push(`c.started_at < ${p(isoTime(query.to), time)}`);
  if (query.context !== undefined) conditions.push(`c.context = ${p(query.context)}`);
  if (query.outcome === 'in_progress') conditions.push('c.outcome IS NULL');
  else if (query.outcome !== undefined) conditions.push(`c.outcome = ${p(query.outcome)}`);
  if (query.caller !== undefined && query.caller !== '') {
    // A plain substring (instr/strpos), not LIKE: % and _ typed by an operator mean themselves.
    const who = "lower(coalesce(c.caller_number, '') || ' ' || coalesce(c.caller_name, ''))";
    conditions.push(dialect === 'sqlite' ? `instr(${who}, ${p(query.caller.toLowerCase())}) > 0` : `strpos(${who}, ${p(query.caller.toLowerCase())}) > 0`);
  }
  // Keyset paging on (started_at, id): calls that started in the same millisecond are neither lost nor repeated.
  if (query.before !== undefined) conditions.push(`(c.started_at, c.id) < (SELECT started_at, id FROM calls WHERE id = ${p(query.before)})`);
  return { where: conditions.length ? `WHERE ${conditions.join(' AND ')}` : '', params };
}
