// The call history's filters as the admin API takes them (GET /api/calls?from=&to=&context=&outcome=&caller=):
// each checked here with a reason naming the key, then passed to the engine, whose store filters the records.

import { OUTCOME_FILTERS as OUTCOMES } from '@ai-agent/common/outcomes';

export type HistoryFilterQuery = Partial<Record<'from' | 'to' | 'context' | 'outcome' | 'caller', string>>;


/** RFC 3339 with a zone, as the engine's schema (`date-time`) wants it. */
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const CONTEXT = /^[A-Za-z0-9_-]{1,64}$/;

/** The filters to send on, or the first key at fault with its reason. Empty values mean "any". */
export function historyFilters(query: HistoryFilterQuery): Record<string, string> | { key: string; reason: string } {
  const out: Record<string, string> = {};
  for (const key of ['from', 'to'] as const) {
    const value = query[key];
    if (!value) continue;
    if (!TIME.test(value) || Number.isNaN(Date.parse(value))) return { key, reason: 'must be a time like 2026-01-31T09:00:00Z' };
    // In UTC with a Z, as the engine stores times.
    out[key] = new Date(Date.parse(value)).toISOString();
  }
  if (out.from && out.to && out.from >= out.to) return { key: 'to', reason: 'must be after from' };
  if (query.context) {
    if (!CONTEXT.test(query.context)) return { key: 'context', reason: 'letters, digits, _ - only (at most 64)' };
    out.context = query.context;
  }
  if (query.outcome) {
    if (!(OUTCOMES as readonly string[]).includes(query.outcome)) return { key: 'outcome', reason: `must be one of ${OUTCOMES.join(', ')}` };
    out.outcome = query.outcome;
  }
  const caller = query.caller?.trim();
  if (caller) {
    if (caller.length > 64) return { key: 'caller', reason: 'at most 64 characters' };
    out.caller = caller;
  }
  return out;
}
