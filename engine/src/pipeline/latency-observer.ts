import type { TurnLatency } from '../call/index.ts';

/** Moments of a turn, reported by the conversation as they happen (performance.now() ms). */
export type TurnMoment =
  | 'speech_end'
  | 'endpoint'
  | 'turn_end'
  | 'stt_final'
  | 'llm_request'
  | 'llm_first_token'
  | 'first_sentence'
  | 'tts_request'
  | 'tts_first_audio'
  | 'first_audio';

export interface TurnMetric {
  moment: TurnMoment;
  at: number;
}

/**
 * Builds each turn's latency breakdown from the conversation's moments, so the conversation itself only
 * says what happened. The first occurrence of each moment in a turn counts; `speech_end` opens a turn
 * (a caller who speaks again before the reply is heard restarts it: the caller waits from their last word).
 */
export class LatencyObserver {
  private moments = new Map<TurnMoment, number>();

  observe = (m: TurnMetric): void => {
    if (m.moment === 'speech_end' && !this.moments.has('first_audio')) this.moments.clear();
    if (!this.moments.has(m.moment)) this.moments.set(m.moment, m.at);
  };

  /** The latency of the reply that just started playing; starts a fresh turn. */
  take(): TurnLatency | undefined {
    const t = this.moments;
    this.moments = new Map();
    const get = (k: TurnMoment) => t.get(k);
    const span = (a: TurnMoment, b: TurnMoment) => {
      const x = get(a);
      const y = get(b);
      return x === undefined || y === undefined ? undefined : round(Math.max(0, y - x));
    };
    if (!t.has('first_audio')) return undefined;
    const heardEnd = Math.max(get('stt_final') ?? -Infinity, get('endpoint') ?? -Infinity);
    // Audio ready before the turn ended waited for the caller, not for the engine.
    const audioReady = Math.max(get('tts_first_audio') ?? -Infinity, get('turn_end') ?? -Infinity);
    const gaps = [
      Number.isFinite(heardEnd) ? (get('llm_request') ?? heardEnd) - heardEnd : 0,
      span('first_sentence', 'tts_request') ?? 0,
      Number.isFinite(audioReady) && t.has('tts_first_audio') ? get('first_audio')! - audioReady : 0,
    ];
    return {
      endpointingMs: t.has('turn_end') ? span('speech_end', 'turn_end') : span('speech_end', 'endpoint'),
      sttFinalMs: t.has('endpoint') && t.has('stt_final') ? round(Math.max(0, get('stt_final')! - get('endpoint')!)) : undefined,
      llmFirstTokenMs: span('llm_request', 'llm_first_token'),
      firstSentenceMs: span('llm_request', 'first_sentence'),
      ttsFirstAudioMs: span('tts_request', 'tts_first_audio'),
      engineOverheadMs: round(gaps.reduce((a, b) => a + Math.max(0, b), 0)),
      totalMs: span('speech_end', 'first_audio'),
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
