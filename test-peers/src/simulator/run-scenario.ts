// One scenario as one call: the caller's turns become a script the Asterisk test peer plays into the running
// stack, and the call is judged by the engine's record and the caller's report.
import type { ScriptStep } from '../caller/script.ts';
import { placeDemoCall } from '../demo/call-client.ts';
import type { DemoRunFile } from '../demo/run-file.ts';
import type { CallerSpeech } from './caller-speech.ts';
import { callerPlan, judge, type Scenario, type ScenarioResult } from '@ai-agent/common/simulation';
import { finishedRecord, type EngineApi } from './engine-record.ts';

const WAIT_FOR_ENGINE_MS = 30_000;

export interface SimulationTarget {
  run: DemoRunFile;
  engine: EngineApi;
}

/** The caller's side of the scenario, its words already synthesised (before any call: no TTS competes with calls). */
export async function callerScript(scenario: Scenario, speech: CallerSpeech): Promise<ScriptStep[]> {
  const steps: ScriptStep[] = [];
  for (const step of callerPlan(scenario)) {
    if (!('speak' in step)) steps.push(step);
    else {
      const turn = scenario.turns[step.speak]!;
      steps.push({ say: turn.wav ?? (await speech.say(turn.say!, scenario.caller.voice)) });
    }
  }
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
