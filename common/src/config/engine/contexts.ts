import { z } from 'zod';
import { providerName } from './providers.ts';
import { contextEgressSchema } from './egress.ts';
import { httpToolsSchema } from './http-tools.ts';
import { mcpToolsSchema } from './mcp.ts';

// Conversation contexts (YAML `contexts:`); the provider instances they name are in providers.ts. Every default
// works offline with the bundled local AI server.

const ms = (def: number, min: number, max: number) => z.number().int().min(min).max(max).default(def);

const pipelineProviderSchema = z
  .object({
    type: z.literal('pipeline'),
    stt: providerName.default('local'),
    llm: providerName.default('local'),
    tts: providerName.default('local'),
    /** Used when the primary of a stage fails at start or mid-call. */
    fallback: z
      .object({
        stt: providerName.optional(),
        llm: providerName.optional(),
        tts: providerName.optional(),
        /** After the primary failed, calls skip it this long, then the next request probes it again (30000). */
        retry_primary_after_ms: z.number().int().min(1000).max(3_600_000).optional(),
      })
      .strict()
      .default({}),
    /** Words and names the recogniser should favour (Deepgram `keyterm`); ignored by providers without it. */
    keyterms: z.array(z.string().min(1).max(100)).max(100).default([]),
  })
  .strict();

const agentProviderSchema = z.object({ type: z.literal('agent'), agent: providerName }).strict();

const blindTransferTargetSchema = z
  .object({
    /** Blind (the default): the caller leaves for the dialplan at context/extension/priority. */
    mode: z.literal('blind'),
    context: z.string().min(1),
    extension: z.string().min(1),
    priority: z.number().int().min(1).default(1),
    /** What the model reads about this target when choosing it. */
    description: z.string().default(''),
  })
  .strict();

/**
 * Warm: the caller hears music on hold while the engine dials `endpoint` into the Stasis app; whoever answers
 * hears a summary of the call, then is bridged with the caller. Nobody answering puts the caller back with the
 * agent. The endpoint is fixed here, so the model can only reach the endpoints this list names.
 */
const warmTransferTargetSchema = z
  .object({
    mode: z.literal('warm'),
    /** One Asterisk endpoint, Tech/resource (PJSIP/200, Local/200@from-internal); no dial-string options. */
    endpoint: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*\/[^\s,&|()]+$/, 'an Asterisk endpoint as Tech/resource, e.g. PJSIP/200'),
    /** How long it rings before the caller is back with the agent. */
    ring_timeout_seconds: z.number().int().min(2).max(300).default(25),
    /** musiconhold.conf class the caller hears while it rings. */
    moh_class: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ - only').default('default'),
    /** Caller ID shown to the person dialled (default: the caller's own). */
    caller_id: z.string().min(1).max(80).optional(),
    /**
     * What the person who answers hears, after "You have a transferred call.": `llm` — the context's LLM sums
     * the call up in a sentence or two (who is calling, what they want); `template` — the caller's name and
     * number and their last words as said. The template is also what is said when the LLM fails, does not
     * answer within `briefing_timeout_ms`, the context runs a speech-to-speech agent, or its LLM is the local AI
     * server's rule dialogue (it answers callers; it cannot summarise).
     */
    briefing: z.enum(['llm', 'template']).default('llm'),
    briefing_timeout_ms: z.number().int().min(500).max(15_000).default(3000),
    /** Said to the caller when the target did not answer, was busy or could not be dialled. */
    unreachable_reply: z.string().min(1).default("I'm sorry, I couldn't reach anyone just now. Is there anything else I can help with?"),
    description: z.string().default(''),
  })
  .strict();

/** A target without `mode` is blind, as before warm transfers existed. */
const transferTargetSchema = z.preprocess(
  (v) => (v && typeof v === 'object' && !Array.isArray(v) && !('mode' in v) ? { ...v, mode: 'blind' } : v),
  z.discriminatedUnion('mode', [blindTransferTargetSchema, warmTransferTargetSchema]),
);

const limitsSchema = z
  .object({
    max_call_seconds: z.number().int().min(10).max(86_400).default(1800),
    /** Caller silence (while the agent waits) before a reprompt. */
    no_input_seconds: z.number().min(1).max(600).default(10),
    /** Reprompts before the agent says goodbye and hangs up. */
    no_input_prompts: z.number().int().min(0).max(10).default(2),
  })
  .strict();

const DEFAULT_BACKCHANNELS = [
  'mm', 'mhm', 'mm-hm', 'mm-hmm', 'uh-huh', 'hmm', 'uh', 'um', 'yeah', 'yep', 'yes', 'ok', 'okay', 'right', 'sure',
  'aha', 'i see',
];

const bargeInSchema = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * Speech over the agent for this long (VAD) pauses the agent at once, so the caller is heard quickly;
     * the agent resumes where it stopped if the speech turns out not to be an interruption.
     */
    onset_ms: ms(20, 20, 1000),
    /** Speech must last at least this long to interrupt. */
    min_speech_ms: ms(200, 20, 5000),
    /**
     * Words (from STT, not counting ignore_words) that confirm an interruption. 0: speech duration alone
     * (min_speech_ms) interrupts, without waiting for words.
     */
    min_words: z.number().int().min(0).max(10).default(1),
    /** Speech longer than this interrupts even before STT produced a word (backchannels are short). */
    backchannel_max_ms: ms(700, 100, 5000),
    /** Utterances made only of these words never interrupt ("mm-hm", "yeah", …). */
    ignore_words: z.array(z.string().min(1)).default(DEFAULT_BACKCHANNELS),
    /** VAD speech probability required while the agent plays (higher than at rest, against echo). */
    threshold_while_speaking: z.number().min(0.1).max(0.99).default(0.5),
    /**
     * A VAD window this likely to be speech pauses the agent before speech is confirmed (Silero's probability
     * climbs over two to four windows at an onset). Caller sound well above the line's background and the
     * agent's echo pauses it sooner still, on the first 20 ms frame that carries it. Unconfirmed, the agent
     * resumes where it stopped once `resume_after_ms` passed without caller sound or a likely window. Set it
     * to `threshold_while_speaking` to pause on the VAD only for confirmed speech.
     */
    pause_threshold: z.number().min(0.05).max(0.99).default(0.25),
    resume_after_ms: ms(100, 32, 1000),
    /**
     * Echo guard: inbound audio counts as the caller only when it is this much louder than the line's
     * learned echo of the agent; `echo_tail_ms` is the longest echo delay covered. 0 turns the guard off.
     */
    echo_margin_db: z.number().min(0).max(30).default(6),
    echo_tail_ms: ms(320, 20, 1000),
  })
  .strict()
  .superRefine((b, issues) => {
    if (b.pause_threshold > b.threshold_while_speaking) {
      issues.addIssue({ code: 'custom', path: ['pause_threshold'], message: 'must not exceed threshold_while_speaking' });
    }
  });

const vadSchema = z
  .object({
    threshold: z.number().min(0.1).max(0.99).default(0.5),
    /** Below-threshold time that ends speech (before endpointing starts counting). */
    min_silence_ms: ms(100, 32, 2000),
  })
  .strict();

const BUILT_IN_TOOLS = ['hangup', 'transfer', 'send_dtmf'] as const;

export const contextSchema = z
  .object({
    system_prompt: z
      .string()
      .min(1)
      .default('You are a friendly phone assistant. Answer in one or two short spoken sentences, without lists or markup.'),
    greeting: z.string().default('Hello! How can I help you today?'),
    /** Spoken by the hangup tool and the no-input policy before the line drops. */
    farewell: z.string().min(1).default('Thank you for calling. Goodbye!'),
    no_input_prompt: z.string().min(1).default('Are you still there?'),
    apology: z.string().min(1).default('Sorry, we are having technical difficulties. Please call again later. Goodbye.'),
    /**
     * Spoken when every recogniser stayed busy through a caller's turn (a saturated local AI server): the call
     * goes on and the caller says it again. Twice in a row, then the third busy turn ends the call with the apology.
     */
    busy_prompt: z.string().min(1).default('Sorry, I missed that. Could you say it again?'),
    voice: z.string().min(1).optional(),
    language: z.string().min(2).default('en-US'),
    provider: z
      .discriminatedUnion('type', [pipelineProviderSchema, agentProviderSchema])
      .default({ type: 'pipeline', stt: 'local', llm: 'local', tts: 'local', fallback: {}, keyterms: [] }),
    tools: z.array(z.enum(BUILT_IN_TOOLS)).default(['hangup']),
    /** Functions the model may call that make one HTTP request each (see http-tools.ts); all are offered. */
    http_tools: httpToolsSchema,
    /** The tools of `mcp.servers` this context offers: `<server>__<tool>` or `<server>__*` (none by default). */
    mcp_tools: mcpToolsSchema,
    /** Destinations this context's HTTP tools may reach, on top of the global `egress.allow`. */
    egress: contextEgressSchema,
    /** Allowlist: the transfer tool can reach only these, by name. */
    transfer_targets: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), transferTargetSchema).default({}),
    limits: limitsSchema.prefault({}),
    barge_in: bargeInSchema.prefault({}),
    vad: vadSchema.prefault({}),
    /**
     * Silence after the caller's last speech (the last VAD window that heard it) before the turn is over and
     * the reply plays. Shorter answers sooner; longer splits fewer answers said with pauses.
     */
    endpointing_ms: ms(300, 0, 5000),
    /**
     * The same when what the caller said so far sounds unfinished: digits expected, or a last word that
     * cannot end a sentence ("and", "my", a filler). Not below endpointing_ms.
     */
    endpointing_unfinished_ms: ms(900, 0, 5000),
  })
  .strict()
  .superRefine((ctx, issues) => {
    if (ctx.endpointing_unfinished_ms < ctx.endpointing_ms) {
      issues.addIssue({ code: 'custom', path: ['endpointing_unfinished_ms'], message: 'must not be below endpointing_ms' });
    }
    if (ctx.tools.includes('transfer') && Object.keys(ctx.transfer_targets).length === 0) {
      issues.addIssue({ code: 'custom', path: ['transfer_targets'], message: 'the transfer tool needs at least one target' });
    }
    const seen = new Set<string>(BUILT_IN_TOOLS);
    ctx.http_tools.forEach((tool, i) => {
      if (seen.has(tool.name)) issues.addIssue({ code: 'custom', path: ['http_tools', i, 'name'], message: `"${tool.name}" is already a tool name` });
      seen.add(tool.name);
    });
  });

export const contextsConfigSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ - only'), contextSchema)
  .default({})
  .transform((contexts) => (contexts.default ? contexts : { ...contexts, default: contextSchema.parse({}) }));

export type ContextConfig = z.infer<typeof contextSchema>;
export type ContextsConfig = z.infer<typeof contextsConfigSchema>;
export type BargeInConfig = ContextConfig['barge_in'];
export type TransferTargetConfig = z.infer<typeof transferTargetSchema>;
export type WarmTransferTargetConfig = z.infer<typeof warmTransferTargetSchema>;
