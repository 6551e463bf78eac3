import type { DeepgramClient } from '@deepgram/sdk';
import { ProviderError } from '../errors.ts';
import { readPcmStream } from '../shared/pcm-stream.ts';
import { warmConnection } from '../shared/connection-warmer.ts';
import { RequestWatch } from '../shared/request-watch.ts';
import type { TtsCapabilities, TtsChunk, TtsOptions, TtsProvider } from '../types.ts';
import { deepgramFailure, type DeepgramConfig } from './client.ts';

const RATES = [8000, 16000, 24000, 48000] as const;

/**
 * Deepgram Aura over REST (`/v1/speak`): raw linear16 (`container=none`) at the rate asked for, streamed as
 * the server synthesises it, so the first audio plays before the sentence is done. Aborting the signal
 * cancels the request. One request per sentence: the pipeline's chunker already cuts replies at sentences.
 */
export class DeepgramTts implements TtsProvider {
  readonly capabilities: TtsCapabilities = { streaming: true, audio: { encodings: ['linear16', 'mulaw', 'alaw'], sampleRates: RATES } };

  constructor(readonly name: string, private readonly client: DeepgramClient, private readonly config: DeepgramConfig) {}

  warm(): void {
    warmConnection(this.config.base_url, this.config.connect_timeout_ms);
  }

  async *synthesize(text: string, options: TtsOptions): AsyncIterable<TtsChunk> {
    const rate = (RATES as readonly number[]).includes(options.sampleRate ?? 0) ? options.sampleRate! : this.config.tts.sample_rate;
    const watch = new RequestWatch(this.name, options.signal, { connectMs: this.config.connect_timeout_ms, idleMs: this.config.idle_timeout_ms });
    try {
      const audio = await this.client.speak.v1.audio.generate(
        { text, model: options.voice ?? this.config.tts.model, encoding: 'linear16', sample_rate: rate, container: 'none' },
        { abortSignal: watch.signal, maxRetries: 0, timeoutInSeconds: this.config.connect_timeout_ms / 1000 },
      );
      watch.started();
      const body = audio.stream();
      if (!body) throw new ProviderError(this.name, 'protocol', 'the speech answer has no body');
      for await (const pcm of readPcmStream(body, watch)) yield { pcm, sampleRate: rate };
    } catch (err) {
      const timeout = watch.timeoutError();
      if (timeout) throw timeout;
      if (!watch.cancelled) throw deepgramFailure(this.name, err);
    } finally {
      watch.done();
    }
  }
}
