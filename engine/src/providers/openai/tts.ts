import type OpenAI from 'openai';
import { Resampler } from '@ai-agent/common/audio';
import { ProviderError } from '../errors.ts';
import { warmConnection } from '../shared/connection-warmer.ts';
import { RequestWatch } from '../shared/request-watch.ts';
import { readPcmStream } from '../shared/pcm-stream.ts';
import type { TtsCapabilities, TtsChunk, TtsOptions, TtsProvider } from '../types.ts';
import { openAiFailure, timeoutsOf, type OpenAiConfig } from './client.ts';

/** `response_format: 'pcm'` is always 24 kHz mono PCM16 little-endian. */
const VENDOR_RATE = 24000;
const DEFAULT_RATE = 16000;

/** Models that take `instructions` (voice style); the older tts-1 family refuses it. */
const takesInstructions = (model: string): boolean => !/^tts-1/.test(model);

/**
 * OpenAI speech, streamed: raw PCM chunks as the server produces them, resampled per request (one speex state,
 * so chunk joins are clean) to the rate asked for. Aborting the signal cancels the HTTP response.
 */
export class OpenAiTts implements TtsProvider {
  readonly capabilities: TtsCapabilities = { streaming: true, audio: { encodings: ['linear16'], sampleRates: [VENDOR_RATE] } };

  constructor(readonly name: string, private readonly client: OpenAI, private readonly config: OpenAiConfig) {}

  warm(): void {
    warmConnection(this.config.base_url, this.config.connect_timeout_ms);
  }

  async *synthesize(text: string, options: TtsOptions): AsyncIterable<TtsChunk> {
    const { tts } = this.config;
    const rate = options.sampleRate ?? DEFAULT_RATE;
    const watch = new RequestWatch(this.name, options.signal, timeoutsOf(this.config));
    const resampler = rate === VENDOR_RATE ? null : new Resampler(VENDOR_RATE, rate);
    try {
      const response = await this.client.audio.speech.create(
        {
          model: tts.model,
          voice: options.voice ?? tts.voice,
          input: text,
          response_format: 'pcm',
          ...(tts.instructions && takesInstructions(tts.model) ? { instructions: tts.instructions } : {}),
          ...(tts.speed !== undefined ? { speed: tts.speed } : {}),
        },
        { signal: watch.signal },
      );
      watch.started();
      if (!response.body) throw new ProviderError(this.name, 'protocol', 'the speech answer has no body');
      for await (const pcm of readPcmStream(response.body, watch)) {
        const out = resampler ? resampler.process(pcm).slice() : pcm;
        if (out.length > 0) yield { pcm: out, sampleRate: rate };
      }
      // The filter holds a few ms back until more input comes: a little silence pushes the tail out.
      const tail = resampler?.process(new Int16Array(VENDOR_RATE / 100)).slice();
      if (tail && tail.length > 0) yield { pcm: tail, sampleRate: rate };
    } catch (err) {
      const failure = openAiFailure(this.name, err, watch);
      if (failure) throw failure;
    } finally {
      watch.done();
      resampler?.destroy();
    }
  }
}
