import type { TtsChunk, TtsProvider } from '../providers/types.ts';

/**
 * Synthesised greetings, per TTS provider, voice and text: a call's first audio then starts on the first
 * tick instead of after a synthesis. Filled on first use or ahead of time with `warm()`.
 */
export class GreetingCache {
  private readonly entries = new Map<string, TtsChunk[]>();
  private readonly maxEntries: number;

  constructor(maxEntries = 64) {
    this.maxEntries = maxEntries;
  }

  get(tts: TtsProvider, text: string, voice: string | undefined): TtsChunk[] | undefined {
    return this.entries.get(keyOf(tts, text, voice));
  }

  put(tts: TtsProvider, text: string, voice: string | undefined, chunks: TtsChunk[]): void {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(keyOf(tts, text, voice), chunks);
  }

  /** Synthesises now (e.g. at startup for every context); failures are left to the first call. */
  async warm(tts: TtsProvider, text: string, voice: string | undefined, signal = new AbortController().signal): Promise<void> {
    if (!text || this.get(tts, text, voice)) return;
    const chunks: TtsChunk[] = [];
    for await (const chunk of tts.synthesize(text, { voice, signal })) chunks.push(chunk);
    this.put(tts, text, voice, chunks);
  }
}

function keyOf(tts: TtsProvider, text: string, voice: string | undefined): string {
  return `${tts.name}\u0000${voice ?? ''}\u0000${text}`;
}
