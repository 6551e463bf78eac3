// Turns per-window speech probabilities into speech start/end with hysteresis, per call.

export type SpeechChange = 'start' | 'end' | null;

export interface SpeechDetectorOptions {
  threshold: number;
  /** Below-threshold time that ends speech. */
  minSilenceMs: number;
  /** Length of one probability window. */
  windowMs: number;
}

/** Hysteresis: speech continues while the probability stays above `threshold − HYSTERESIS`. */
const HYSTERESIS = 0.15;

export class SpeechDetector {
  /** Speech probability needed to start speech; raised while the agent talks (echo). */
  threshold: number;
  speaking = false;
  /** Audio-timeline ms where the current (or last) speech started and was last heard. */
  startMs = 0;
  lastSpeechMs = 0;
  /** Wall time (performance.now) when the last speech window was pushed. */
  lastSpeechAt = 0;
  startAt = 0;
  private readonly minSilenceMs: number;
  private readonly windowMs: number;

  constructor(options: SpeechDetectorOptions) {
    this.threshold = options.threshold;
    this.minSilenceMs = options.minSilenceMs;
    this.windowMs = options.windowMs;
  }

  /** Duration of the current speech so far (or of the last one once it ended). */
  get speechMs(): number {
    return this.lastSpeechMs - this.startMs;
  }

  update(probability: number, endMs: number, at: number): SpeechChange {
    if (!this.speaking) {
      if (probability < this.threshold) return null;
      this.speaking = true;
      this.startMs = endMs - this.windowMs;
      this.startAt = at;
      this.lastSpeechMs = endMs;
      this.lastSpeechAt = at;
      return 'start';
    }
    if (probability >= this.threshold - HYSTERESIS) {
      this.lastSpeechMs = endMs;
      this.lastSpeechAt = at;
      return null;
    }
    if (endMs - this.lastSpeechMs >= this.minSilenceMs) {
      this.speaking = false;
      return 'end';
    }
    return null;
  }

  reset(): void {
    this.speaking = false;
  }
}
