// A simulated call, as a YAML file (config/scenarios/*.yaml): what the caller says, turn by turn, and what the
// agent must do. Validated by the schema below; an error names the key, like the product's own config. Shared by
// `npm run simulate` (the Asterisk test peer calls in) and the engine's own simulator (the admin UI's page).
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { CALL_OUTCOMES } from '../call/outcomes.ts';
import { ConfigError } from '../config/errors.ts';
import { loadYamlConfig, parseYaml, validateConfig } from '../config/load.ts';

/** A scenario file's name in config/scenarios: a bare name (no path, no traversal) ending .yaml or .yml. */
export const SCENARIO_FILE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}\\.ya?ml$';

const isRegExp = (source: string): boolean => {
  try {
    new RegExp(source, 'i');
    return true;
  } catch {
    return false;
  }
};

const texts = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));
const latency = z.number().int().positive().max(120_000);

/** A tool the agent must have called; `arguments`: these keys with these values (others may be there too). */
const toolExpectation = z.strictObject({
  name: z.string().min(1),
  arguments: z.record(z.string(), z.unknown()).optional(),
});

/** What the agent says in answer (case-insensitive), the tool it calls, and how soon the caller hears it. */
const replyExpectation = z.strictObject({
  contains: texts.optional(),
  matches: z.string().min(1).refine(isRegExp, 'not a valid regular expression').optional(),
  tool: toolExpectation.optional(),
  /** Caller's end of speech → first agent audio at the caller (for the greeting: call start → first audio). */
  max_latency_ms: latency.optional(),
});

const turnSchema = z
  .strictObject({
    /** Spoken by the local AI server's synthesiser in the caller's voice. */
    say: z.string().min(1).max(500).optional(),
    /** A recording (8 kHz mono 16-bit WAV, or anything sox converts), relative to the scenario file. */
    wav: z.string().min(1).optional(),
    /** Keys pressed (each 100 ms, 100 ms apart). */
    dtmf: z.string().regex(/^[0-9*#A-D]+$/, 'digits 0-9, *, #, A-D').optional(),
    expect: replyExpectation.optional(),
  })
  .superRefine((turn, ctx) => {
    const kinds = (['say', 'wav', 'dtmf'] as const).filter((k) => turn[k] !== undefined);
    if (kinds.length !== 1) ctx.addIssue({ code: 'custom', message: 'a turn needs exactly one of say, wav, dtmf' });
  });

export const scenarioSchema = z.strictObject({
  name: z.string().min(1).max(200),
  /** AI_CONTEXT on the call, as the dialplan's Set(AI_CONTEXT=…) would set it. */
  context: z.string().min(1).max(80).default('default'),
  caller: z
    .strictObject({
      /** A voice of the local AI server (`capabilities.voices`); another than the agent's reads better. */
      voice: z.string().min(1).default('rms'),
      number: z.string().regex(/^\+?[0-9]{1,20}$/, 'digits, optionally after +').default('15550100'),
      name: z.string().max(80).default('Simulated Caller'),
    })
    .prefault({}),
  /** What the agent says before the caller speaks. */
  greeting: replyExpectation.optional(),
  turns: z.array(turnSchema).min(1).max(50),
  expect: z
    .strictObject({
      outcome: z.enum(CALL_OUTCOMES).optional(),
      /** Called at some point in the call. */
      tools: z.array(toolExpectation).optional(),
      /** For every turn that sets no bound of its own. */
      max_latency_ms: latency.optional(),
    })
    .prefault({}),
});

export type Scenario = z.infer<typeof scenarioSchema> & { file: string };
export type Turn = Scenario['turns'][number];
export type ReplyExpectation = z.infer<typeof replyExpectation>;
export type ToolExpectation = z.infer<typeof toolExpectation>;

/** Validates scenario text (`file`: the name it is reported under); `wav` paths are left as written. */
export function parseScenario(text: string, file: string, env: NodeJS.ProcessEnv = {}): Scenario {
  return { ...validateConfig(parseYaml(text, file), scenarioSchema, env, file), file };
}

/** Reads and validates one scenario file, its `wav` paths resolved; a problem is a ConfigError naming the file and the key. */
export function loadScenario(file: string, env: NodeJS.ProcessEnv = process.env): Scenario {
  const scenario = loadYamlConfig(file, scenarioSchema, env);
  scenario.turns.forEach((turn, i) => {
    if (turn.wav === undefined) return;
    turn.wav = resolve(dirname(file), turn.wav);
    if (!existsSync(turn.wav)) throw new ConfigError(`turns.${i}.wav`, 'file not found', file);
  });
  return { ...scenario, file };
}
