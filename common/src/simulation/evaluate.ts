// Judges one simulated call: each expectation of the scenario against the engine's record (what the agent said,
// which tools it called, how the call ended) and the caller's report (latency as heard on the caller's side).
import { isDeepStrictEqual } from 'node:util';
import type { ReplyExpectation, Scenario, ToolExpectation } from './scenario.ts';

/** The engine's record of the call (its call record, GET /calls/:id): what it heard, said and did. */
export interface EngineTurn {
  speaker: 'caller' | 'agent';
  text: string;
  startedAt: string;
  interrupted: boolean;
}

export interface EngineEvent {
  kind: string;
  at: string;
  name?: string;
  /** The tool's arguments as JSON (as the store keeps them: `store.store_tool_arguments`). */
  arguments?: string;
}

export interface EngineRecord {
  id: string;
  outcome?: string;
  turns: EngineTurn[];
  events: EngineEvent[];
}

/**
 * What the simulated caller measured, in ms since the call started: the Asterisk test peer's call report and
 * the engine's scripted caller both give this.
 */
export interface CallerReport {
  startedAt: string;
  endedBy: string;
  error?: string;
  /** Each spoken turn, in order: speech onset and end, end of speech → first agent audio (null: none). */
  turns: Array<{ onsetMs: number; speechEndMs: number; responseLatencyMs: number | null }>;
  /** Call start → first agent audio (the greeting). */
  firstAgentAudioMs: number | null;
  agentSpurts: Array<{ startMs: number; endMs: number }>;
  /** Keys pressed appear as caller entries `DTMF <digit>`. */
  transcript: Array<{ atMs: number; who: string; text: string }>;
  /** The caller's waits that timed out. */
  timeouts: string[];
}

export interface Check {
  /** `greeting`, `turn 2`, `call`. */
  where: string;
  what: string;
  passed: boolean;
  expected: string;
  actual: string;
}

/** One part of the call: the greeting, or a caller turn and what the agent did until the next one. */
interface Window {
  where: string;
  /** Caller side (ms since the call started): when the turn began (the greeting: 0). */
  startMs: number;
  /** Caller's end of speech → first agent audio at the caller; for the greeting, call start → first audio. */
  latencyMs: number | null;
  reply: string;
  heardAs: string;
  tools: EngineEvent[];
}

const quote = (text: string): string => JSON.stringify(text);
const toolText = (e: EngineEvent): string => `${e.name}(${e.arguments ?? ''})`;
const toolsText = (events: EngineEvent[]): string => (events.length ? events.map(toolText).join(', ') : '(no tool call)');

/** Tool calls matching the expectation: the name, and each expected argument with that value. */
function toolMatches(event: EngineEvent, expected: ToolExpectation): boolean {
  if (event.kind !== 'tool_call' || event.name !== expected.name) return false;
  if (!expected.arguments) return true;
  let args: unknown;
  try {
    args = JSON.parse(event.arguments ?? '');
  } catch {
    return false; // not stored, or not JSON: nothing to compare
  }
  if (!args || typeof args !== 'object') return false;
  return Object.entries(expected.arguments).every(([k, v]) => isDeepStrictEqual((args as Record<string, unknown>)[k], v));
}

function toolLabel(expected: ToolExpectation): string {
  return `${expected.name}(${expected.arguments ? JSON.stringify(expected.arguments) : '…'})`;
}

/** Splits the call at each caller turn's start and assigns the engine's turns and tool calls by time. */
function windowsOf(scenario: Scenario, report: CallerReport, record: EngineRecord | null): Window[] {
  const callStart = Date.parse(report.startedAt);
  const starts: Array<{ startMs: number; endMs: number | null; latencyMs: number | null }> = [];
  let said = 0;
  /** The end of the previous turn: a turn's keys are the first ones pressed after it. */
  let after = -1;
  for (const turn of scenario.turns) {
    if (turn.dtmf !== undefined) {
      const keys = report.transcript.filter((e) => e.who === 'caller' && e.text.startsWith('DTMF ') && e.atMs > after);
      const first = keys[0]?.atMs ?? null;
      const last = keys[turn.dtmf.length - 1]?.atMs ?? null;
      const answer = last === null ? undefined : report.agentSpurts.find((s) => s.startMs > last);
      starts.push({ startMs: first ?? Infinity, endMs: last, latencyMs: answer ? answer.startMs - last! : null });
    } else {
      const timing = report.turns[said++];
      starts.push(timing ? { startMs: timing.onsetMs, endMs: timing.speechEndMs, latencyMs: timing.responseLatencyMs } : { startMs: Infinity, endMs: null, latencyMs: null });
    }
    const previous = starts.at(-1)!;
    after = previous.endMs ?? Number.MAX_SAFE_INTEGER;
  }
  const windows: Window[] = [
    { where: 'greeting', startMs: 0, latencyMs: report.firstAgentAudioMs, reply: '', heardAs: '', tools: [] },
    ...starts.map((s, i) => ({ where: `turn ${i + 1}`, startMs: s.startMs, latencyMs: s.latencyMs, reply: '', heardAs: '', tools: [] as EngineEvent[] })),
  ];
  // The window an engine timestamp falls in: the last one that had begun by then.
  const windowAt = (iso: string): Window => {
    const ms = Date.parse(iso) - callStart;
    return windows.findLast((w, i) => i === 0 || w.startMs <= ms)!;
  };
  for (const turn of record?.turns ?? []) {
    const w = windowAt(turn.startedAt);
    if (turn.speaker === 'agent') w.reply = `${w.reply} ${turn.text}`.trim();
    else w.heardAs = `${w.heardAs} ${turn.text}`.trim();
  }
  for (const event of record?.events ?? []) if (event.kind === 'tool_call') windowAt(event.at).tools.push(event);
  return windows;
}

function replyChecks(w: Window, expect: ReplyExpectation | undefined, defaultLatencyMs: number | undefined): Check[] {
  const checks: Check[] = [];
  const actual = w.reply ? quote(w.reply) : '(the agent said nothing)';
  for (const text of expect?.contains ?? []) {
    checks.push({ where: w.where, what: `reply contains ${quote(text)}`, passed: w.reply.toLowerCase().includes(text.toLowerCase()), expected: `a reply containing ${quote(text)}`, actual });
  }
  if (expect?.matches !== undefined) {
    checks.push({ where: w.where, what: `reply matches /${expect.matches}/i`, passed: new RegExp(expect.matches, 'i').test(w.reply), expected: `a reply matching /${expect.matches}/i`, actual });
  }
  if (expect?.tool) {
    const tool = expect.tool;
    checks.push({ where: w.where, what: `tool ${tool.name} called`, passed: w.tools.some((e) => toolMatches(e, tool)), expected: toolLabel(tool), actual: toolsText(w.tools) });
  }
  const bound = expect?.max_latency_ms ?? (w.where === 'greeting' ? undefined : defaultLatencyMs);
  if (bound !== undefined) {
    checks.push({
      where: w.where,
      what: `answered within ${bound} ms`,
      passed: w.latencyMs !== null && w.latencyMs <= bound,
      expected: `≤ ${bound} ms`,
      actual: w.latencyMs === null ? 'no answer heard' : `${Math.round(w.latencyMs)} ms`,
    });
  }
  return checks;
}

export interface Judgement {
  checks: Check[];
  /** The conversation as the engine recorded it, per part of the call. */
  conversation: Array<{ where: string; heardAs: string; reply: string; tools: string; latencyMs: number | null }>;
}

export function judge(scenario: Scenario, report: CallerReport, record: EngineRecord | null): Judgement {
  const windows = windowsOf(scenario, report, record);
  const checks: Check[] = [];
  if (report.endedBy === 'error') {
    checks.push({ where: 'call', what: 'call placed', passed: false, expected: 'a call the engine answers', actual: report.error ?? 'error' });
  }
  if (!record) {
    checks.push({ where: 'call', what: 'engine record', passed: false, expected: 'a finished call record in the engine', actual: '(none)' });
  }
  checks.push(...replyChecks(windows[0]!, scenario.greeting, undefined));
  scenario.turns.forEach((turn, i) => checks.push(...replyChecks(windows[i + 1]!, turn.expect, scenario.expect.max_latency_ms)));
  const call = scenario.expect;
  if (call.outcome) {
    checks.push({ where: 'call', what: 'outcome', passed: record?.outcome === call.outcome, expected: call.outcome, actual: record?.outcome ?? '(none)' });
  }
  const allTools = windows.flatMap((w) => w.tools);
  for (const tool of call.tools ?? []) {
    checks.push({ where: 'call', what: `tool ${tool.name} called`, passed: allTools.some((e) => toolMatches(e, tool)), expected: toolLabel(tool), actual: toolsText(allTools) });
  }
  return {
    checks,
    conversation: windows.map((w) => ({
      where: w.where,
      heardAs: w.heardAs,
      reply: w.reply,
      tools: w.tools.map(toolText).join(', '),
      latencyMs: w.latencyMs === null ? null : Math.round(w.latencyMs),
    })),
  };
}
