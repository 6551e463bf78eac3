import type { SynthesisOptions } from '@ai-agent/local-ai-server/client';
import type { LocalAiPool } from './connection-pool.ts';
import { ProviderError } from '../errors.ts';
import { toInt16 } from '../shared/pcm.ts';
import type { TtsCapabilities, TtsChunk, TtsOptions, TtsProvider } from '../types.ts';
import { LOCAL_IDLE_TIMEOUT_MS } from './failure.ts';
import { localRequest } from './request.ts';

const RATE = 16000;

/** The local AI server's synthesis (flite, or a user-supplied voice), as 16 kHz PCM16. */
export class LocalAiTts implements TtsProvider {
  readonly capabilities: TtsCapabilities = { streaming: true, audio: { encodings: ['linear16', 'mulaw'], sampleRates: [8000, 16000] } };
  constructor(readonly name: string, private readonly pool: LocalAiPool, private readonly idleTimeoutMs = LOCAL_IDLE_TIMEOUT_MS) {}

  async *synthesize(text: string, options: TtsOptions): AsyncIterable<TtsChunk> {
    const format: SynthesisOptions = { sampleRate: RATE, encoding: 'slin16le', ...(options.voice ? { voice: options.voice } : {}) };
    let samples = 0;
    for await (const bytes of localRequest(this.name, this.pool, options.signal, this.idleTimeoutMs, (client, signal) => client.synthesize(text, format, signal))) {
      if (options.signal.aborted) return;
      const pcm = toInt16(bytes);
      samples += pcm.length;
      yield { pcm, sampleRate: RATE };
    }
    // The server skips a sentence its engine failed on (`engine_error`) and still ends the stream.
    if (samples === 0 && text.trim() && !options.signal.aborted) {
      throw new ProviderError(this.name, 'server', 'the server synthesised no audio for the text (engine error)');
    }
  }
}
