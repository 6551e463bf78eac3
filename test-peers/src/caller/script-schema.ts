import { z } from 'zod';
import type { ScriptStep } from './script.ts';

/** Audio as a string reference (`sound:…`, `tts:…`, `digits:…`, `tone:…`, `silence:…` or a WAV path). */
const audioRef = z.string().min(1);
const ms = z.number().int().nonnegative();

/** The JSON form of each step kind of `ScriptStep`, by the key that names the kind. */
const STEPS = {
  say: z.strictObject({ say: audioRef }),
  pause: z.strictObject({ pause: ms }),
  dtmf: z.strictObject({ dtmf: z.string().regex(/^[0-9*#A-D]+$/, 'digits 0-9, *, #, A-D'), durationMs: ms.optional(), gapMs: ms.optional() }),
  waitForAgent: z.strictObject({ waitForAgent: z.strictObject({ timeoutMs: ms.optional() }) }),
  waitForAgentSilence: z.strictObject({ waitForAgentSilence: z.strictObject({ silenceMs: ms.optional(), timeoutMs: ms.optional() }) }),
  bargeIn: z.strictObject({ bargeIn: z.strictObject({ afterMs: ms, say: audioRef, timeoutMs: ms.optional() }) }),
  hangup: z.strictObject({ hangup: z.literal(true) }),
} as const;

type StepKind = keyof typeof STEPS;
const KINDS = Object.keys(STEPS) as StepKind[];
const MAX_STEPS = 200;

/** Validates a script read from JSON; an error names the step and the key that is wrong. */
export function parseScript(value: unknown, source: string): ScriptStep[] {
  if (!Array.isArray(value)) throw new Error(`${source}: a script is a JSON array of steps`);
  if (value.length > MAX_STEPS) throw new Error(`${source}: at most ${MAX_STEPS} steps`);
  return value.map((step: unknown, i) => {
    const kinds = step && typeof step === 'object' ? KINDS.filter((k) => k in step) : [];
    if (kinds.length !== 1) throw new Error(`${source}: step ${i} needs exactly one of ${KINDS.join(', ')}`);
    const result = STEPS[kinds[0]!].safeParse(step);
    if (result.success) return result.data as ScriptStep;
    const issue = result.error.issues[0]!;
    const key = [...issue.path, ...('keys' in issue ? issue.keys : [])].map(String).join('.');
    throw new Error(`${source}: step ${i}${key ? `.${key}` : ''}: ${issue.message}`);
  });
}
