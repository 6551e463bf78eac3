// What the simulated caller does, step by step, for a scenario: listen to the greeting, then each turn (speak
// it or press its keys) and listen to the answer, then hang up. `npm run simulate` plays it through the Asterisk
// test peer, the engine's simulator on its own test-call path: the same plan, so both give the same verdict.
import type { Scenario } from './scenario.ts';

/** The greeting, and each answer, is over when the agent has been quiet this long. */
const GREETING_SILENCE_MS = 1200;
const ANSWER_SILENCE_MS = 1500;
const GREETING_TIMEOUT_MS = 10_000;
const ANSWER_TIMEOUT_MS = 30_000;
/** An agent that ends the call (goodbye, no input) hangs up after its last words: the caller waits that long. */
const ENGINE_HANGUP_WAIT_MS = 20_000;

/** Outcomes of a call the engine ends itself while the caller listens (a transfer moves the caller on at once). */
const ENDED_BY_ENGINE = new Set(['completed', 'no_input', 'max_duration', 'provider_failure', 'drained', 'rejected_busy', 'error']);

export type CallerStep =
  /** Until the agent has spoken and then been quiet for `silenceMs` (a timeout is reported, not fatal). */
  | { waitForAgentSilence: { silenceMs: number; timeoutMs: number } }
  /** Speak turn `turn` (its `say` text or `wav` recording). */
  | { speak: number }
  | { dtmf: string }
  /** Listen this long, unless the engine ends the call first. */
  | { pause: number }
  | { hangup: true };

export function callerPlan(scenario: Scenario): CallerStep[] {
  const steps: CallerStep[] = [{ waitForAgentSilence: { silenceMs: GREETING_SILENCE_MS, timeoutMs: GREETING_TIMEOUT_MS } }];
  scenario.turns.forEach((turn, i) => {
    steps.push(turn.dtmf !== undefined ? { dtmf: turn.dtmf } : { speak: i });
    steps.push({ waitForAgentSilence: { silenceMs: ANSWER_SILENCE_MS, timeoutMs: ANSWER_TIMEOUT_MS } });
  });
  if (ENDED_BY_ENGINE.has(scenario.expect.outcome ?? '')) steps.push({ pause: ENGINE_HANGUP_WAIT_MS });
  steps.push({ hangup: true });
  return steps;
}
