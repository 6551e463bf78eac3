// The server's own configuration (config/local-ai.yaml): limits, engines and the dialogue. Env overrides use
// the YAML's ${VAR:-default} interpolation, so every knob has one place.
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadYamlConfig } from '@ai-agent/common';

/** The package directory; relative paths in the config (helper binary, data files) resolve against it. */
export const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_CONFIG_FILE = fileURLToPath(new URL('../../config/local-ai.yaml', import.meta.url));

const num = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const optionalPath = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() ? v.trim() : undefined));

const slotSchema = z.object({
  name: z.string().regex(/^[a-z_][a-z0-9_]*$/),
  type: z.enum(['digits', 'yesno', 'text']),
  prompt: z.string().min(1),
  min_length: z.number().int().min(1).optional(),
  /** For yes/no slots: the reply when the caller says no (the intent is then abandoned). */
  on_no: z.string().optional(),
});

const intentSchema = z.object({
  name: z.string().regex(/^[a-z_][a-z0-9_]*$/),
  examples: z.array(z.string().min(1)).default([]),
  keywords: z.array(z.string().min(1)).default([]),
  slots: z.array(slotSchema).default([]),
  reply: z.string().min(1),
  action: z
    .object({ tool: z.string().min(1), arguments: z.record(z.string(), z.unknown()).default({}) })
    .optional(),
  /** Said instead of `reply` when the call cannot carry out the action (e.g. no transfer without ARI). */
  unavailable_reply: z.string().min(1).optional(),
  /** How the caller's answer to this reply should be recognised (a per-turn grammar hint). */
  expect: z.enum(['digits', 'digit', 'yesno']).optional(),
});

export const dialogueSchema = z.object({
  greeting: z.string().min(1),
  fallback: z.string().min(1),
  /** Said when an action the dialogue asked for failed (the tool answered with an error). */
  action_unavailable: z.string().min(1).default("Sorry, I can't do that on this line. Is there anything else I can help with?"),
  /** After this many consecutive misunderstandings, the `escalate` intent runs (e.g. a transfer). */
  max_fallbacks: z.number().int().min(1).default(2),
  escalate: z.string().optional(),
  repeat_intent: z.string().default('repeat'),
  match_threshold: z.number().min(0).max(1).default(0.5),
  /** Words of a caller turn that are matched; the rest is ignored (bounds the work one message can cost). */
  max_words_per_turn: z.number().int().min(4).max(1000).default(30),
  intents: z.array(intentSchema).min(1),
});

export const localAiConfigSchema = z.object({
  server: z
    .object({
      port: num(8765).pipe(z.number().max(65535)),
      max_connections: num(32, 1),
      max_streams_per_connection: num(16, 1),
      max_payload_bytes: num(256 * 1024, 1024),
      idle_timeout_ms: num(120_000, 1000),
      /** Unsent bytes a client may leave queued (it stopped reading): beyond this the connection is closed. */
      max_send_buffer_bytes: num(4 * 1024 * 1024, 64 * 1024),
      allowed_origins: z.array(z.string()).default([]),
    })
    .prefault({}),
  stt: z
    .object({
      engine: z.enum(['pocketsphinx', 'sherpa']).default('pocketsphinx'),
      /** Recognition streams open at once, server-wide: each costs a decoder (~100 MB, up to a core). */
      max_streams: num(8, 1),
      pocketsphinx: z
        .object({
          helper: z.string().default('build/ps_stream'),
          model_dir: z.string().default('/usr/share/pocketsphinx/model/en-us'),
          /** Telephone (8 kHz) pre-processing; see README "Narrowband recognition". */
          narrowband: z
            .object({
              fill: num(60),
              gain: z.coerce.number().positive().default(0.5),
              mllr: z.string().default('build/mllr_8k_ulaw.txt'),
              decoder_args: z.array(z.string()).default(['-lw', '5', '-wip', '1e-5', '-fillprob', '0.1', '-fwdflatwbeam', '1e-20']),
            })
            .prefault({}),
          wideband_gain: z.coerce.number().positive().default(0.5),
          /** Frames (10 ms) of silence that end an utterance; pocketsphinx's default is 50. */
          vad_postspeech: num(30, 5),
          partial_ms: num(200, 0),
          extra_args: z.array(z.string()).default([]),
          /** Decoders kept loaded and waiting, so a new stream starts without the ~0.3 s model load. */
          warm_spares: num(1),
        })
        .prefault({}),
      sherpa: z
        .object({
          encoder: optionalPath,
          decoder: optionalPath,
          joiner: optionalPath,
          tokens: optionalPath,
          threads: num(1, 1),
        })
        .prefault({}),
    })
    .prefault({}),
  tts: z
    .object({
      engine: z.enum(['flite', 'sherpa']).default('flite'),
      /** Sentences synthesised at once, server-wide; the rest wait their connection's turn. */
      max_concurrent: num(4, 1),
      /** Characters of text one connection may have waiting or in synthesis (~3 min of speech); more is refused (`busy`). */
      max_queued_chars_per_connection: num(20_000, 100),
      flite: z
        .object({ binary: z.string().default('flite'), voice: z.string().default('slt') })
        .prefault({}),
      sherpa: z
        .object({
          model: optionalPath,
          tokens: optionalPath,
          data_dir: optionalPath,
          lexicon: optionalPath,
          voices: optionalPath,
          speaker: num(0),
          threads: num(1, 1),
        })
        .prefault({}),
    })
    .prefault({}),
  llm: z
    .object({
      model_path: optionalPath,
      context_size: num(2048, 256),
      threads: num(2, 1),
      max_tokens: num(160, 1),
      system_prompt: z
        .string()
        .default('You are a friendly telephone assistant. Answer in one or two short spoken sentences.'),
    })
    .prefault({}),
  dialogue: dialogueSchema,
});

export type LocalAiConfig = z.infer<typeof localAiConfigSchema>;
export type DialogueConfig = z.infer<typeof dialogueSchema>;
export type IntentConfig = z.infer<typeof intentSchema>;

export function resolvePackagePath(path: string): string {
  return isAbsolute(path) ? path : resolve(PACKAGE_DIR, path);
}

export function loadLocalAiConfig(env: NodeJS.ProcessEnv = process.env): LocalAiConfig {
  const file = env.LOCAL_AI_CONFIG || DEFAULT_CONFIG_FILE;
  return loadYamlConfig(file, localAiConfigSchema, env);
}
