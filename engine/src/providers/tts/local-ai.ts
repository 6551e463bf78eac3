import type { SynthesisOptions } from '@ai-agent/local-ai-server/client';
import type { LocalAiPool } from '../local-ai/connection-pool.ts';
import type { TtsChunk, TtsOptions, TtsProvider } from '../types.ts';

const RATE = 16000;

/** The local AI server's synthesis (flite, or a user-supplied voice), as 16 kHz PCM16. */
export class LocalAiTts implements TtsProvider {
  constructor(readonly name: string, private readonly pool: LocalAiPool) {}

  async *synthesize(text: string, options: TtsOptions): AsyncIterable<TtsChunk> {
    const format: SynthesisOptions = { sampleRate: RATE, encoding: 'slin16le', ...(options.voice ? { voice: options.voice } : {}) };
    const { items, release } = await this.pool.stream(options.signal, (client) => client.synthesize(text, format, options.signal));
    try {
      for await (const bytes of items) {
        if (options.signal.aborted) return;
        yield { pcm: toInt16(bytes), sampleRate: RATE };
      }
    } finally {
      release();
    }
  }
}

/** Little-endian bytes → samples; a view when aligned (the frame's copy is ours), else a copy. */
function toInt16(bytes: Uint8Array): Int16Array {
  const n = bytes.byteLength >> 1;
  if ((bytes.byteOffset & 1) === 0) return new Int16Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Int16Array(n);
  new Uint8Array(out.buffer).set(bytes.subarray(0, n * 2));
  return out;
}
