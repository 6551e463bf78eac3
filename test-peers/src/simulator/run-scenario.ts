// One scenario as one call: the caller's turns become a script the Asterisk test peer plays into the running
// stack, and the call is judged by the engine's record and the caller's report.
import type { ScriptStep } from '../caller/script.ts';
import { placeDemoCall } from '../demo/call-client.ts';
import type { DemoRunFile } from '../demo/run-file.ts';
import type { CallerSpeech } from './caller-speech.ts';
import { judge, type Scenario, type ScenarioResult } from '@ai-agent/common/simulation';
import { finishedRecord, type EngineApi } from './engine-record.ts';

/** The greeting, and each answer, is over when the agent has been quiet this long. */
const GREETING_SILENCE_MS = 1200;
const ANSWER_SILENCE_MS = 1500;
const GREETING_TIMEOUT_MS = 10_000;
const ANSWER_TIMEOUT_MS = 30_000;
/** An agent that ends the call (goodbye, no input) hangs up after its last words: the caller waits that long. */
const ENGINE_HANGUP_WAIT_MS = 20_000;
const WAIT_FOR_ENGINE_MS = 30_000;

/** Outcomes of a call the engine ends itself while the caller listens (a transfer moves the caller on at once). */
const ENDED_BY_ENGINE = new Set(['completed', 'no_input', 'max_duration', 'provider_failure', 'drained', 'rejected_busy', 'error']);

export interface SimulationTarget {
  run: DemoRunFile;
  engine: EngineApi;
}

/** The caller's side of the scenario, its words already synthesised (before any call: no TTS competes with calls). */
export async function callerScript(scenario: Scenario, speech: CallerSpeech): Promise<ScriptStep[]> {
  const steps: ScriptStep[] = [{ waitForAgentSilence: { silenceMs: GREETING_SILENCE_MS, timeoutMs: GREETING_TIMEOUT_MS } }];
  for (const turn of scenario.turns) {
    if (turn.dtmf !== undefined) steps.push({ dtmf: turn.dtmf });
    else steps.push({ say: turn.wav ?? (await speech.say(turn.say!, scenario.caller.voice)) });
    steps.push({ waitForAgentSilence: { silenceMs: ANSWER_SILENCE_MS, timeoutMs: ANSWER_TIMEOUT_MS } });
  }
  if (ENDED_BY_ENGINE.has(scenario.expect.outcome ?? '')) steps.push({ pause: ENGINE_HANGUP_WAIT_MS });
  steps.push({ hangup: true });
  return steps;
}

export async function runScenario(scenario: Scenario, script: ScriptStep[], target: SimulationTarget): Promise<ScenarioResult> {
  const started = performance.now();
  const { channelId, report } = await placeDemoCall(target.run, {
    app: target.run.app,
    args: ['inbound'],
    variables: { AI_CONTEXT: scenario.context },
    callerId: { number: scenario.caller.number, name: scenario.caller.name },
    script,
    waitForAppMs: WAIT_FOR_ENGINE_MS,
  });
  const record = channelId ? await finishedRecord(target.engine, channelId) : null;
  const judgement = judge(scenario, report, record);
  return {
    file: scenario.file,
    name: scenario.name,
    passed: judgement.checks.every((c) => c.passed),
    durationMs: Math.round(performance.now() - started),
    timeouts: report.timeouts,
    callId: record?.id ?? null,
    ...judgement,
  };
}
