import { readFileSync } from 'node:fs';
import type { ScriptStep } from '../caller/script.ts';
import { parseScript } from '../caller/script-schema.ts';

/** Reads a call script from JSON: an array of steps in the ScriptStep shape (audio as string references). */
export function readScriptFile(path: string): ScriptStep[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  return parseScript(parsed, path);
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
