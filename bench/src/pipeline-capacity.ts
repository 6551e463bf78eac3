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
// engine pinned to 1 core and then to 2 (the engine is spawned pinned, so its VAD pool sizes itself from the cores
// it may use); the callers and the stand-in run on the cores left, or share the engine's when none are.
// Figures per pinning: max calls; at that N (or, when none passed, the lowest N tried) engine CPU (all threads,
// /proc) and its main thread's share, calls per core (N ÷ engine cores used), skipped VAD windows, agent turns per
// call and minute (proof the calls converse); at the first failing N, ticks late, skipped VAD windows and how long
// the engine's main thread waited for a CPU (the host's share). Then the scaling ratio, 2 cores ÷ 1 core.
// Pacer lateness while the call store is locked is media-loop.ts's; it is not repeated here.
// `npm run bench -- capacity` runs this suite alone.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@ai-agent/common';
import { CallerSession, loadAudio, pause, say, type ScriptStep } from '@ai-agent/test-peers';
import { startEngine, type EngineUnderTest } from '../../engine/test/e2e/helpers.ts';
import { searchCapacity } from './capacity-search.ts';
import type { Figures } from './main.ts';

const STEP_SECONDS = Number(process.env.PIPELINE_CAPACITY_STEP_SECONDS ?? 10);
const MAX_CALLS = Number(process.env.PIPELINE_CAPACITY_MAX_CALLS ?? 1000);
/** Engine core counts to measure, e.g. "1,2" (default) or "1" while developing. */
const CORE_COUNTS = (process.env.PIPELINE_CAPACITY_CORES ?? '1,2').split(',').map(Number);
/** Calls placed per second while growing: a burst of call set-ups is not the steady load measured. */
const PLACE_PER_SECOND = 25;
/** After the last call is placed (its greeting, first turns) before the window opens. */
const SETTLE_MS = 3000;
const LATE_LIMIT_PERCENT = 1;
const SPEECH_MS = 2000;
const SILENCE_MS = 2000;
/** Allison prompts still talking at 2 s: each caller says the first 2 s of one. */
const PROMPTS = ['vm-login', 'vm-incorrect-mailbox', 'tt-somethingwrong', 'call-fwd-no-ans', 'cannot-complete-as-dialed', 'vm-calldiffnum', 'conf-getpin', 'confbridge-invalid'];
/** Turns in a caller's script: far longer than any run (a call that ends early is reported). */
const TURNS_PER_CALL = 1000;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
const log = createLogger({ service: 'bench', level: 'silent' });

interface StepResult {
  calls: number;
  /** Ticks later than 2 ms or skipped, % of the window's 20 ms ticks. */
  latePercent: number;
  vadSkipped: number;
  vadWindowsPerSecond: number;
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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round1 = (value: number): number => Number(value.toFixed(1));

/** CPU time (user + system) of a process, all its threads (`/proc/<pid>/stat`), or of one thread (`task/<tid>`), ms. */
function cpuMs(path: string): number {
  const fields = readFileSync(`/proc/${path}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** How long a thread has been runnable but waiting for a CPU (Linux schedstat), ms: the host's share of any lateness. */
function cpuWaitMs(path: string): number {
  return Number(readFileSync(`/proc/${path}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
}

function allowedCpus(pid: number): number[] {
  const list = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
  return list.split(',').flatMap((range) => {
    const [from, to = from] = range.split('-').map(Number);
    return Array.from({ length: to! - from! + 1 }, (_, i) => from! + i);
  });
}

/** Pins a thread (`-p`), or a whole process with its threads (`-a -p`), to these CPUs. */
function pin(pid: number, cpus: number[], allThreads: boolean): void {
  execFileSync('taskset', [...(allThreads ? ['-a'] : []), '-p', '-c', cpus.join(','), String(pid)], { stdio: 'ignore' });
}

/** Sums the samples of a Prometheus text metric whose label set contains `labels`. */
function metric(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ') || !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** A caller whose audio heard is not analysed: recording it would cost the peer 16 kB a second per call. */
class BenchCaller extends CallerSession {
  override hear(): void {}
}

/** The engine pinned to some cores, its stand-in AI server and the callers, resized between steps. */
class Rig {
  private readonly calls: BenchCaller[] = [];
  private numbers = 0;
  endedEarly = 0;

  private constructor(
    readonly label: string,
    private readonly dir: string,
    private readonly ai: ChildProcess,
    private readonly sut: EngineUnderTest,
    private readonly speech: Int16Array[],
  ) {}

  static async start(label: string, engineCpus: number[], otherCpus: number[], speech: Int16Array[]): Promise<Rig> {
    pin(process.pid, otherCpus, true);
    const ai = fork(fileURLToPath(new URL('./fake-local-ai.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    const port = await new Promise<number>((resolve, reject) => {
      ai.once('message', (msg) => resolve((msg as { port: number }).port));
      ai.once('exit', (code) => reject(new Error(`the fake local AI server exited (${code})`)));
    });
    // A child inherits the affinity of the thread that spawns it: the engine starts pinned, before its VAD pool
    // counts the cores it may use.
    pin(process.pid, engineCpus, false);
    const dir = mkdtempSync(join(tmpdir(), 'pipeline-capacity-'));
    let sut: EngineUnderTest;
    try {
      sut = await startEngine({
        dir,
        name: 'capacity',
        localAiPort: port,
        telephony: 'transport: rtp\nrtp_format: ulaw',
        contexts: 'default:\n  greeting: Hello.\n  tools: []\n  limits: { max_call_seconds: 86400, no_input_seconds: 600 }',
        limits: 'max_concurrent_calls: 10000\nmax_call_seconds: 86400\ndrain_timeout_seconds: 0',
        peer: { log },
      });
    } catch (err) {
      ai.kill();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    } finally {
      pin(process.pid, otherCpus, false);
    }
    const pinned = allowedCpus(sut.engine.child.pid!).join(',');
    console.log(`  [${label}] engine pid ${sut.engine.child.pid} on cpus ${pinned}; callers and fake AI on cpus ${otherCpus.join(',')}` +
      (otherCpus.some((c) => engineCpus.includes(c)) ? ' (no core left: they share the engine\'s, and their CPU competes with it)' : ''));
    return new Rig(label, dir, ai, sut, speech);
  }

  private script(): ScriptStep[] {
    const clip = this.speech[this.numbers % this.speech.length]!;
    // A random phase, so the callers do not all talk at once.
    const steps: ScriptStep[] = [pause(1000 + Math.round(Math.random() * (SPEECH_MS + SILENCE_MS)))];
    for (let i = 0; i < TURNS_PER_CALL; i++) steps.push(say(clip), pause(SILENCE_MS));
    return steps;
  }

  /** Places a call the way AsteriskPeer.placeCall does, with a caller that does not record. */
  private async place(): Promise<void> {
    const { core } = this.sut.peer;
    const number = `5550${String(++this.numbers).padStart(6, '0')}`;
    const session = new BenchCaller({ script: this.script(), log, transmitSilence: true });
    await session.prepare();
    const ch = core.createCaller({
      app: 'ai-agent', args: [], callerId: { name: '', number }, variables: {}, answered: false, context: 'from-external', extension: 's', session,
    });
    core.enterStasis(ch, 'ai-agent', []);
    session.run();
    this.calls.push(session);
    void session.done.then(() => {
      const i = this.calls.indexOf(session);
      if (i < 0) return;
      this.calls.splice(i, 1);
      this.endedEarly++;
    });
  }

  async metrics(): Promise<string> {
    const res = await fetch(`${this.sut.control}/metrics`);
    if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
    return res.text();
  }

  async resize(calls: number): Promise<void> {
    while (this.calls.length > calls) {
      const session = this.calls.pop()!;
      session.line?.hangup();
      session.remoteEnded('caller-hangup');
    }
    while (this.calls.length < calls) {
      await this.place();
      await sleep(1000 / PLACE_PER_SECOND);
    }
    const deadline = performance.now() + 30_000;
    while (metric(await this.metrics(), 'ai_agent_active_calls') !== this.calls.length && performance.now() < deadline) await sleep(200);
    await sleep(SETTLE_MS);
  }

  async measure(): Promise<StepResult> {
    const pid = this.sut.engine.child.pid!;
    // One scrape opens the window (its few ms of rendering fall inside it), as Prometheus would every 10–15 s.
    const snapshot = async () => {
      const text = await this.metrics();
      return {
        text,
        at: performance.now(),
        engine: cpuMs(String(pid)),
        main: cpuMs(`${pid}/task/${pid}`),
        wait: cpuWaitMs(`${pid}/task/${pid}`),
        ai: cpuMs(String(this.ai.pid)),
        callers: process.cpuUsage(),
        ended: this.endedEarly,
      };
    };
    const a = await snapshot();
    await sleep(STEP_SECONDS * 1000);
    const b = await snapshot();
    const delta = (name: string, labels?: string): number => metric(b.text, name, labels) - metric(a.text, name, labels);
    const wall = b.at - a.at;
    const percent = (ms: number): number => (ms / wall) * 100;
    const callers = process.cpuUsage(a.callers);
    const calls = this.calls.length;
    const r: StepResult = {
      calls,
      latePercent: ((delta('ai_agent_pacer_faults_total') * 20) / wall) * 100,
      vadSkipped: delta('ai_agent_vad_skipped_windows_total'),
      vadWindowsPerSecond: (delta('ai_agent_vad_windows_total') * 1000) / wall,
      engineCpu: percent(b.engine - a.engine),
      mainThreadCpu: percent(b.main - a.main),
      mainThreadWait: ((b.wait - a.wait) * 1000) / wall,
      callersCpu: percent((callers.user + callers.system) / 1000),
      aiCpu: percent(b.ai - a.ai),
      turnsPerCallMinute: calls === 0 ? 0 : (delta('ai_agent_turn_latency_seconds_count', 'stage="total"') * 60_000) / wall / calls,
      providerErrors: delta('ai_agent_provider_errors_total'),
      activeCalls: metric(b.text, 'ai_agent_active_calls'),
      endedEarly: b.ended - a.ended,
    };
    console.log(
      `  [${this.label}] ${calls} calls: ticks late ${r.latePercent.toFixed(2)} %, VAD skipped ${r.vadSkipped} ` +
        `(${Math.round(r.vadWindowsPerSecond)} windows/s), engine cpu ${r.engineCpu.toFixed(0)} % (main thread ${r.mainThreadCpu.toFixed(0)} %, ` +
        `waiting for a cpu ${r.mainThreadWait.toFixed(0)} ms/s), ` +
        `agent turns ${r.turnsPerCallMinute.toFixed(1)}/call/min, callers cpu ${r.callersCpu.toFixed(0)} %, fake AI cpu ${r.aiCpu.toFixed(0)} %, ` +
        `load ${loadavg()[0]!.toFixed(1)}` +
        (r.activeCalls !== calls ? `, engine has ${r.activeCalls} active` : '') +
        (r.providerErrors > 0 ? `, provider errors ${r.providerErrors}` : '') +
        (r.endedEarly > 0 ? `, ${r.endedEarly} calls ended early` : ''),
    );
    return r;
  }

  async close(): Promise<void> {
    await this.resize(0).catch(() => undefined);
    await this.sut.stop();
    this.ai.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The search with the engine on `cores` cores; null when it cannot be pinned so (too few cores). */
async function measureOn(cores: number, allowed: number[], speech: Int16Array[]) {
  if (allowed.length < cores) return null;
  const label = cores === 1 ? 'engine on 1 core' : `engine on ${cores} cores`;
  const engineCpus = allowed.slice(0, cores);
  const rest = allowed.slice(cores);
  const rig = await Rig.start(label, engineCpus, rest.length > 0 ? rest : allowed, speech);
  try {
    // The engine's own cost with no call (timers, ARI, metrics), to tell it from the cost per call.
    await rig.resize(0);
    const idle = await rig.measure();
    const result = await searchCapacity<StepResult>({
      first: 20,
      next: (calls) => (calls < 100 ? calls + 20 : calls < 300 ? calls + 50 : calls + 100),
      max: MAX_CALLS,
      resolution: 10,
      resize: (calls) => rig.resize(calls),
      measure: () => rig.measure(),
      passes: (r) => r.latePercent <= LATE_LIMIT_PERCENT && r.vadSkipped === 0,
    });
    return { cores, label, idle, ...result };
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
