// What a call leaves behind, as the conversation reports it and the store keeps it: how it ended, its turns
// (with per-turn latencies) and its notable events.

import type { CallOutcome } from '@ai-agent/common/outcomes';

export type { CallOutcome };

export interface TurnLatency {
  /** End of caller speech (VAD) → endpoint decided. */
  endpointingMs?: number;
  /** Endpoint → STT final text. */
  sttFinalMs?: number;
  /** LLM request → first token. */
  llmFirstTokenMs?: number;
  /** LLM request → first complete sentence. */
  firstSentenceMs?: number;
  /** TTS request of the first sentence → first audio chunk. */
  ttsFirstAudioMs?: number;
  /** Time spent in the engine itself (queues, resampling, scheduling). */
  engineOverheadMs?: number;
  /** End of caller speech → first agent audio written to the media stream. */
  totalMs?: number;
}

export interface TurnRecord {
  speaker: 'caller' | 'agent';
  text: string;
  startedAt: string; // ISO 8601
  endedAt?: string;
  /** Agent turn cut off by a barge-in: `text` is what the caller heard. */
  interrupted: boolean;
  latency?: TurnLatency;
}

/** What a call used of each provider, by the provider's config name: what an operator is billed for. */
export interface ProviderUsage {
  stt: Record<string, { audioSeconds: number }>;
  tts: Record<string, { characters: number }>;
  llm: Record<string, { replies: number; promptTokens: number; completionTokens: number; cachedTokens: number }>;
}

export type CallEventRecord =
  /**
   * `reactionMs`: caller speech onset → agent audio stopped leaving the engine; `decisionMs`: → the
   * interruption was decided (the reply is abandoned). Both from the caller's onset as received.
   */
  | { kind: 'barge_in'; at: string; reactionMs?: number; decisionMs?: number; heardText: string }
  /** Caller speech over the agent that did not interrupt it (noise, a backchannel such as "mm-hm"). */
  | { kind: 'false_barge_in'; at: string; reason: string; transcript: string; speechMs: number }
  | { kind: 'tool_call'; at: string; name: string; arguments: string; result: string }
  /** `recovered`: the call went on (a busy recogniser: the caller was asked to say it again). */
  | { kind: 'provider_error'; at: string; provider: string; stage: 'stt' | 'llm' | 'tts' | 'agent'; message: string; recovered?: true }
  | { kind: 'dtmf'; at: string; digits: string }
  /** Written once, as the conversation ends (pipeline calls; tokens only where the vendor reports them). */
  | { kind: 'usage'; at: string; usage: ProviderUsage };
