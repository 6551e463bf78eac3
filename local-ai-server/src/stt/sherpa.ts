// Streaming recognition with a user-supplied sherpa-onnx transducer model (e.g. a streaming zipformer).
// Loaded only when `stt.engine: sherpa`; grammar requests are ignored (the model has no grammar search).
import type { Logger } from '@ai-agent/common';
import type { LocalAiConfig } from '../config.ts';
import { importOptional, requireFiles } from '../optional.ts';
import type { SttEngine, SttEvents, SttOptions, SttSession } from './types.ts';
import { STT_RATE } from './types.ts';

interface SherpaStream {
  acceptWaveform(o: { samples: Float32Array; sampleRate: number }): void;
  inputFinished(): void;
}
interface SherpaRecognizer {
  createStream(): SherpaStream;
  isReady(s: SherpaStream): boolean;
  decode(s: SherpaStream): void;
  isEndpoint(s: SherpaStream): boolean;
  reset(s: SherpaStream): void;
  getResult(s: SherpaStream): { text: string };
}
interface SherpaModule {
  OnlineRecognizer: new (config: unknown) => SherpaRecognizer;
}

export class SherpaSttEngine implements SttEngine {
  readonly name = 'sherpa';

  private constructor(private readonly recognizer: SherpaRecognizer, private readonly log: Logger) {}

  static async create(cfg: LocalAiConfig['stt']['sherpa'], log: Logger): Promise<SherpaSttEngine> {
    requireFiles({
      'stt.sherpa.encoder': cfg.encoder,
      'stt.sherpa.decoder': cfg.decoder,
      'stt.sherpa.joiner': cfg.joiner,
      'stt.sherpa.tokens': cfg.tokens,
    });
    const sherpa = await importOptional<SherpaModule>('sherpa-onnx-node');
    const recognizer = new sherpa.OnlineRecognizer({
      featConfig: { sampleRate: STT_RATE, featureDim: 80 },
      modelConfig: {
        transducer: { encoder: cfg.encoder, decoder: cfg.decoder, joiner: cfg.joiner },
        tokens: cfg.tokens,
        numThreads: cfg.threads,
        provider: 'cpu',
      },
      enableEndpoint: true,
    });
    return new SherpaSttEngine(recognizer, log);
  }

  open(options: SttOptions, events: SttEvents): SttSession {
    const rec = this.recognizer;
    const stream = rec.createStream();
    let inSpeech = false;
    let last = '';
    let open = true;

    const pump = (): void => {
      while (rec.isReady(stream)) rec.decode(stream);
      const text = rec.getResult(stream).text.trim().toLowerCase();
      if (text && !inSpeech) {
        inSpeech = true;
        events.speechStart();
      }
      if (text !== last && text) {
        last = text;
        if (options.partials) events.partial(text);
      }
      if (rec.isEndpoint(stream)) {
        if (text) events.final(text, false);
        rec.reset(stream);
        inSpeech = false;
        last = '';
      }
    };

    return {
      write(pcm) {
        if (!open) return;
        const samples = new Float32Array(pcm.length);
        for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
        stream.acceptWaveform({ samples, sampleRate: STT_RATE });
        pump();
      },
      setGrammar: () => {
        this.log.debug('grammar ignored: the sherpa engine has no grammar search');
      },
      end() {
        if (!open) return;
        open = false;
        stream.inputFinished();
        while (rec.isReady(stream)) rec.decode(stream);
        const text = rec.getResult(stream).text.trim().toLowerCase();
        if (text) events.final(text, false);
        events.closed();
      },
      abort() {
        open = false;
      },
    };
  }

  close(): void {}
}
