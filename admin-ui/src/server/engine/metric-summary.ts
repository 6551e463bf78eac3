/**
 * Sums every sample of each metric family in a Prometheus text exposition (labels folded together). A family
 * declared without samples (a labelled gauge with nothing to count) is 0.
 */
function familyTotals(text: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of text.split('\n')) {
    const declared = /^# TYPE (\S+) /.exec(line);
    if (declared) totals.set(declared[1]!, 0);
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = Number(match[3]);
    if (Number.isFinite(value)) totals.set(match[1]!, (totals.get(match[1]!) ?? 0) + value);
  }
  return totals;
}

/** The handful of engine figures the dashboard charts, from the engine's /metrics text. */
export function metricSummary(text: string): Record<string, number | null> {
  const t = familyTotals(text);
  const value = (name: string): number | null => t.get(name) ?? null;
  /** Mean of one stage of the turn-latency histogram, in ms. */
  const meanMs = (stage: string): number | null => {
    const re = new RegExp(`^ai_agent_turn_latency_seconds_(sum|count)\\{[^}]*stage="${stage}"[^}]*\\}\\s+(\\S+)`, 'gm');
    const parts: Record<string, number> = {};
    for (const m of text.matchAll(re)) parts[m[1]!] = Number(m[2]);
    return parts.count ? Math.round((1000 * parts.sum!) / parts.count) : null;
  };
  return {
    activeCalls: value('ai_agent_active_calls'),
    callsTotal: value('ai_agent_calls_total'),
    bargeInsTotal: value('ai_agent_barge_ins_total'),
    providerErrorsTotal: value('ai_agent_provider_errors_total'),
    toolCallsTotal: value('ai_agent_tool_calls_total'),
    controlAuthFailuresTotal: value('ai_agent_control_auth_failures_total'),
    meanTurnLatencyMs: meanMs('total'),
    eventLoopLagSeconds: value('nodejs_eventloop_lag_seconds'),
  };
}
