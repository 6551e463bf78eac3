// The contract every synthesis engine meets: one sentence in, PCM out at the engine's own rate.
import type { PcmAudio } from '../audio/wav.ts';

export interface TtsEngine {
  readonly name: string;
  readonly voices: readonly string[];
  readonly defaultVoice: string;
  synthesize(text: string, voice: string, signal: AbortSignal): Promise<PcmAudio>;
  close(): void;
}
