import { Resampler } from '../../audio/resampler.ts';
import { EventEmitter } from 'node:events';
import type { SttStream as LocalSttStream } from '@ai-agent/local-ai-server';
import type { LocalAiPool } from '../local-ai/connection-pool.ts';
import type { SttCapabilities, SttGrammar, SttOpenOptions, SttProvider, SttStream, SttStreamEvents } from '../types.ts';

/** Audio kept while the next recognition stream opens after a finalize (1 s at 16 kHz). */
const MAX_BUFFERED_SAMPLES = 16000;

/**
 * Streaming STT over the local AI server. The server's `stt.end` flushes the utterance as a final, so
 * `finalize()` ends the current stream (its final comes at once instead of after the server's own
 * silence timeout) and opens the next one; audio in between is buffered and replayed.
 */
export class LocalAiStt implements SttProvider {
  readonly capabilities: SttCapabilities = { partials: true, grammar: true, finalize: true };
  constructor(readonly name: string, private readonly pool: LocalAiPool) {}

  async open(options: SttOpenOptions): Promise<SttStream> {
    const stream = new LocalAiSttStream(this.pool, options);
    await stream.start();
    return stream;
  }
}

class LocalAiSttStream extends EventEmitter implements SttStream {
  /** Narrowband calls are sent at 8 kHz: the server's telephone model and channel adaptation expect it. */
  private readonly sendRate: 8000 | 16000;
  private readonly down: Resampler | null;
  private current: LocalSttStream | null = null;
  private release: (() => void) | null = null;
  private opening: Promise<void> | null = null;
  private buffered: Int16Array[] = [];
  private bufferedSamples = 0;
  private grammar: SttGrammar;
  private closed = false;

  constructor(private readonly pool: LocalAiPool, private readonly options: SttOpenOptions) {
    super();
    this.grammar = options.grammar ?? null;
    const narrowband = (options.sourceSampleRate ?? options.sampleRate) <= 8000 && options.sampleRate !== 8000;
    this.sendRate = narrowband || options.sampleRate === 8000 ? 8000 : 16000;
    this.down = narrowband ? new Resampler(options.sampleRate, 8000) : null;
  }

  /** Bytes to send for one pipeline chunk (a view valid until the next call when resampled). */
  private wire(pcm: Int16Array): Uint8Array {
    const out = this.down ? this.down.process(pcm) : pcm;
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  override on<K extends keyof SttStreamEvents>(event: K, listener: (...args: SttStreamEvents[K]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override off<K extends keyof SttStreamEvents>(event: K, listener: (...args: SttStreamEvents[K]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  async start(): Promise<void> {
    this.opening = this.openNext();
    await this.opening;
  }

  write(pcm: Int16Array): void {
    if (this.closed) return;
    if (this.current) {
      this.current.write(this.wire(pcm));
      return;
    }
    if (this.bufferedSamples + pcm.length > MAX_BUFFERED_SAMPLES) return;
    this.buffered.push(pcm.slice());
    this.bufferedSamples += pcm.length;
  }

  finalize(): void {
    if (this.closed || !this.current) return;
    const ending = this.current;
    const release = this.release;
    this.current = null;
    this.release = null;
    // The final of the ended stream arrives through its listeners; then it closes.
    void ending.end().finally(() => release?.());
    this.opening = this.openNext().catch((err: unknown) => this.fail(err));
  }

  setGrammar(grammar: SttGrammar): void {
    this.grammar = grammar;
    this.current?.setGrammar(grammar);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const s = this.current;
    const release = this.release;
    this.current = null;
    this.release = null;
    this.buffered = [];
    this.down?.destroy();
    if (s) void s.end().finally(() => release?.());
    this.emit('close');
  }

  private async openNext(): Promise<void> {
    const { client, release } = await this.pool.acquire(this.options.signal);
    let stream: LocalSttStream;
    try {
      stream = await client.openStt({
        encoding: 'slin16le',
        sampleRate: this.sendRate,
        partials: true,
        ...(this.grammar ? { grammar: this.grammar } : {}),
      });
    } catch (err) {
      release();
      this.pool.markFailed(client);
      throw err;
    }
    if (this.closed) {
      void stream.end().finally(release);
      return;
    }
    let ended = false;
    stream.on('partial', (text) => {
      if (!this.closed) this.emit('partial', text);
    });
    stream.on('final', (text) => {
      if (!this.closed) this.emit('final', text);
    });
    stream.on('speech_start', () => {
      if (!this.closed) this.emit('speechStart');
    });
    stream.on('error', (err) => {
      if (err.code !== 'engine_error') ended = true;
      this.fail(err);
    });
    stream.on('closed', () => {
      // Closed by the server or the connection while still in use: the recognition is gone.
      if (this.current === stream && !ended) this.fail(new Error('recognition stream closed by the server'));
      if (this.current === stream) {
        this.pool.markFailed(client);
        release();
      }
    });
    this.current = stream;
    this.release = release;
    for (const pcm of this.buffered) stream.write(this.wire(pcm));
    this.buffered = [];
    this.bufferedSamples = 0;
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.emit('error', err instanceof Error ? err : new Error(String(err)));
  }
}
