// Size: one recognition stream: opening and busy retries, pre-roll, segments and their finals share one lease
// and one sample queue.
import { Resampler } from '@ai-agent/common/audio';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalAiError, type SttStream as LocalSttStream } from '@ai-agent/local-ai-server/client';
import type { Lease, LocalAiPool } from './connection-pool.ts';
import { ProviderError } from '../errors.ts';
import { carriesSound } from '../shared/pcm.ts';
import { ButterworthLowpass } from '../../audio/lowpass.ts';
import { SampleQueue } from '../../audio/sample-queue.ts';
import { LOCAL_IDLE_TIMEOUT_MS, localFailure } from './failure.ts';
import type { SttCapabilities, SttGrammar, SttOpenOptions, SttProvider, SttStream, SttStreamEvents } from '../types.ts';

/** Audio kept while a recognition stream opens, busy retries included (3 s at 16 kHz); beyond it the oldest is dropped. */
const MAX_BUFFERED_SAMPLES = 48000;
/** Default of `busy_retry_ms`: how long an open keeps trying while every server recogniser is in use. */
export const LOCAL_BUSY_RETRY_MS = 2000;
/** Waits before asking a busy server again, in turn; the last repeats. */
const BUSY_BACKOFF_MS = [50, 100, 200, 400] as const;
/** Every recogniser in use (or this connection's streams): a caller who stops talking frees one soon. */
const serverBusy = (err: unknown): boolean => err instanceof LocalAiError && (err.code === 'busy' || err.code === 'too_many_streams');
/** Quiet 20 ms frames after a server-side end of utterance before the decoder is given back (1 s). */
const LINGER_FRAMES = 50;
/** Audio before the onset that goes with it, so the first syllable is not clipped (300 ms at 16 kHz). */
const PREROLL_SAMPLES = 4800;
/** Where an 8 kHz call's audio is band-limited (3 dB down) before the recogniser hears it. */
const BAND_LIMIT_HZ = 3700;
/** Waiting audio goes to a recogniser that opens in messages of at most this much (500 ms at 16 kHz). */
const SEND_CHUNK_SAMPLES = 8000;

const bytesOf = (pcm: Int16Array): Uint8Array => new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);

/**
 * Streaming STT over the local AI server. A server recogniser (one decoder process each) is held only while
 * the caller is talking: it opens on the first frame that carries sound (with 300 ms of pre-roll) and ends at
 * `finalize()`, whose final then comes at once instead of after the server's own silence timeout. So a
 * server sized for N decoders serves many more calls than N, as long as fewer than N callers talk at once.
 */
export class LocalAiStt implements SttProvider {
  readonly capabilities: SttCapabilities = {
    partials: true,
    grammar: true,
    finalize: true,
    streaming: true,
    keyterms: false,
    audio: { encodings: ['linear16', 'mulaw'], sampleRates: [8000, 16000] },
  };
  constructor(
    readonly name: string,
    private readonly pool: LocalAiPool,
    private readonly idleTimeoutMs = LOCAL_IDLE_TIMEOUT_MS,
    private readonly busyRetryMs = LOCAL_BUSY_RETRY_MS,
  ) {}

  async open(options: SttOpenOptions): Promise<SttStream> {
    // Fail now, not at the caller's first word, when the server cannot be reached.
    try {
      const { release } = await this.pool.acquire(options.signal);
      release();
    } catch (err) {
      throw localFailure(this.name, err) ?? err;
    }
    return new LocalAiSttStream(this.name, this.pool, options, this.idleTimeoutMs, this.busyRetryMs);
  }
}

class LocalAiSttStream extends EventEmitter implements SttStream {
  /**
   * Calls that were 8 kHz on the wire are sent at 8 kHz: the server's telephone treatment expects it, and it
   * halves the traffic. A 16 kHz wire goes as is: it may still carry a narrowband caller (Asterisk's slin16),
   * which the server tells from the audio's bandwidth.
   */
  private readonly sendRate: 8000 | 16000;
  /**
   * An 8 kHz call is heard at its own rate, band-limited to 3.7 kHz as the pipeline's 8 → 16 → 8 kHz round trip
   * left it before (−3 to −4 dB at 3.7 kHz, below −45 at 3.9), so the call's frames need never be resampled.
   * Word error rates of the two differ less than shifting the audio by a few ms against the recogniser's 10 ms
   * frames does (tuning set, four shifts: 34.7–37.3 % filtered, 34.7–36.4 % round trip). Only a write without
   * the wire's frame (a stream opened without `wire`) is resampled down from the pipeline's.
   */
  private readonly bandLimit: ButterworthLowpass | null;
  /** For a narrowband stream written without the wire's frame: made at the first such write. */
  private down: Resampler | null = null;
  /** An 8 kHz call on a 16 kHz pipeline: sent at 8 kHz. */
  private readonly narrowband: boolean;
  /** Narrowband, opened with the wire's own audio (SttStream.wireOnly). */
  readonly wireOnly: boolean;
  /** PREROLL_SAMPLES and MAX_BUFFERED_SAMPLES at the send rate. */
  private readonly prerollSamples: number;
  private readonly maxBufferedSamples: number;
  private current: LocalSttStream | null = null;
  private release: (() => void) | null = null;
  private opening = false;
  /** finalize() came while the recogniser was still opening: end it as soon as it is open. */
  private finalizePending = false;
  /** Every recogniser stayed busy through this caller turn: its audio is dropped until finalize() ends the turn. */
  private turnLost = false;
  /**
   * Send-rate audio waiting for a recogniser: the pre-roll while idle, everything while opening. A queue copied
   * into, not a list of slices: idle calls keep their pre-roll on every frame.
   */
  private readonly pending: SampleQueue;
  private frameBytesOf: Int16Array | null = null;
  private frameBytes: Uint8Array = new Uint8Array(0);
  /** The send-rate frames' buffer (filtered or resampled, narrowband only) and the view of its latest frame. */
  private sendRateBuffer = new Int16Array(0);
  private sendRateFrame = new Int16Array(0);
  private grammar: SttGrammar;
  private closed = false;
  /**
   * Frames without sound since the server ended an utterance on its own, or -1. Its decoder is kept for a
   * moment: a caller reading out digits pauses longer than the server's end of utterance, and reopening a
   * recogniser for the next digit would lose its onset.
   */
  private quietSinceFinal = -1;
  /** Recognisers told to end whose final has not come: each fails only after idleTimeoutMs without a message. */
  private readonly ending = new Map<LocalSttStream, NodeJS.Timeout>();

  constructor(
    private readonly provider: string,
    private readonly pool: LocalAiPool,
    private readonly options: SttOpenOptions,
    private readonly idleTimeoutMs: number,
    private readonly busyRetryMs: number,
  ) {
    super();
    this.grammar = options.grammar ?? null;
    const narrowband = (options.sourceSampleRate ?? options.sampleRate) <= 8000 && options.sampleRate !== 8000;
    this.narrowband = narrowband;
    this.sendRate = narrowband || options.sampleRate === 8000 ? 8000 : 16000;
    this.wireOnly = narrowband && options.wire?.sampleRate === 8000;
    this.bandLimit = this.wireOnly ? new ButterworthLowpass(8000, BAND_LIMIT_HZ, 6) : null;
    this.prerollSamples = (PREROLL_SAMPLES * this.sendRate) / 16000;
    this.maxBufferedSamples = (MAX_BUFFERED_SAMPLES * this.sendRate) / 16000;
    this.pending = new SampleQueue(this.prerollSamples * 2);
  }

  override on<K extends keyof SttStreamEvents>(event: K, listener: (...args: SttStreamEvents[K]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override off<K extends keyof SttStreamEvents>(event: K, listener: (...args: SttStreamEvents[K]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  /**
   * One chunk at the send rate, valid until the next call. A filtered or resampled frame lands in a buffer of
   * this stream's, seen through one view that is remade only when the frame's length changes (the first frames).
   */
  private toSendRate(pcm: Int16Array, wire: Int16Array | undefined): Int16Array {
    if (this.bandLimit && wire) return this.sendFrame(this.bandLimit.processTo(wire, this.sendBuffer(wire.length)));
    if (!this.narrowband) return pcm;
    this.down ??= new Resampler(this.options.sampleRate, 8000);
    return this.sendFrame(this.down.processTo(pcm, this.sendBuffer(this.down.outputLength(pcm.length))));
  }

  /** This stream's buffer for a send-rate frame, at least `needed` samples long. */
  private sendBuffer(needed: number): Int16Array {
    if (this.sendRateBuffer.length < needed) this.sendRateFrame = (this.sendRateBuffer = new Int16Array(needed)).subarray(0, 0);
    return this.sendRateBuffer;
  }

  /** The view of the buffer's first `count` samples. */
  private sendFrame(count: number): Int16Array {
    if (this.sendRateFrame.length !== count) this.sendRateFrame = this.sendRateBuffer.subarray(0, count);
    return this.sendRateFrame;
  }

  /** The bytes of a frame to send: a 16 kHz call hands the same frame buffer every tick, so its view is made once. */
  private bytesOfFrame(pcm: Int16Array): Uint8Array {
    if (this.frameBytesOf !== pcm) {
      this.frameBytesOf = pcm;
      this.frameBytes = bytesOf(pcm);
    }
    return this.frameBytes;
  }

  /** Appends to `pending`, dropping its oldest audio beyond `limit` samples. */
  private keep(pcm: Int16Array, limit: number): void {
    this.pending.push(pcm);
    if (this.pending.length > limit) this.pending.skip(this.pending.length - limit);
  }

  write(pcm: Int16Array, wire?: Int16Array): void {
    if (this.closed) return;
    const audio = this.toSendRate(pcm, wire);
    if (this.current) {
      this.current.write(this.bytesOfFrame(audio));
      if (this.quietSinceFinal >= 0) {
        if (carriesSound(audio)) this.quietSinceFinal = 0;
        else if (++this.quietSinceFinal >= LINGER_FRAMES) this.endCurrent();
      }
      return;
    }
    if (this.turnLost) return;
    if (this.opening) {
      this.keep(audio, this.maxBufferedSamples);
      return;
    }
    this.keep(audio, this.prerollSamples);
    if (carriesSound(audio)) {
      this.opening = true;
      this.openNext().catch((err: unknown) => this.openFailed(err));
    }
  }

  finalize(): void {
    if (this.closed) return;
    this.turnLost = false;
    if (this.opening) {
      this.finalizePending = true;
      return;
    }
    this.endCurrent();
  }

  setGrammar(grammar: SttGrammar): void {
    this.grammar = grammar;
    this.current?.setGrammar(grammar);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.clear();
    this.endCurrent();
    this.down?.destroy();
    this.emit('close');
  }

  /** Ends the open recogniser (its final arrives through its listeners) and goes idle. */
  private endCurrent(): void {
    this.quietSinceFinal = -1;
    const ending = this.current;
    const release = this.release;
    this.current = null;
    this.release = null;
    if (!ending) return;
    // A recogniser that stops answering would hold its decoder and the turn. A slow one (a saturated host
    // decoding its backlog) still sends partials: each restarts the deadline, so only silence fails the turn.
    if (!this.closed) {
      const deadline = setTimeout(() => {
        this.fail(new ProviderError(this.provider, 'timeout', `the recogniser sent nothing for ${this.idleTimeoutMs} ms after the end of the turn`));
        release?.();
      }, this.idleTimeoutMs);
      this.ending.set(ending, deadline);
    }
    void ending.end().finally(() => {
      clearTimeout(this.ending.get(ending));
      this.ending.delete(ending);
      release?.();
    });
  }

  /**
   * Opens a recogniser. While every one is in use the server answers `busy`: the open is tried again with
   * backoff for up to busyRetryMs (the caller's audio waits in `pending`), as another caller's turn ends soon.
   */
  private async openRecogniser(): Promise<Lease & { value: LocalSttStream }> {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.pool.open(this.options.signal, (client) =>
          client.openStt({
            encoding: 'slin16le',
            sampleRate: this.sendRate,
            partials: true,
            ...(this.grammar ? { grammar: this.grammar } : {}),
          }),
        );
      } catch (err) {
        if (!serverBusy(err) || this.closed || this.options.signal?.aborted) throw err;
        const left = this.busyRetryMs - (performance.now() - started);
        if (left <= 0) {
          if (attempt === 0) throw err;
          throw new ProviderError(this.provider, 'rate_limited', `every recogniser of the server stayed busy for ${this.busyRetryMs} ms`);
        }
        await sleep(Math.min(BUSY_BACKOFF_MS[Math.min(attempt, BUSY_BACKOFF_MS.length - 1)]!, left));
      }
    }
  }

  private async openNext(): Promise<void> {
    let opened: Lease & { value: LocalSttStream };
    try {
      opened = await this.openRecogniser();
    } finally {
      this.opening = false;
    }
    const { value: stream, release } = opened;
    if (this.closed) {
      void stream.end().finally(release);
      return;
    }
    let ended = false;
    stream.on('partial', (text) => {
      this.ending.get(stream)?.refresh();
      if (!this.closed) this.emit('partial', text);
    });
    stream.on('final', (text) => {
      this.ending.get(stream)?.refresh();
      if (this.closed) return;
      // The server ended the utterance itself: its decoder goes back once the caller stays quiet a while.
      if (this.current === stream) this.quietSinceFinal = 0;
      this.emit('final', text);
    });
    stream.on('speech_start', () => {
      if (!this.closed) this.emit('speechStart');
    });
    stream.on('error', (err) => {
      if (err.code !== 'engine_error') ended = true;
      this.fail(err);
    });
    stream.on('closed', () => {
      // Closed by the server while still in use: the recognition is gone.
      if (this.current === stream && !ended) this.fail(new Error('recognition stream closed by the server'));
      if (this.current === stream) {
        this.current = null;
        this.release = null;
        release();
      }
    });
    this.current = stream;
    this.release = release;
    const chunk = new Int16Array(Math.min(this.pending.length, SEND_CHUNK_SAMPLES));
    while (this.pending.length > 0) stream.write(bytesOf(chunk.subarray(0, this.pending.pull(chunk))));
    if (this.finalizePending) {
      this.finalizePending = false;
      this.endCurrent();
    }
  }

  /**
   * No recogniser for this turn, so its audio goes. A server that stayed busy costs the turn only (the next
   * one opens afresh); any other failure fails the stream.
   */
  private openFailed(err: unknown): void {
    const turnOver = this.finalizePending;
    this.pending.clear();
    this.finalizePending = false;
    if (this.closed) return;
    const failure = localFailure(this.provider, err);
    if (failure?.failure !== 'rate_limited') return this.fail(err);
    this.turnLost = !turnOver;
    this.emit('turnLost', failure);
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.emit('error', localFailure(this.provider, err) ?? new Error(String(err)));
  }
}
