import { readFileSync } from 'node:fs';
import type { ScriptStep } from '../caller/script.ts';

/** Reads a call script from JSON: an array of steps in the ScriptStep shape (audio as string references). */
export function readScriptFile(path: string): ScriptStep[] {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(parsed)) throw new Error(`${path}: a script is a JSON array of steps`);
  return parsed.map((step, i) => {
    if (!step || typeof step !== 'object') throw new Error(`${path}: step ${i} is not an object`);
    const keys = Object.keys(step);
    const known = ['say', 'pause', 'dtmf', 'waitForAgent', 'waitForAgentSilence', 'bargeIn', 'hangup'];
    if (!keys.some((k) => known.includes(k))) throw new Error(`${path}: step ${i} has none of ${known.join(', ')}`);
    return step as ScriptStep;
  });
}

/** The demo caller: listen to the greeting, ask something, listen to the answer, hang up. */
export function defaultScript(question: string): ScriptStep[] {
  return [
    { waitForAgentSilence: { silenceMs: 1200, timeoutMs: 15_000 } },
    { say: `tts:${question}` },
    { waitForAgentSilence: { silenceMs: 1500, timeoutMs: 30_000 } },
    { say: 'tts:Thank you, goodbye.' },
    { pause: 1500 },
    { hangup: true },
  ];
}
