// The contracts every vendor adapter implements. The pipeline meets providers only through these types.
// Audio crossing these interfaces is mono PCM16 (Int16Array) at a declared sample rate.
import type { ProviderUsage } from '../call/index.ts';

/**
 * Audio a provider takes or gives on its own wire. PCM crossing these contracts is always PCM16 at a declared
 * rate; this says what the adapter converts it to (or could pass through untouched).
 */
export interface NativeAudio {
  encodings: readonly ('linear16' | 'mulaw' | 'alaw')[];
  sampleRates: readonly number[];
}

// Every vendor adapter declares its capabilities; the optional fields are optional only for test doubles.

/** What a provider can do, so the pipeline can adapt (e.g. skip its own endpointing if the STT has one). */
export interface SttCapabilities {
  /** Emits partial (interim) results while the caller speaks. */
  partials: boolean;
  /** Supports a per-turn grammar / keyword list. */
  grammar: boolean;
  /** `finalize()` forces a final for the audio so far (low-latency endpointing driven by our VAD). */
  finalize: boolean;
  /** Recognises while audio streams in (false: the utterance is sent once it is over). */
  streaming?: boolean;
  /** Favours `SttOpenOptions.keyterms`. */
  keyterms?: boolean;
  audio?: NativeAudio;
}

export interface LlmCapabilities {
  /** Text arrives as it is generated. */
  streaming: boolean;
  /** Calls the tools it is given. */
  toolCalls: boolean;
  /**
   * Writes text to an instruction (a language model), e.g. a summary of the call; false for a scripted dialogue
   * that only answers callers. Unknown (undefined) counts as a language model.
   */
  freeText?: boolean;
}

export interface TtsCapabilities {
  /** Audio arrives before synthesis of the text is over. */
  streaming: boolean;
  audio: NativeAudio;
}

/** A per-turn hint of what the caller is expected to say. */
export type SttGrammar = null | { builtin: 'digits' | 'digit' | 'yesno' } | { phrases: string[] };

export interface SttOpenOptions {
  /** Sample rate of the PCM the pipeline will write (16000). */
  sampleRate: number;
  /**
   * Rate the call's audio really had on the wire (8000 for G.711). A provider with a narrowband model uses it
   * instead of the upsampled pipeline audio, whose empty upper band misleads wideband recognisers.
   */
  sourceSampleRate?: number;
  language: string;
  grammar?: SttGrammar;
  /** Words and names to favour for the whole call (the context's `keyterms`). */
  keyterms?: readonly string[];
  /**
   * The call's audio as it was on the wire. When set, every `write` also carries the same 20 ms at this rate
   * before any resampling, so a provider that accepts this encoding can be sent the caller's own bytes
   * (G.711 decoded samples encode back to exactly the bytes received) instead of upsampled pipeline PCM.
   */
  wire?: WireAudio;
  signal: AbortSignal;
}

/** An encoding and rate a call's audio had on the wire. */
export interface WireAudio {
  encoding: 'linear16' | 'mulaw' | 'alaw';
  sampleRate: number;
}

export interface SttStreamEvents {
  partial: [text: string];
  /** The end of an utterance. `text` may be empty (noise). */
  final: [text: string];
  /** The provider detected speech onset on its side (optional). */
  speechStart: [];
  error: [err: Error];
  /**
   * This caller turn's words were lost (every recogniser of the server stayed busy), the stream was not: it
   * drops the turn's audio until `finalize()` and recognises the next turn.
   */
  turnLost: [err: Error];
  /** The stream ended (after close(), or the provider ended it). */
  close: [];
}

export interface SttStream {
  /**
   * Caller audio at the pipeline rate; `wire` is the same frame at `SttOpenOptions.wire`'s rate when that was
   * given. Both are read synchronously (the caller reuses the arrays).
   */
  write(pcm: Int16Array, wire?: Int16Array): void;
  /**
   * The stream reads only `wire` in write() (it was opened with `wire` and hears the call at the wire's own
   * rate): a caller may pass an empty `pcm` and leave the frame's pipeline-rate audio unmade. Read per frame:
   * a stream that switches providers (fallback) may change it.
   */
  readonly wireOnly?: boolean;
  /** Forces a final for the audio so far, if the provider supports it. */
  finalize(): void;
  setGrammar(grammar: SttGrammar): void;
  close(): void;
  on<K extends keyof SttStreamEvents>(event: K, listener: (...args: SttStreamEvents[K]) => void): this;
  off<K extends keyof SttStreamEvents>(event: K, listener: (...args: SttStreamEvents[K]) => void): this;
}

export interface SttProvider {
  readonly name: string;
  readonly capabilities: SttCapabilities;
  open(options: SttOpenOptions): Promise<SttStream>;
}

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments, as the model produced it (may be invalid). */
  arguments: string;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string };

export interface ToolSchema {
  name: string;
  description: string;
  /** JSON schema of the arguments object. */
  parameters: Record<string, unknown>;
}

export type LlmEvent =
  | { type: 'text'; text: string }
  | { type: 'tool_call'; call: ToolCall }
  /** Optional hint from the responder: how to recognise the caller's next answer. */
  | { type: 'expect'; grammar: SttGrammar };

/** Tokens of one reply, as the vendor counted them. */
export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens served from the vendor's prompt cache. */
  cachedTokens: number;
}

export interface LlmProvider {
  readonly name: string;
  readonly capabilities?: LlmCapabilities;
  /**
   * Streams the reply. Ends when the model is done; aborting `signal` stops it promptly. `usage` hears the
   * reply's token counts when the vendor reports them.
   */
  chat(messages: readonly ChatMessage[], tools: readonly ToolSchema[], signal: AbortSignal, usage?: (usage: LlmUsage) => void): AsyncIterable<LlmEvent>;
  /** Opens the connection the next request will use (DNS, TCP, TLS) without asking anything; never throws. */
  warm?(): void;
}

export interface TtsChunk {
  pcm: Int16Array;
  sampleRate: number;
}

export interface TtsOptions {
  voice?: string;
  /** Preferred output rate (the provider may return another; chunks declare theirs). */
  sampleRate?: number;
  signal: AbortSignal;
}

export interface TtsProvider {
  readonly name: string;
  readonly capabilities?: TtsCapabilities;
  /** Synthesises one sentence (or short text), streaming audio chunks as they are ready. */
  synthesize(text: string, options: TtsOptions): AsyncIterable<TtsChunk>;
  /** Opens the connection the next request will use (DNS, TCP, TLS) without asking anything; never throws. */
  warm?(): void;
}

/**
 * A speech-to-speech agent (OpenAI Realtime, Deepgram Voice Agent) replacing STT→LLM→TTS. Audio both ways is
 * pipeline PCM (16 kHz), which the adapter converts to and from the rate its vendor wants; or, when the call's
 * wire is G.711 and the vendor takes it, the wire's own audio, passed through unconverted.
 */
export interface AgentSessionEvents {
  /** Agent speech at the chunk's rate (16 kHz, or the wire's when passed through); the listener's to keep. */
  audio: [chunk: TtsChunk];
  /** No more audio will come for the current reply. */
  replyDone: [];
  /** Transcript of either side, as the agent reports it (agent text grows while `final` is false). */
  transcript: [speaker: 'caller' | 'agent', text: string, final: boolean];
  /** The agent heard the caller start speaking (barge-in on its side). */
  callerSpeech: [];
  toolCall: [call: ToolCall];
  /** The session cannot go on (the vendor failed or refused); `close` follows. */
  error: [err: Error];
  close: [];
}

export interface AgentSession {
  /**
   * The session sends the call's own wire audio (G.711 passed through): `writeAudio`'s `wire` alone is used,
   * so the caller's packets may be written as they arrive, of any length.
   */
  readonly wireAudio: boolean;
  /**
   * Caller audio, 16 kHz (a 20 ms frame), and `wire` the same audio at `AgentConnectOptions.wire`'s rate when
   * that was given. Both are read synchronously, so the caller may reuse the arrays.
   */
  writeAudio(pcm: Int16Array, wire?: Int16Array): void;
  /** Reports what the caller actually heard of the current reply, so the agent can truncate its context. */
  truncate(heardMs: number): void;
  sendToolResult(callId: string, result: string): void;
  /** Has the agent say `text` (as it is) to the caller, e.g. the farewell. */
  say(text: string): void;
  /** A caller message as text (e.g. DTMF digits); the agent answers it. */
  sendText(text: string): void;
  close(): void;
  on<K extends keyof AgentSessionEvents>(event: K, listener: (...args: AgentSessionEvents[K]) => void): this;
  off<K extends keyof AgentSessionEvents>(event: K, listener: (...args: AgentSessionEvents[K]) => void): this;
}

export interface AgentConnectOptions {
  instructions: string;
  /** Said by the agent as soon as the session is up ('' for none). */
  greeting: string;
  /** The context's voice; the provider's own default when absent. */
  voice?: string;
  language: string;
  tools: readonly ToolSchema[];
  /**
   * The call's audio as it is on the wire. A vendor that takes this encoding and rate (G.711 µ-law or A-law
   * at 8 kHz) is sent the caller's own bytes and answers in them, with no resampling either way.
   */
  wire?: WireAudio;
  /** Aborting it abandons the connect (and closes a session already open). */
  signal: AbortSignal;
}

export interface AgentProvider {
  readonly name: string;
  /** Opens a session ready for audio (configured, greeting requested); rejects with a clear error otherwise. */
  connect(options: AgentConnectOptions): Promise<AgentSession>;
}

/** What one call used of each provider (audio seconds, characters, tokens): `CallUsage.snapshot()`. */
export interface UsageCounter {
  snapshot(): ProviderUsage;
}

/** The three providers a pipeline (non-agent) conversation speaks through, chosen per context. */
export interface PipelineProviders {
  stt: SttProvider;
  llm: LlmProvider;
  tts: TtsProvider;
  /** This call's usage of them, when the registry meters it. */
  usage?: UsageCounter;
}
