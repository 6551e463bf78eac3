// How a call can end, as the engine records it: the one list the engine's records, its API schema, the admin
// UI's history filters and the call simulator's expectations all take. Dependency-free, so the web app can use it.

export const CALL_OUTCOMES = [
  'completed', // the agent ended the call (hangup tool, goodbye)
  'caller_hangup',
  'transferred',
  'no_input', // silence watchdog hung up
  'max_duration',
  'rejected_busy', // over the concurrency limit
  'provider_failure', // apology and hangup after a provider failed with no fallback
  'drained', // hung up by a graceful shutdown
  'error',
] as const;

export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/** What history filters take: an outcome, or `in_progress` for calls that have not ended. */
export const OUTCOME_FILTERS = [...CALL_OUTCOMES, 'in_progress'] as const;
