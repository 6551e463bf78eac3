import type {
  ChatMessage, LlmEvent, LlmProvider, LlmUsage, UsageCounter, SttOpenOptions, SttProvider, SttStream, SttStreamEvents, ToolSchema,
  TtsChunk, TtsOptions, TtsProvider,
} from './types.ts';

/** What one call used, per provider: what an operator is billed for. */
export type UsageTotals = ReturnType<UsageCounter['snapshot']>;

/**
 * Per-call usage counters, filled by the metered providers the registry hands each call: audio seconds given to
 * each STT, characters to each TTS, replies and tokens of each LLM (tokens where the vendor reports them).
 */
export class CallUsage implements UsageCounter {
  private readonly totals: UsageTotals = { stt: {}, tts: {}, llm: {} };

  audio(provider: string, seconds: number): void {
    (this.totals.stt[provider] ??= { audioSeconds: 0 }).audioSeconds += seconds;
  }

  characters(provider: string, count: number): void {
    (this.totals.tts[provider] ??= { characters: 0 }).characters += count;
  }

  reply(provider: string, usage?: LlmUsage): void {
    const t = (this.totals.llm[provider] ??= { replies: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0 });
    if (!usage) {
      t.replies++;
      return;
    }
    t.promptTokens += usage.promptTokens;
    t.completionTokens += usage.completionTokens;
    t.cachedTokens += usage.cachedTokens;
  }

  /** A copy of the totals so far (audio to the millisecond). */
  snapshot(): UsageTotals {
    const copy = structuredClone(this.totals);
    for (const stt of Object.values(copy.stt)) stt.audioSeconds = Math.round(stt.audioSeconds * 1000) / 1000;
    return copy;
  }
}

/** A provider counted into `usage` under its own name (wrapped before any fallback, so each vendor is billed apart). */
export function metered<P extends SttProvider | LlmProvider | TtsProvider>(stage: 'stt' | 'llm' | 'tts', provider: P, usage: CallUsage): P {
  if (stage === 'stt') return new MeteredStt(provider as SttProvider, usage) as unknown as P;
  if (stage === 'llm') return new MeteredLlm(provider as LlmProvider, usage) as unknown as P;
  return new MeteredTts(provider as TtsProvider, usage) as unknown as P;
}

/** The wrapped provider's name and capabilities, and the call's counters. */
abstract class Metered<P extends { readonly name: string; readonly capabilities?: unknown }> {
  readonly name: string;
  constructor(protected readonly inner: P, protected readonly usage: CallUsage) {
    this.name = inner.name;
  }

  get capabilities(): P['capabilities'] {
    return this.inner.capabilities;
  }
}

class MeteredLlm extends Metered<LlmProvider> implements LlmProvider {
  chat(messages: readonly ChatMessage[], tools: readonly ToolSchema[], signal: AbortSignal, usage?: (u: LlmUsage) => void): AsyncIterable<LlmEvent> {
    this.usage.reply(this.name);
    return this.inner.chat(messages, tools, signal, (u) => {
      this.usage.reply(this.name, u);
      usage?.(u);
    });
  }

  warm(): void {
    this.inner.warm?.();
  }
}

class MeteredTts extends Metered<TtsProvider> implements TtsProvider {
  synthesize(text: string, options: TtsOptions): AsyncIterable<TtsChunk> {
    this.usage.characters(this.name, text.length);
    return this.inner.synthesize(text, options);
  }

  warm(): void {
    this.inner.warm?.();
  }
}

class MeteredStt extends Metered<SttProvider> implements SttProvider {
  async open(options: SttOpenOptions): Promise<SttStream> {
    const stream = await this.inner.open(options);
    const wireRate = options.wire?.sampleRate ?? options.sampleRate;
    return new MeteredSttStream(stream, (pcm, wire) => this.usage.audio(this.name, pcm > 0 ? pcm / options.sampleRate : wire / wireRate));
  }
}

/** Forwards everything to the provider's stream, counting the audio written to it. */
class MeteredSttStream implements SttStream {
  /** `count` is given the samples of both rates: a stream that reads only the wire's is written no pipeline audio. */
  constructor(private readonly inner: SttStream, private readonly count: (pcmSamples: number, wireSamples: number) => void) {}

  get wireOnly(): boolean {
    return this.inner.wireOnly === true;
  }

  write(pcm: Int16Array, wire?: Int16Array): void {
    this.count(pcm.length, wire?.length ?? 0);
    this.inner.write(pcm, wire);
  }

  finalize(): void {
    this.inner.finalize();
  }

  setGrammar(grammar: Parameters<SttStream['setGrammar']>[0]): void {
    this.inner.setGrammar(grammar);
  }

  close(): void {
    this.inner.close();
  }

  on<K extends keyof SttStreamEvents>(event: K, listener: (...args: SttStreamEvents[K]) => void): this {
    this.inner.on(event, listener);
    return this;
  }

  off<K extends keyof SttStreamEvents>(event: K, listener: (...args: SttStreamEvents[K]) => void): this {
    this.inner.off(event, listener);
    return this;
  }
}
