// Synthesis with a user-supplied sherpa-onnx voice (Piper/VITS, or Kokoro when `voices` is set). Loaded only
// when `tts.engine: sherpa`.
import type { LocalAiConfig } from '../config.ts';
import type { PcmAudio } from '../audio/wav.ts';
import { importOptional, requireFiles } from '../optional.ts';
import { trimLeadIn } from './lead-in.ts';
import type { TtsEngine } from './types.ts';

interface SherpaTts {
  sampleRate: number;
  generateAsync(o: { text: string; sid: number; speed: number }): Promise<{ samples: Float32Array; sampleRate: number }>;
}
interface SherpaModule {
  OfflineTts: { createAsync(config: unknown): Promise<SherpaTts> };
}

export class SherpaTtsEngine implements TtsEngine {
  readonly name = 'sherpa';
  readonly voices = ['default'];
  readonly defaultVoice = 'default';

  private constructor(private readonly tts: SherpaTts, private readonly speaker: number) {}

  static async create(cfg: LocalAiConfig['tts']['sherpa']): Promise<SherpaTtsEngine> {
    requireFiles({ 'tts.sherpa.model': cfg.model, 'tts.sherpa.tokens': cfg.tokens });
    const sherpa = await importOptional<SherpaModule>('sherpa-onnx-node');
    const model = cfg.voices
      ? { kokoro: { model: cfg.model, voices: cfg.voices, tokens: cfg.tokens, dataDir: cfg.data_dir ?? '' } }
      : { vits: { model: cfg.model, tokens: cfg.tokens, dataDir: cfg.data_dir ?? '', lexicon: cfg.lexicon ?? '' } };
    const tts = await sherpa.OfflineTts.createAsync({
      model: { ...model, numThreads: cfg.threads, provider: 'cpu' },
      maxNumSentences: 1,
    });
    return new SherpaTtsEngine(tts, cfg.speaker);
  }

  async synthesize(text: string, _voice: string, signal: AbortSignal): Promise<PcmAudio> {
    const audio = await this.tts.generateAsync({ text, sid: this.speaker, speed: 1 });
    if (signal.aborted) throw new Error('synthesis cancelled');
    const samples = new Int16Array(audio.samples.length);
    for (let i = 0; i < samples.length; i++) {
      const v = Math.max(-1, Math.min(1, audio.samples[i]));
      samples[i] = Math.round(v * 32767);
    }
    return trimLeadIn({ sampleRate: audio.sampleRate, samples });
  }

  close(): void {}
}
