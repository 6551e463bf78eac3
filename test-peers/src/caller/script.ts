import type { AudioRef } from '../audio/sources.ts';

/**
 * A scripted caller: what a person on the phone does, step by step. Steps run in order on the peer's
 * 20 ms clock; audio is sent in real time.
 */
export type ScriptStep =
  /** Speak: send this audio to the agent; the step ends when its last frame is on the wire. */
  | { say: AudioRef }
  /** Stay silent this long (ms). */
  | { pause: number }
  /** Press keys: each digit lasts `durationMs` (default 100) with `gapMs` (default 100) between. */
  | { dtmf: string; durationMs?: number; gapMs?: number }
  /** Wait until agent audio starts (after this step begins). */
  | { waitForAgent: { timeoutMs?: number } }
  /** Wait until the agent has spoken and then stayed quiet for `silenceMs` (default 1000). */
  | { waitForAgentSilence: { silenceMs?: number; timeoutMs?: number } }
  /** Wait for agent audio to start, then `afterMs` later speak over it. */
  | { bargeIn: { afterMs: number; say: AudioRef; timeoutMs?: number } }
  /** Hang up now. */
  | { hangup: true };

export const say = (audio: AudioRef): ScriptStep => ({ say: audio });
export const pause = (ms: number): ScriptStep => ({ pause: ms });
export const dtmf = (digits: string, durationMs?: number, gapMs?: number): ScriptStep => ({ dtmf: digits, durationMs, gapMs });
export const waitForAgent = (timeoutMs?: number): ScriptStep => ({ waitForAgent: { timeoutMs } });
export const waitForAgentSilence = (silenceMs?: number, timeoutMs?: number): ScriptStep => ({
  waitForAgentSilence: { silenceMs, timeoutMs },
});
export const bargeIn = (afterMs: number, audio: AudioRef, timeoutMs?: number): ScriptStep => ({
  bargeIn: { afterMs, say: audio, timeoutMs },
});
export const hangup = (): ScriptStep => ({ hangup: true });

/** Default wait before a wait step gives up (recorded in the report, then the script continues). */
export const DEFAULT_WAIT_TIMEOUT_MS = 30_000;

export function audioRefsOf(script: readonly ScriptStep[]): AudioRef[] {
  const refs: AudioRef[] = [];
  for (const step of script) {
    if ('say' in step) refs.push(step.say);
    else if ('bargeIn' in step) refs.push(step.bargeIn.say);
  }
  return refs;
}

export function describeRef(ref: AudioRef): string {
  return typeof ref === 'string' ? ref : `<${ref.length} samples>`;
}
