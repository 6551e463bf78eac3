// The engine's call simulator (the admin UI's "Simulator" page): runs one scenario of config/scenarios at a
// time as a simulated call on the engine's own test-call path, so what is tested is the running config, its
// contexts, tools and records. The caller's words are synthesised first (no synthesis competes with the call),
// then spoken in real time; the call is judged with the same judge as `npm run simulate`.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type Logger } from '@ai-agent/common';
import { SCENARIO_FILE_PATTERN, callerPlan, judge, parseScenario, type Scenario, type ScenarioResult } from '@ai-agent/common/simulation';
import type { ManagedSession } from '../session-registry.ts';
import { ScriptedCaller } from './scripted-caller.ts';
import { SIMULATED_LINE_FORMAT, SimulatedCallSession, type SimulatedCallDeps } from './simulated-call-session.ts';
import { sampleRateOf } from '../../audio/codec.ts';

const SCENARIO_FILE = new RegExp(SCENARIO_FILE_PATTERN);
/** Longest wait for the call's end (its record finished) after the caller's last step. */
const END_WAIT_MS = 20_000;
/** Finished runs kept for their page (the newest). */
const KEEP_RUNS = 10;

/** Another simulation is running: one at a time per engine (the latency bounds assume a quiet engine). */
export class SimulationBusy extends Error {}

/** The request is not a runnable scenario: `key` names what is wrong. */
export class ScenarioRefused extends Error {
  constructor(readonly key: string, readonly reason: string) {
    super(`${key}: ${reason}`);
  }
}

export type SimulationStatus = 'synthesising' | 'calling' | 'finished' | 'failed';

export interface SimulationRun {
  id: string;
  scenario: { file: string; name: string; context: string; turns: number };
  by: string;
  startedAt: string;
  status: SimulationStatus;
  /** What the caller is doing now (e.g. "turn 2 of 3: speaking"). */
  step: string;
  result?: ScenarioResult;
  /** Why the run could not be judged (e.g. the caller's words could not be synthesised). */
  error?: string;
}

export interface ScenarioListing {
  file: string;
  name?: string;
  context?: string;
  turns?: number;
  /** Why the file is not runnable (`key: reason`). */
  error?: string;
  /** The scenario text, for the page to show or edit. */
  text?: string;
}

export interface SimulatorDeps extends SimulatedCallDeps {
  registry: { add(session: ManagedSession): void };
  contexts: () => Readonly<Record<string, unknown>>;
  /** config/scenarios of the running engine. */
  scenarioDir: string;
  /** The caller's words as audio at `sampleRate`, synthesised with the context's TTS in `voice`. */
  speak: (context: string, text: string, voice: string, sampleRate: number) => Promise<Int16Array>;
  log: Logger;
}

export interface SimulationRequest {
  /** A file of the scenario directory, or… */
  file?: string;
  /** …scenario text (pasted or edited on the page). */
  text?: string;
  by: string;
}

export class Simulator {
  private readonly runs = new Map<string, SimulationRun>();
  private running: SimulationRun | null = null;

  constructor(private readonly deps: SimulatorDeps) {}

  scenarios(): ScenarioListing[] {
    let files: string[];
    try {
      files = readdirSync(this.deps.scenarioDir).filter((f) => SCENARIO_FILE.test(f)).sort();
    } catch {
      return [];
    }
    return files.map((file) => {
      try {
        const text = readFileSync(join(this.deps.scenarioDir, file), 'utf8');
        const s = this.parse(text, file);
        return { file, name: s.name, context: s.context, turns: s.turns.length, text };
      } catch (err) {
        if (err instanceof ScenarioRefused) return { file, error: err.message };
        return { file, error: `cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
      }
    });
  }

  get(id: string): SimulationRun | undefined {
    return this.runs.get(id);
  }

  /** Starts a run and returns at once; its state is `get(id)`. Throws SimulationBusy or ScenarioRefused. */
  start(request: SimulationRequest): SimulationRun {
    if (this.running) throw new SimulationBusy(`a simulation is already running ("${this.running.scenario.name}", started by ${this.running.by}); try again when it has finished`);
    const scenario = this.load(request);
    const run: SimulationRun = {
      id: randomUUID(),
      scenario: { file: scenario.file, name: scenario.name, context: scenario.context, turns: scenario.turns.length },
      by: request.by,
      startedAt: new Date().toISOString(),
      status: 'synthesising',
      step: "synthesising the caller's words",
    };
    this.running = run;
    this.runs.set(run.id, run);
    for (const old of [...this.runs.keys()].slice(0, Math.max(0, this.runs.size - KEEP_RUNS))) this.runs.delete(old);
    this.deps.log.info({ simulation: run.id, scenario: scenario.file, context: scenario.context, by: request.by }, 'simulation started');
    void this.execute(run, scenario)
      .catch((err: Error) => {
        run.status = 'failed';
        run.error = err.message;
        this.deps.log.warn({ simulation: run.id, err: { message: err.message } }, 'simulation failed');
      })
      .finally(() => {
        this.running = null;
      });
    return run;
  }

  private load(request: SimulationRequest): Scenario {
    if ((request.file === undefined) === (request.text === undefined)) throw new ScenarioRefused('(request)', 'name a scenario file or send scenario text, not both');
    if (request.text !== undefined) return this.parse(request.text, '(edited)');
    if (!SCENARIO_FILE.test(request.file!)) throw new ScenarioRefused('file', 'a scenario file name of the scenario directory (letters, digits, _ . -, ending .yaml)');
    let text: string;
    try {
      text = readFileSync(join(this.deps.scenarioDir, request.file!), 'utf8');
    } catch {
      throw new ScenarioRefused('file', 'no such scenario file');
    }
    return this.parse(text, request.file!);
  }

  /** Validates scenario text; the engine's environment is never interpolated into it (its text is spoken and reported). */
  private parse(text: string, file: string): Scenario {
    let scenario: Scenario;
    try {
      scenario = parseScenario(text, file, {});
    } catch (err) {
      if (err instanceof ConfigError) throw new ScenarioRefused(err.key, err.reason);
      throw err;
    }
    const wav = scenario.turns.findIndex((t) => t.wav !== undefined);
    if (wav >= 0) throw new ScenarioRefused(`turns.${wav}.wav`, 'recordings are played by npm run simulate only; the engine speaks `say` turns');
    if (!Object.hasOwn(this.deps.contexts(), scenario.context)) throw new ScenarioRefused('context', `no context "${scenario.context}" in the running config`);
    return scenario;
  }

  private async execute(run: SimulationRun, scenario: Scenario): Promise<void> {
    const started = performance.now();
    const audio = new Map<number, Int16Array>();
    for (const [i, turn] of scenario.turns.entries()) {
      if (turn.say === undefined) continue;
      try {
        audio.set(i, await this.deps.speak(scenario.context, turn.say, scenario.caller.voice, sampleRateOf(SIMULATED_LINE_FORMAT)));
      } catch (err) {
        throw new Error(`turn ${i + 1} could not be synthesised in voice "${scenario.caller.voice}": ${(err as Error).message}`);
      }
    }
    run.status = 'calling';
    run.step = 'listening to the greeting';
    let caller: ScriptedCaller | null = null;
    const session = new SimulatedCallSession({ context: scenario.context, by: run.by, callerNumber: scenario.caller.number, hear: (f) => caller?.hear(f) }, this.deps);
    caller = new ScriptedCaller(session.line, this.deps.pacer, (step) => (run.step = step), scenario.turns.length);
    this.deps.registry.add(session);
    void session.run();
    const report = await caller.run(callerPlan(scenario), (turn) => audio.get(turn)!);
    run.step = 'judging';
    await Promise.race([session.done, new Promise((r) => setTimeout(r, END_WAIT_MS))]);
    const record = { id: session.id, outcome: session.outcomeSoFar ?? undefined, turns: session.turns, events: session.events };
    const judgement = judge(scenario, report, record);
    run.result = {
      file: scenario.file,
      name: scenario.name,
      passed: judgement.checks.every((c) => c.passed),
      durationMs: Math.round(performance.now() - started),
      timeouts: report.timeouts,
      callId: session.id,
      ...judgement,
    };
    run.status = 'finished';
    run.step = run.result.passed ? 'passed' : 'failed';
    this.deps.log.info({ simulation: run.id, passed: run.result.passed, callId: session.id }, 'simulation finished');
  }
}
