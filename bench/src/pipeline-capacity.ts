// Full-pipeline capacity: N concurrent calls through the real engine process (`engine/src/main.ts`, as the e2e
// tests start it), each with the real Silero VAD (worker pool), echo guard, endpointing and an STT stream, against
// a stand-in local AI server (`fake-local-ai.ts`, its own process: final a little after the audio goes quiet, a
// short chat reply, 400 ms of tone for TTS). The Asterisk test peer in this process places the calls over ARI,
// ExternalMedia RTP µ-law; every caller talks half the time (2 s of an Allison prompt, 2 s of silence, looping,
// sending silence frames in between as a phone does) and the agent answers each turn.
//
// N rises until the engine's shared pacer has more than 1 % of its 20 ms ticks later than 2 ms (its p99 lateness
// > 2 ms; skipped ticks count as late) or any VAD window is skipped, both read from the engine's own /metrics
// (a loopback GET needs no token); then it is refined by bisection (capacity-search.ts). The search runs with the
// engine pinned to 1 core and then to 2, as one engine process per core (`shards:`; the engine is spawned pinned,
// so its VAD pool sizes itself from the cores it may use); the callers and the stand-in run on the cores left, or
// share the engine's at idle priority when none are (call-rig.ts). CPU figures add up every engine process.
// Figures per pinning: max calls; at that N (or, when none passed, the lowest N tried) engine CPU (all threads,
// /proc) and its main thread's share, calls per core (N ÷ engine cores used), skipped VAD windows, agent turns per
// call and minute (proof the calls converse); at the first failing N, ticks late, skipped VAD windows and how long
// the engine's main thread waited for a CPU (the host's share). Then the scaling ratio, 2 cores ÷ 1 core.
// Pacer lateness while the call store is locked is media-loop.ts's; it is not repeated here.
// PIPELINE_CAPACITY_CALLS=N replaces the search with one measurement at N calls per engine core (N on 1 core, 2N
// on 2): CPU per call, main thread and the other threads (the VAD workers) apart, and the scaling those costs imply,
// steadier than the search's on a shared host. Each core carries the same load in both, as at capacity: at one
// total load, two processes each run half as loaded, and a process's fixed work per tick (its timer, one STT write,
// one VAD batch) and its smaller VAD batches cost more per call.
// `npm run bench -- capacity` runs this suite alone.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadAudio, pause, say, type ScriptStep } from '@ai-agent/test-peers';
import { allowedCpus, CallRig, cpuMs, cpuWaitMs, metric, pin, sleep } from './call-rig.ts';
import { searchCapacity } from './capacity-search.ts';
import type { Figures } from './main.ts';

const STEP_SECONDS = Number(process.env.PIPELINE_CAPACITY_STEP_SECONDS ?? 10);
const MAX_CALLS = Number(process.env.PIPELINE_CAPACITY_MAX_CALLS ?? 1000);
/**
 * A fixed load instead of the search: the engine's CPU per call (main thread and the rest, the VAD workers) at
 * this many calls per engine core, one measurement of PIPELINE_CAPACITY_STEP_SECONDS. On a shared host it is
 * steadier than the search, whose limit moves with the neighbours' load.
 */
const FIXED_CALLS_PER_CORE = process.env.PIPELINE_CAPACITY_CALLS ? Number(process.env.PIPELINE_CAPACITY_CALLS) : null;
/** Engine core counts to measure, e.g. "1,2" (default) or "1" while developing. */
const CORE_COUNTS = (process.env.PIPELINE_CAPACITY_CORES ?? '1,2').split(',').map(Number);
/** Engine processes on a pinning of several cores (`shards:`); default one per core. */
const SHARDS = process.env.PIPELINE_CAPACITY_SHARDS ? Number(process.env.PIPELINE_CAPACITY_SHARDS) : null;
const LATE_LIMIT_PERCENT = 1;
const SPEECH_MS = 2000;
const SILENCE_MS = 2000;
/** Allison prompts still talking at 2 s: each caller says the first 2 s of one. */
const PROMPTS = ['vm-login', 'vm-incorrect-mailbox', 'tt-somethingwrong', 'call-fwd-no-ans', 'cannot-complete-as-dialed', 'vm-calldiffnum', 'conf-getpin', 'confbridge-invalid'];
/** Turns in a caller's script: far longer than any run (a call that ends early is reported). */
const TURNS_PER_CALL = 1000;

interface StepResult {
  calls: number;
  /** Ticks later than 2 ms or skipped, % of the window's 20 ms ticks. */
  latePercent: number;
  vadSkipped: number;
  vadWindowsPerSecond: number;
  /** Of those, windows the speech model ran on (the rest were quiet: see silero-worker). */
  vadModelWindowsPerSecond: number;
  /** % of one core, all threads. */
  engineCpu: number;
  mainThreadCpu: number;
  /** ms per second the engine's main thread was runnable but waited for a CPU. */
  mainThreadWait: number;
  callersCpu: number;
  aiCpu: number;
  turnsPerCallMinute: number;
  providerErrors: number;
  activeCalls: number;
  endedEarly: number;
}

const round1 = (value: number): number => Number(value.toFixed(1));

/** Each caller talks half the time: the first 2 s of one prompt, 2 s of silence, looping, from a random phase. */
function talkingHalfTheTime(speech: Int16Array[]): (n: number) => ScriptStep[] {
  return (n) => {
    const clip = speech[n % speech.length]!;
    // A random phase, so the callers do not all talk at once.
    const steps: ScriptStep[] = [pause(1000 + Math.round(Math.random() * (SPEECH_MS + SILENCE_MS)))];
    for (let i = 0; i < TURNS_PER_CALL; i++) steps.push(say(clip), pause(SILENCE_MS));
    return steps;
  };
}

/** One measurement window of STEP_SECONDS at the rig's current load, read from the engine's /metrics and /proc. */
async function measure(rig: CallRig): Promise<StepResult> {
  // Every engine process (`shards:`): their CPU adds up, and so do their main threads' (one media loop each).
  const pids = rig.enginePids();
  const sum = (read: (pid: number) => number): number => pids.reduce((n, pid) => n + read(pid), 0);
  // One scrape opens the window (its few ms of rendering fall inside it), as Prometheus would every 10–15 s.
  const snapshot = async () => {
    const text = await rig.metrics();
    return {
      text,
      at: performance.now(),
      engine: sum((pid) => cpuMs(String(pid))),
      main: sum((pid) => cpuMs(`${pid}/task/${pid}`)),
      wait: sum((pid) => cpuWaitMs(`${pid}/task/${pid}`)),
      ai: cpuMs(String(rig.ai.pid)),
      callers: process.cpuUsage(),
      ended: rig.endedEarly,
    };
  };
  const a = await snapshot();
  await sleep(STEP_SECONDS * 1000);
  const b = await snapshot();
  const delta = (name: string, labels?: string): number => metric(b.text, name, labels) - metric(a.text, name, labels);
  const wall = b.at - a.at;
  const percent = (ms: number): number => (ms / wall) * 100;
  const callers = process.cpuUsage(a.callers);
  const calls = rig.active;
  const r: StepResult = {
    calls,
    // Each process has its own pacer: the faults of all of them over all their ticks.
    latePercent: ((delta('ai_agent_pacer_faults_total') * 20) / wall / pids.length) * 100,
    vadSkipped: delta('ai_agent_vad_skipped_windows_total'),
    vadWindowsPerSecond: (delta('ai_agent_vad_windows_total') * 1000) / wall,
    vadModelWindowsPerSecond: ((delta('ai_agent_vad_windows_total') - delta('ai_agent_vad_quiet_windows_total')) * 1000) / wall,
    engineCpu: percent(b.engine - a.engine),
    mainThreadCpu: percent(b.main - a.main),
    mainThreadWait: ((b.wait - a.wait) * 1000) / wall / pids.length,
    callersCpu: percent((callers.user + callers.system) / 1000),
    aiCpu: percent(b.ai - a.ai),
    turnsPerCallMinute: calls === 0 ? 0 : (delta('ai_agent_turn_latency_seconds_count', 'stage="total"') * 60_000) / wall / calls,
    providerErrors: delta('ai_agent_provider_errors_total'),
    activeCalls: metric(b.text, 'ai_agent_active_calls'),
    endedEarly: b.ended - a.ended,
  };
  console.log(
    `  [${rig.label}] ${calls} calls: ticks late ${r.latePercent.toFixed(2)} %, VAD skipped ${r.vadSkipped} ` +
      `(${Math.round(r.vadWindowsPerSecond)} windows/s, ${Math.round(r.vadModelWindowsPerSecond)} through the model), engine cpu ${r.engineCpu.toFixed(0)} % (main thread ${r.mainThreadCpu.toFixed(0)} %, ` +
      `waiting for a cpu ${r.mainThreadWait.toFixed(0)} ms/s), ` +
      `agent turns ${r.turnsPerCallMinute.toFixed(1)}/call/min, callers cpu ${r.callersCpu.toFixed(0)} %, fake AI cpu ${r.aiCpu.toFixed(0)} %, ` +
      `load ${loadavg()[0]!.toFixed(1)}` +
      (r.activeCalls !== calls ? `, engine has ${r.activeCalls} active` : '') +
      (r.providerErrors > 0 ? `, provider errors ${r.providerErrors}` : '') +
      (r.endedEarly > 0 ? `, ${r.endedEarly} calls ended early` : ''),
  );
  return r;
}


/** A rig whose engine is pinned to the first `cores` of `allowed`, the callers to the rest (or to all when none are left). */
async function rigOn(cores: number, allowed: number[], speech: Int16Array[]): Promise<{ label: string; rig: CallRig }> {
  // One engine process per core it may use (`shards:`), as `shards: auto` starts on such a host.
  const shards = cores === 1 ? 1 : (SHARDS ?? cores);
  const label = `${cores === 1 ? 'engine on 1 core' : `engine on ${cores} cores`}${shards > 1 ? ` (${shards} processes)` : cores > 1 ? ' (1 process)' : ''}`;
  const rest = allowed.slice(cores);
  const rig = await CallRig.start({ label, engineCpus: allowed.slice(0, cores), otherCpus: rest.length > 0 ? rest : allowed, script: talkingHalfTheTime(speech), shards });
  return { label, rig };
}

/** The search with the engine on `cores` cores; null when it cannot be pinned so (too few cores). */
async function measureOn(cores: number, allowed: number[], speech: Int16Array[]) {
  if (allowed.length < cores) return null;
  const { label, rig } = await rigOn(cores, allowed, speech);
  try {
    // The engine's own cost with no call (timers, ARI, metrics), to tell it from the cost per call.
    await rig.resize(0);
    const idle = await measure(rig);
    const result = await searchCapacity<StepResult>({
      first: 20,
      next: (calls) => (calls < 100 ? calls + 20 : calls < 300 ? calls + 50 : calls + 100),
      max: MAX_CALLS,
      resolution: 10,
      resize: (calls) => rig.resize(calls),
      measure: () => measure(rig),
      passes: (r) => r.latePercent <= LATE_LIMIT_PERCENT && r.vadSkipped === 0,
    });
    return { cores, label, idle, ...result };
  } finally {
    await rig.close();
  }
}

/** The engine's CPU per call at `calls` calls, above its cost with none; returns the calls per core it implies. */
async function measureFixed(calls: number, cores: number, allowed: number[], speech: Int16Array[], figures: Figures): Promise<number | null> {
  if (allowed.length < cores) return null;
  const { label, rig } = await rigOn(cores, allowed, speech);
  try {
    await rig.resize(0);
    const idle = await measure(rig);
    await rig.resize(calls);
    const at = await measure(rig);
    const perCall = (load: number, none: number): number => Number(((load - none) / calls).toFixed(3));
    const main = perCall(at.mainThreadCpu, idle.mainThreadCpu);
    const others = perCall(at.engineCpu - at.mainThreadCpu, idle.engineCpu - idle.mainThreadCpu);
    figures[`pipeline capacity engine cpu per call at ${calls} calls, ${label}: main thread`] = { value: main, unit: '% of a core' };
    figures[`pipeline capacity engine cpu per call at ${calls} calls, ${label}: other threads (VAD workers)`] = { value: others, unit: '% of a core' };
    const perCore = 100 / (main + others);
    figures[`pipeline capacity calls per core from that cost, ${label}`] = { value: Math.round(perCore), unit: 'calls' };
    figures[`pipeline capacity pacer ticks late > 2 ms at ${calls} calls, ${label}`] = { value: Number(at.latePercent.toFixed(2)), unit: '%' };
    figures[`pipeline capacity skipped VAD windows at ${calls} calls, ${label}`] = { value: at.vadSkipped, unit: 'windows' };
    figures[`pipeline capacity agent turns at ${calls} calls, ${label}`] = { value: round1(at.turnsPerCallMinute), unit: 'per call per minute' };
    return perCore;
  } finally {
    await rig.close();
  }
}

export async function runPipelineCapacityBench(): Promise<Figures> {
  const speech = await Promise.all(PROMPTS.map(async (name) => (await loadAudio(`sound:${name}`)).slice(0, (8000 * SPEECH_MS) / 1000)));
  const allowed = allowedCpus(process.pid);
  const figures: Figures = {};
  const maxCalls = new Map<number, number>();
  try {
    if (FIXED_CALLS_PER_CORE !== null) {
      if (!(FIXED_CALLS_PER_CORE > 0)) throw new Error(`PIPELINE_CAPACITY_CALLS must be a positive number of calls, not ${process.env.PIPELINE_CAPACITY_CALLS}`);
      const perCore = new Map<number, number | null>();
      for (const cores of CORE_COUNTS) perCore.set(cores, await measureFixed(FIXED_CALLS_PER_CORE * cores, cores, allowed, speech, figures));
      // 2 cores give 2 × their calls per core.
      const one = perCore.get(1);
      const two = perCore.get(2);
      if (one && two) figures[`pipeline capacity scaling from the cpu per call at ${FIXED_CALLS_PER_CORE} calls per core, 2 cores ÷ 1`] = { value: Number(((2 * two) / one).toFixed(2)), unit: 'x' };
      figures['pipeline capacity host load average (1 min) at the end'] = { value: round1(loadavg()[0]!), unit: '' };
      return figures;
    }
    for (const cores of CORE_COUNTS) {
      const run = await measureOn(cores, allowed, speech);
      if (!run) {
        console.log(`  engine on ${cores} cores: skipped, this host allows ${allowed.length}`);
        continue;
      }
      const { best, failed, label, idle } = run;
      if (failed) {
        const why = [failed.result.latePercent > LATE_LIMIT_PERCENT && 'pacer p99 > 2 ms', failed.result.vadSkipped > 0 && 'VAD windows skipped'].filter(Boolean);
        console.log(`  [${label}] first failing load ${failed.calls} calls: ${why.join(' and ')}`);
      }
      maxCalls.set(cores, best?.calls ?? 0);
      figures[`pipeline capacity max calls, ${label} (pacer p99 ≤ 2 ms, no VAD window skipped)`] = { value: best?.calls ?? 0, unit: 'calls' };
      // The cost figures come from max calls or, when no load passed (a busy host), from the lowest load tried.
      const at = best ?? failed?.result;
      if (!at) continue;
      figures[`pipeline capacity load of the cpu figures (max calls, or the lowest tried if none passed), ${label}`] = { value: at.calls, unit: 'calls' };
      figures[`pipeline capacity engine cpu there, ${label}`] = { value: round1(at.engineCpu), unit: '% of a core' };
      figures[`pipeline capacity engine cpu with no call, ${label}`] = { value: round1(idle.engineCpu), unit: '% of a core' };
      figures[`pipeline capacity engine cpu per call above that, ${label}`] = { value: Number(((at.engineCpu - idle.engineCpu) / at.calls).toFixed(2)), unit: '% of a core' };
      figures[`pipeline capacity engine main thread cpu there, ${label}`] = { value: round1(at.mainThreadCpu), unit: '% of a core' };
      figures[`pipeline capacity calls per core (calls ÷ engine cores used) there, ${label}`] = { value: Math.round(at.calls / (at.engineCpu / 100)), unit: 'calls' };
      figures[`pipeline capacity skipped VAD windows there, ${label}`] = { value: at.vadSkipped, unit: 'windows' };
      figures[`pipeline capacity agent turns there, ${label}`] = { value: round1(at.turnsPerCallMinute), unit: 'per call per minute' };
      if (!failed) continue;
      figures[`pipeline capacity first failing load, ${label}`] = { value: failed.calls, unit: 'calls' };
      figures[`pipeline capacity pacer ticks late > 2 ms at the first failing load, ${label}`] = { value: Number(failed.result.latePercent.toFixed(2)), unit: '%' };
      figures[`pipeline capacity skipped VAD windows at the first failing load, ${label}`] = { value: failed.result.vadSkipped, unit: 'windows' };
      figures[`pipeline capacity engine main thread waiting for a cpu at the first failing load, ${label}`] = { value: Math.round(failed.result.mainThreadWait), unit: 'ms/s' };
    }
    const one = maxCalls.get(1);
    const two = maxCalls.get(2);
    if (one && two !== undefined) figures['pipeline capacity scaling, max calls with the engine on 2 cores ÷ on 1'] = { value: Number((two / one).toFixed(2)), unit: 'x' };
  } finally {
    pin(process.pid, allowed, true);
  }
  figures['pipeline capacity host load average (1 min) at the end'] = { value: round1(loadavg()[0]!), unit: '' };
  return figures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = await runPipelineCapacityBench();
  for (const [name, f] of Object.entries(figures)) console.log(`${name}: ${f.value} ${f.unit}`);
  process.exit(0);
}
