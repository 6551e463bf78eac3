import { EventEmitter } from 'node:events';
import type { Logger } from '@ai-agent/common';
import { DEFAULT_RETRY_PRIMARY_MS, ProviderHealth } from './health.ts';
import type {
  ChatMessage, LlmCapabilities, LlmEvent, LlmProvider, LlmUsage, SttCapabilities, SttGrammar, SttOpenOptions, SttProvider, SttStream,
  SttStreamEvents, ToolSchema, TtsCapabilities, TtsChunk, TtsOptions, TtsProvider,
} from './types.ts';

/**
 * Fallback wrappers: the primary serves until it fails, then the fallback takes over. A request that failed
 * before producing anything is retried on the fallback; one that failed half-way (audio already played,
 * text already spoken) cannot be spliced and fails. After a failure the primary is skipped for
 * `retryAfterMs` (later requests go straight to the fallback), then the next request probes it again.
 */

export interface FallbackOptions {
  /** The primary's health, shared by every context that uses it (default: this wrapper's own). */
  health?: ProviderHealth;
  retryAfterMs?: number;
}

/** Streams an async iterable from the primary, or from the fallback if the primary fails before yielding. */
async function* withFallback<T>(
  primary: () => AsyncIterable<T>,
  fallback: () => AsyncIterable<T>,
  signal: AbortSignal,
  health: { usable: boolean; failed(): void; succeeded(): void },
  onSwitch: (err: unknown) => void,
): AsyncIterable<T> {
  if (health.usable) {
    let yielded = false;
    try {
      for await (const item of primary()) {
        if (!yielded) health.succeeded();
        yielded = true;
        yield item;
      }
      if (!yielded && !signal.aborted) health.succeeded();
      return;
    } catch (err) {
      if (signal.aborted) throw err;
      health.failed();
      if (yielded) throw err;
      onSwitch(err);
    }
  }
  yield* fallback();
}

/** The primary's health as withFallback uses it, with the wrapper's retry delay. */
function tracker(primaryName: string, stage: 'stt' | 'llm' | 'tts', options: FallbackOptions) {
  const health = options.health ?? new ProviderHealth(primaryName, stage);
  const retryAfterMs = options.retryAfterMs ?? DEFAULT_RETRY_PRIMARY_MS;
  return {
    get usable() {
      return health.usable;
    },
    failed: () => health.failed(retryAfterMs),
    succeeded: () => health.succeeded(),
  };
}

export class FallbackLlm implements LlmProvider {
  readonly name: string;
  readonly capabilities?: LlmCapabilities;
  private readonly health: ReturnType<typeof tracker>;

  constructor(private readonly primary: LlmProvider, private readonly fallback: LlmProvider, private readonly log: Logger, options: FallbackOptions = {}) {
    this.name = `${primary.name}|${fallback.name}`;
    this.capabilities = primary.capabilities;
    this.health = tracker(primary.name, 'llm', options);
  }

  chat(messages: readonly ChatMessage[], tools: readonly ToolSchema[], signal: AbortSignal, usage?: (u: LlmUsage) => void): AsyncIterable<LlmEvent> {
    return withFallback(
      () => this.primary.chat(messages, tools, signal, usage),
      () => this.fallback.chat(messages, tools, signal, usage),
      signal,
      this.health,
      (err) => this.log.warn({ err, primary: this.primary.name, fallback: this.fallback.name }, 'llm failed; using fallback'),
    );
  }

  /** Warms the provider the next request will go to. */
  warm(): void {
    (this.health.usable ? this.primary : this.fallback).warm?.();
  }
}

export class FallbackTts implements TtsProvider {
  readonly name: string;
  readonly capabilities?: TtsCapabilities;
  private readonly health: ReturnType<typeof tracker>;

  constructor(private readonly primary: TtsProvider, private readonly fallback: TtsProvider, private readonly log: Logger, options: FallbackOptions = {}) {
    this.name = `${primary.name}|${fallback.name}`;
    this.capabilities = primary.capabilities;
    this.health = tracker(primary.name, 'tts', options);
  }

  synthesize(text: string, options: TtsOptions): AsyncIterable<TtsChunk> {
    return withFallback(
      () => this.primary.synthesize(text, options),
      () => this.fallback.synthesize(text, options),
      options.signal,
      this.health,
      (err) => this.log.warn({ err, primary: this.primary.name, fallback: this.fallback.name }, 'tts failed; using fallback'),
    );
  }

  /** Warms the provider the next request will go to. */
  warm(): void {
    (this.health.usable ? this.primary : this.fallback).warm?.();
  }
}

export class FallbackStt implements SttProvider {
  readonly name: string;
  readonly capabilities: SttCapabilities;
  private readonly health: ReturnType<typeof tracker>;

  constructor(private readonly primary: SttProvider, private readonly fallback: SttProvider, private readonly log: Logger, options: FallbackOptions = {}) {
    this.name = `${primary.name}|${fallback.name}`;
    this.health = tracker(primary.name, 'stt', options);
    // Finalize is only called when both can honour it; partials/grammar are hints either way.
    this.capabilities = {
      partials: primary.capabilities.partials,
      grammar: primary.capabilities.grammar,
      finalize: primary.capabilities.finalize && fallback.capabilities.finalize,
    };
  }

  async open(options: SttOpenOptions): Promise<SttStream> {
    const stream = new FailoverSttStream(this.fallback, options, this.log, () => this.health.failed());
    if (this.health.usable) {
      try {
        stream.attach(await this.primary.open(options));
        return stream;
      } catch (err) {
        if (options.signal.aborted) throw err;
        this.health.failed();
        this.log.warn({ err, primary: this.primary.name }, 'stt failed to open; using fallback');
      }
    }
    stream.attach(await this.fallback.open(options));
    stream.switched = true;
    return stream;
  }
}

/** Forwards one provider's stream; on its error, re-opens on the fallback and carries on. */
class FailoverSttStream extends EventEmitter implements SttStream {
  switched = false;
  private inner: SttStream | null = null;
  private grammar: SttGrammar;
  private closed = false;

  constructor(
    private readonly fallback: SttProvider,
    private readonly options: SttOpenOptions,
    private readonly log: Logger,
    private readonly primaryFailed: () => void,
  ) {
    super();
    this.grammar = options.grammar ?? null;
  }

  override on<K extends keyof SttStreamEvents>(event: K, listener: (...args: SttStreamEvents[K]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override off<K extends keyof SttStreamEvents>(event: K, listener: (...args: SttStreamEvents[K]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  attach(inner: SttStream): void {
    this.inner = inner;
    inner.on('partial', (t) => this.emit('partial', t));
    inner.on('final', (t) => this.emit('final', t));
    inner.on('speechStart', () => this.emit('speechStart'));
    inner.on('turnLost', (err) => this.emit('turnLost', err));
    inner.on('error', (err) => this.onInnerError(inner, err));
  }

  get wireOnly(): boolean {
    return this.inner?.wireOnly === true;
  }

  write(pcm: Int16Array, wire?: Int16Array): void {
    this.inner?.write(pcm, wire);
  }

  finalize(): void {
    this.inner?.finalize();
  }

  setGrammar(grammar: SttGrammar): void {
    this.grammar = grammar;
    this.inner?.setGrammar(grammar);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner?.close();
    this.inner = null;
    this.emit('close');
  }

  private onInnerError(inner: SttStream, err: Error): void {
    if (this.closed || inner !== this.inner) return;
    if (this.switched) {
      this.emit('error', err);
      return;
    }
    this.switched = true;
    this.primaryFailed();
    this.inner = null;
    inner.close();
    this.log.warn({ err }, 'stt failed mid-call; using fallback');
    this.fallback.open({ ...this.options, grammar: this.grammar }).then(
      (next) => {
        if (this.closed) next.close();
        else this.attach(next);
      },
      (fallbackErr: unknown) => this.emit('error', fallbackErr instanceof Error ? fallbackErr : new Error(String(fallbackErr))),
    );
  }
}
