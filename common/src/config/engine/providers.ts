import { z } from 'zod';
import { isLoopbackHost } from '../../net/bind-policy.ts';

// Named provider instances (YAML `providers:`), one `type:` per vendor integration. API keys never come from
// this file: OPENAI_API_KEY, DEEPGRAM_API_KEY, LOCAL_WS_AUTH_TOKEN (or their _FILE) from the environment.

export const providerName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ - only');
const ms = (def: number, min: number, max: number) => z.number().int().min(min).max(max).default(def);

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
    /** Longest wait for the next piece of an answer (a reply, audio, a final) before the request fails (60000: the offline recogniser on a saturated host is slow, not dead). */
    idle_timeout_ms: z.number().int().min(100).max(120_000).optional(),
    /** How long opening a recogniser keeps trying while the server's are all in use, the caller's audio buffered meanwhile (2000; 0: fail at once). */
    busy_retry_ms: z.number().int().min(0).max(30_000).optional(),
  })
  .strict();

/**
 * A vendor endpoint: never with credentials in it (keys come from the environment); plain http/ws only to a
 * loopback host (local stand-ins, a local OpenAI-compatible server), anything else must be https/wss.
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

/** Bounds every request of a cloud adapter, so a vendor that stalls fails the stage instead of hanging it. */
const timeouts = {
  /** Connection up and answer headers in (HTTP) or socket open (WebSocket). */
  connect_timeout_ms: ms(5000, 100, 60_000),
  /** Longest silence inside a streamed answer (between chunks) before the request is given up. */
  idle_timeout_ms: ms(10_000, 100, 120_000),
};

/** OpenAI, or any server speaking its HTTP API (llama.cpp, Ollama, vLLM): LLM, TTS and STT. Key: OPENAI_API_KEY. */
const openAiProviderSchema = z
  .object({
    type: z.literal('openai'),
    base_url: vendorUrl('https', 'http', 'https://api.openai.com/v1'),
    ...timeouts,
    llm: z
      .object({
        model: z.string().min(1).default('gpt-4o-mini'),
        temperature: z.number().min(0).max(2).optional(),
        /** Caps one reply (`max_completion_tokens`); a phone answer is short. */
        max_tokens: z.number().int().min(16).max(32_000).default(400),
        /** Ask for token counts (`stream_options.include_usage`) for the call's usage; false for a server that refuses it. */
        usage: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    tts: z
      .object({
        model: z.string().min(1).default('gpt-4o-mini-tts'),
        /** Used when the context sets no `voice`. */
        voice: z.string().min(1).default('alloy'),
        /** Voice style ("warm, unhurried"); sent only to models that take it (not tts-1 / tts-1-hd). */
        instructions: z.string().min(1).max(4000).optional(),
        speed: z.number().min(0.25).max(4).optional(),
      })
      .strict()
      .prefault({}),
    stt: z
      .object({
        model: z.string().min(1).default('gpt-4o-mini-transcribe'),
        /** Vocabulary hint sent with every utterance (names, products). */
        prompt: z.string().max(2000).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** Deepgram speech: live STT (`/v1/listen`) and Aura TTS (`/v1/speak`). Key: DEEPGRAM_API_KEY. */
const deepgramProviderSchema = z
  .object({
    type: z.literal('deepgram'),
    /** REST base; the live socket uses the same host over wss:// (ws:// for a loopback stand-in). */
    base_url: vendorUrl('https', 'http', 'https://api.deepgram.com'),
    ...timeouts,
    stt: z
      .object({
        model: z.string().min(1).default('nova-3'),
        /** Interim results while the caller talks (the pipeline's partials: barge-in words, early replies). */
        interim_results: z.boolean().default(true),
        /** Silence (ms) after which Deepgram marks speech_final; false: only our own end of turn finalizes. */
        endpointing_ms: z.union([z.number().int().min(10).max(5000), z.literal(false)]).default(300),
        /** Word-gap (ms) that produces UtteranceEnd, a final even in noise; needs interim results. 0: off. */
        utterance_end_ms: z.number().int().min(0).max(5000).default(1000),
        smart_format: z.boolean().default(true),
        /** KeepAlive is sent when no audio went out for this long (Deepgram closes a silent stream at ~10 s). */
        keepalive_ms: ms(4000, 500, 9000),
        /** With words pending at a Finalize, the longest wait for Deepgram's flush before they are taken as they are. */
        finalize_timeout_ms: ms(1000, 100, 10_000),
      })
      .strict()
      .prefault({}),
    tts: z
      .object({
        /** Aura voice model, used when the context sets no `voice`. */
        model: z.string().min(1).default('aura-2-thalia-en'),
        /** linear16 rate asked for; 16000 is the pipeline's (no resampling). */
        sample_rate: z.union([z.literal(8000), z.literal(16000), z.literal(24000), z.literal(48000)]).default(16000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

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

export const providerInstanceSchema = z.discriminatedUnion('type', [
  localAiProviderSchema,
  openAiProviderSchema,
  deepgramProviderSchema,
  openAiRealtimeProviderSchema,
  deepgramAgentProviderSchema,
]);

export const providersConfigSchema = z
  .record(providerName, providerInstanceSchema)
  .default({ local: { type: 'local_ai', url: 'ws://127.0.0.1:8765', connect_timeout_ms: 3000 } });

export type ProviderInstanceConfig = z.infer<typeof providerInstanceSchema>;
export type ProvidersConfig = z.infer<typeof providersConfigSchema>;
