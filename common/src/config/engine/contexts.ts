import { z } from 'zod';
import { isLoopbackHost } from '../../net/bind-policy.ts';

// Conversation contexts (YAML `contexts:`) and named provider instances (YAML `providers:`). Every default
// works offline with the bundled local AI server; secrets (LOCAL_WS_AUTH_TOKEN) come from the environment.

const providerName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ - only');
const ms = (def: number, min: number, max: number) => z.number().int().min(min).max(max).default(def);

const pipelineProviderSchema = z
  .object({
    type: z.literal('pipeline'),
    stt: providerName.default('local'),
    llm: providerName.default('local'),
    tts: providerName.default('local'),
    /** Used when the primary of a stage fails at start or mid-call. */
    fallback: z
      .object({ stt: providerName.optional(), llm: providerName.optional(), tts: providerName.optional() })
      .strict()
      .default({}),
  })
  .strict();

const agentProviderSchema = z.object({ type: z.literal('agent'), agent: providerName }).strict();

const transferTargetSchema = z
  .object({
    context: z.string().min(1),
    extension: z.string().min(1),
    priority: z.number().int().min(1).default(1),
    /** What the model reads about this target when choosing it. */
    description: z.string().default(''),
  })
  .strict();

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
    voice: z.string().min(1).optional(),
    language: z.string().min(2).default('en-US'),
    provider: z
      .discriminatedUnion('type', [pipelineProviderSchema, agentProviderSchema])
      .default({ type: 'pipeline', stt: 'local', llm: 'local', tts: 'local', fallback: {} }),
    tools: z.array(z.enum(['hangup', 'transfer', 'send_dtmf'])).default(['hangup']),
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
  });

export const contextsConfigSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ - only'), contextSchema)
  .default({})
  .transform((contexts) => (contexts.default ? contexts : { ...contexts, default: contextSchema.parse({}) }));

const localAiProviderSchema = z
  .object({
    type: z.literal('local_ai'),
    url: z
      .string()
      .url()
      .refine((u) => /^wss?:\/\//.test(u), 'must be a ws:// or wss:// URL')
      .refine((u) => !new URL(u).username && !new URL(u).password, 'must not carry credentials; set LOCAL_WS_AUTH_TOKEN')
      .default('ws://127.0.0.1:8765'),
    connect_timeout_ms: ms(3000, 100, 60_000),
  })
  .strict();

/**
 * A vendor endpoint: never with credentials in it (keys come from the environment); plain http/ws only to a
 * loopback host (local stand-ins), anything else must be https/wss.
 */
const vendorUrl = (secure: 'https' | 'wss', plain: 'http' | 'ws', def: string) =>
  z
    .string()
    .url()
    .superRefine((u, issues) => {
      const url = new URL(u);
      const scheme = url.protocol.slice(0, -1);
      if (url.username || url.password) issues.addIssue({ code: 'custom', message: 'must not carry credentials; the API key comes from the environment' });
      else if (scheme === plain && !isLoopbackHost(url.hostname)) issues.addIssue({ code: 'custom', message: `${plain}:// is allowed only to a loopback host; use ${secure}://` });
      else if (scheme !== secure && scheme !== plain) issues.addIssue({ code: 'custom', message: `must be a ${secure}:// URL` });
    })
    .default(def);

/** OpenAI Realtime (speech to speech over WebSocket). Key: env OPENAI_API_KEY (or _FILE). */
const openAiRealtimeProviderSchema = z
  .object({
    type: z.literal('openai_realtime'),
    /** The API base; the Realtime socket is wss://<host>/<path>/realtime (the SDK always dials TLS). */
    base_url: vendorUrl('https', 'http', 'https://api.openai.com/v1'),
    model: z.string().min(1).default('gpt-realtime'),
    /** Used when the context sets no `voice`. */
    voice: z.string().min(1).default('alloy'),
    connect_timeout_ms: ms(5000, 100, 60_000),
    /** Model transcribing the caller for transcripts and call records; null: no caller transcripts. */
    input_transcription_model: z.string().min(1).nullable().default('gpt-4o-mini-transcribe'),
    /** Server VAD: caller silence that ends a turn. */
    silence_duration_ms: ms(500, 100, 5000),
  })
  .strict();

/** A Voice Agent stage (`listen`, `think`, `speak`) as the Settings message takes it: `provider` with its own fields. */
const agentStageSchema = (def: Record<string, unknown>) =>
  z
    .object({ provider: z.object({ type: z.string().min(1) }).catchall(z.unknown()) })
    .catchall(z.unknown())
    .superRefine((stage, issues) => {
      // Third-party endpoints carry their credentials in headers: not in this file.
      if ('endpoint' in stage) issues.addIssue({ code: 'custom', path: ['endpoint'], message: 'custom endpoints are not supported (their headers would hold credentials)' });
    })
    .default({ provider: def } as never);

/** Deepgram Voice Agent (speech to speech over WebSocket). Key: env DEEPGRAM_API_KEY (or _FILE). */
const deepgramAgentProviderSchema = z
  .object({
    type: z.literal('deepgram_agent'),
    /** The agent endpoint (the SDK's `environment.agent`). */
    agent_url: vendorUrl('wss', 'ws', 'wss://agent.deepgram.com'),
    /** linear16 rate of the audio both ways; 16000 matches the pipeline (no resampling). */
    sample_rate: z.union([z.literal(8000), z.literal(16000), z.literal(24000), z.literal(48000)]).default(16000),
    connect_timeout_ms: ms(5000, 100, 60_000),
    listen: agentStageSchema({ type: 'deepgram', model: 'nova-3' }),
    think: agentStageSchema({ type: 'open_ai', model: 'gpt-4o-mini' }),
    speak: agentStageSchema({ type: 'deepgram', model: 'aura-2-thalia-en' }),
  })
  .strict();

export const providerInstanceSchema = z.discriminatedUnion('type', [localAiProviderSchema, openAiRealtimeProviderSchema, deepgramAgentProviderSchema]);

export const providersConfigSchema = z
  .record(providerName, providerInstanceSchema)
  .default({ local: { type: 'local_ai', url: 'ws://127.0.0.1:8765', connect_timeout_ms: 3000 } });

export type ContextConfig = z.infer<typeof contextSchema>;
export type ContextsConfig = z.infer<typeof contextsConfigSchema>;
export type ProviderInstanceConfig = z.infer<typeof providerInstanceSchema>;
export type ProvidersConfig = z.infer<typeof providersConfigSchema>;
export type BargeInConfig = ContextConfig['barge_in'];
export type TransferTargetConfig = z.infer<typeof transferTargetSchema>;
