import { EventEmitter } from 'node:events';
import type { DeepgramClient, listen } from '@deepgram/sdk';
import { encodeAlaw, encodeUlaw, Resampler } from '@ai-agent/common/audio';
import { ProviderError } from '../errors.ts';
import { carriesSound } from '../shared/pcm.ts';
import type { SttCapabilities, SttGrammar, SttOpenOptions, SttProvider, SttStream, SttStreamEvents, WireAudio } from '../types.ts';
import { acceptsWire } from '../wire-audio.ts';
import { deepgramFailure, type DeepgramConfig } from './client.ts';

type ListenSocket = Awaited<ReturnType<DeepgramClient['listen']['v1']['connect']>>;
type ListenMessage = listen.ListenV1Results | listen.ListenV1Metadata | listen.ListenV1UtteranceEnd | listen.ListenV1SpeechStarted;

/** Caller audio the socket may hold unsent before the stream is failed (a vendor that far behind is failing). */
const MAX_BACKLOG_MS = 3000;
/** After CloseStream, how long Deepgram gets to flush its last results and close before the socket is cut. */
const CLOSE_GRACE_MS = 2000;

/**
 * Deepgram live transcription (`/v1/listen`) through the SDK's socket. The caller's audio goes in the wire's
 * own format when Deepgram takes it (µ-law 8 kHz as `encoding=mulaw&sample_rate=8000`: a quarter of the
 * bytes, and the narrowband audio the recogniser expects rather than an upsampled copy), else as pipeline
 * linear16. Deepgram's interim results are the partials, and a final is what it marks speech_final (its
 * endpointing), a Finalize answer (our end of turn) or an UtteranceEnd. KeepAlive holds the socket while no
 * audio flows; CloseStream ends it cleanly.
 */
export class DeepgramStt implements SttProvider {
  readonly capabilities: SttCapabilities = {
    partials: true,
    grammar: false,
    finalize: true,
    streaming: true,
    keyterms: true,
    // What /v1/listen decodes raw (µ-law and A-law also at 16 kHz, but telephone G.711 is 8 kHz).
    audio: { encodings: ['linear16', 'mulaw', 'alaw'], sampleRates: [8000, 16000, 24000, 48000] },
  };

  constructor(readonly name: string, private readonly client: DeepgramClient, private readonly config: DeepgramConfig) {}

  async open(options: SttOpenOptions): Promise<SttStream> {
    const { stt, connect_timeout_ms: connectMs } = this.config;
    const keyterms = stt.model.startsWith('nova-3') ? [...(options.keyterms ?? [])] : [];
    // Wider than the pipeline's 16 kHz (slin48, say) would only multiply the bytes: that goes as pipeline PCM.
    const wire = acceptsWire(this.capabilities.audio, options.wire) && options.wire.sampleRate <= options.sampleRate ? options.wire : undefined;
    const format: StreamFormat = { encoding: wire?.encoding ?? 'linear16', sampleRate: wire?.sampleRate ?? options.sampleRate, wire: wire !== undefined };
    const socket = await this.client.listen.v1.connect({
      model: stt.model,
      language: options.language,
      encoding: format.encoding,
      sample_rate: format.sampleRate,
      channels: 1,
      interim_results: String(stt.interim_results),
      endpointing: stt.endpointing_ms,
      ...(stt.interim_results && stt.utterance_end_ms > 0 ? { utterance_end_ms: stt.utterance_end_ms } : {}),
      vad_events: 'true',
      smart_format: String(stt.smart_format),
      ...(keyterms.length > 0 ? { keyterm: keyterms } : {}),
      reconnectAttempts: 0,
      connectionTimeoutInSeconds: connectMs / 1000,
      abortSignal: options.signal,
    } as Parameters<DeepgramClient['listen']['v1']['connect']>[0]);
    const stream = new DeepgramSttStream(this.name, socket, this.config, format, options.sampleRate);
    await stream.opened(connectMs, options.signal);
    return stream;
  }
}

/** What the socket was opened for: the wire's audio (`wire`), or pipeline linear16. */
interface StreamFormat extends WireAudio {
  wire: boolean;
}

class DeepgramSttStream extends EventEmitter<SttStreamEvents> implements SttStream {
  /** is_final segments of the utterance in progress (Deepgram finalizes long speech piece by piece). */
  private segments: string[] = [];
  /** The latest interim text after the segments (what a Finalize would turn final). */
  private interim = '';
  private readonly maxBacklogBytes: number;
  /** One timer per stream: KeepAlive while no audio flows, and the check that Deepgram still answers. */
  private readonly ticker: NodeJS.Timeout;
  private finalizeDeadline: NodeJS.Timeout | null = null;
  private lastSentAt = Date.now();
  /** When audio carrying sound went out with no message from Deepgram since (null: answered). */
  private unansweredSoundAt: number | null = null;
  private closed = false;
  /** Set while the socket opens: a close before the open fails the connect. */
  private closedWhileOpening: ((err: Error) => void) | null = null;

  /** Only for a write that lacks the wire audio it was opened for: pipeline PCM brought to the wire's rate. */
  private fallbackResampler: Resampler | null = null;

  constructor(
    private readonly provider: string,
    private readonly socket: ListenSocket,
    private readonly config: DeepgramConfig,
    private readonly format: StreamFormat,
    private readonly pipelineRate: number,
  ) {
    super();
    this.maxBacklogBytes = (MAX_BACKLOG_MS / 1000) * format.sampleRate * (format.encoding === 'linear16' ? 2 : 1);
    socket.on('message', this.onMessage);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    this.ticker = setInterval(() => this.tick(), Math.min(config.stt.keepalive_ms, config.idle_timeout_ms) / 2);
    socket.connect();
  }

  private tick(): void {
    if (!this.open) return;
    const now = Date.now();
    if (now - this.lastSentAt >= this.config.stt.keepalive_ms) this.socket.sendKeepAlive({ type: 'KeepAlive' });
    // Deepgram answers speech with results within a second or two; silence that long after it is a stall.
    const idle = this.config.idle_timeout_ms;
    if (this.unansweredSoundAt !== null && now - this.unansweredSoundAt > idle) {
      this.fail(new ProviderError(this.provider, 'timeout', `no results for ${idle} ms of speech`));
    }
  }

  /** Resolves once the socket is open; rejects with a ProviderError (refused, timed out, aborted). */
  async opened(timeoutMs: number, signal: AbortSignal): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProviderError(this.provider, 'timeout', `no connection within ${timeoutMs} ms`)), timeoutMs);
      this.closedWhileOpening = reject;
    });
    try {
      await Promise.race([this.socket.waitForOpen(), failed]);
      if (signal.aborted) throw new ProviderError(this.provider, 'connection', 'connect aborted');
    } catch (err) {
      this.shutdown();
      throw deepgramFailure(this.provider, err);
    } finally {
      clearTimeout(timer);
      this.closedWhileOpening = null;
    }
  }

  /** Sent in the wire's format, a frame is made of the wire's own audio (pipeline PCM only when it lacks it). */
  get wireOnly(): boolean {
    return this.format.wire;
  }

  write(pcm: Int16Array, wire?: Int16Array): void {
    if (!this.open) return;
    const backlog = this.socket.socket.bufferedAmount;
    if (backlog > this.maxBacklogBytes) {
      this.fail(new ProviderError(this.provider, 'timeout', `not reading the caller's audio (${Math.round(backlog / 1024)} KiB unsent)`));
      return;
    }
    // Always a new array: the socket may hold the bytes after this returns, while the caller reuses its frame.
    this.socket.sendMedia(this.format.wire ? this.wireBytes(pcm, wire) : new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength).slice());
    this.lastSentAt = Date.now();
    if (this.unansweredSoundAt === null && carriesSound(this.format.wire && wire ? wire : pcm)) this.unansweredSoundAt = this.lastSentAt;
  }

  /** The frame in the wire's format. G.711 samples decoded from the wire encode back to the very bytes received. */
  private wireBytes(pcm: Int16Array, wire: Int16Array | undefined): Uint8Array {
    let samples = wire;
    if (!samples) {
      this.fallbackResampler ??= new Resampler(this.pipelineRate, this.format.sampleRate);
      samples = this.fallbackResampler.process(pcm);
    }
    if (this.format.encoding === 'linear16') return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength).slice();
    const bytes = new Uint8Array(samples.length);
    if (this.format.encoding === 'mulaw') encodeUlaw(samples, bytes);
    else encodeAlaw(samples, bytes);
    return bytes;
  }

  /**
   * Deepgram answers a Finalize with `from_finalize` results when it holds audio to flush, and documents that
   * it may not answer otherwise: with nothing pending the final is empty at once; with words pending it waits
   * `finalize_timeout_ms` at most, then takes them as they are.
   */
  finalize(): void {
    if (!this.open) return;
    this.socket.sendFinalize({ type: 'Finalize' });
    if (this.segments.length === 0 && !this.interim) {
      this.emit('final', '');
      return;
    }
    this.finalizeDeadline ??= setTimeout(() => {
      this.finalizeDeadline = null;
      if (this.interim) this.segments.push(this.interim);
      this.emitFinal();
    }, this.config.stt.finalize_timeout_ms);
  }

  /** Keyterms are set for the whole stream at open; Deepgram takes no per-turn grammar. */
  setGrammar(_grammar: SttGrammar): void {}

  close(): void {
    if (this.closed) return;
    if (this.open) {
      this.socket.sendCloseStream({ type: 'CloseStream' });
      // Deepgram answers CloseStream with Metadata and closes; a server that does not is cut off.
      const socket = this.socket;
      setTimeout(() => socket.close(), CLOSE_GRACE_MS).unref();
      this.closed = true;
      this.stopTimers();
    } else {
      this.shutdown();
    }
    this.emit('close');
  }

  private get open(): boolean {
    return !this.closed && this.socket.readyState === 1;
  }

  private stopTimers(): void {
    clearInterval(this.ticker);
    this.fallbackResampler?.destroy();
    this.fallbackResampler = null;
    if (this.finalizeDeadline) clearTimeout(this.finalizeDeadline);
    this.finalizeDeadline = null;
  }

  private shutdown(): void {
    this.closed = true;
    this.stopTimers();
    this.socket.close();
  }

  private fail(err: ProviderError): void {
    if (this.closed) return;
    this.shutdown();
    if (this.listenerCount('error') > 0) this.emit('error', err);
    this.emit('close');
  }

  private emitFinal(): void {
    const text = this.segments.join(' ').trim();
    this.segments = [];
    this.interim = '';
    if (this.finalizeDeadline) clearTimeout(this.finalizeDeadline);
    this.finalizeDeadline = null;
    this.emit('final', text);
  }

  private readonly onMessage = (message: ListenMessage): void => {
    if (this.closed || typeof message !== 'object' || message === null) return;
    this.unansweredSoundAt = null;
    switch (message.type) {
      case 'Results': {
        const text = message.channel.alternatives[0]?.transcript.trim() ?? '';
        if (!message.is_final) {
          this.interim = text;
          if (text) this.emit('partial', [...this.segments, text].join(' '));
          return;
        }
        this.interim = '';
        if (text) this.segments.push(text);
        if (message.from_finalize) this.emitFinal();
        else if (message.speech_final && this.segments.length > 0) this.emitFinal();
        else if (text) this.emit('partial', this.segments.join(' '));
        return;
      }
      case 'UtteranceEnd':
        if (this.segments.length > 0) this.emitFinal();
        return;
      case 'SpeechStarted':
        this.emit('speechStart');
        return;
      default:
        return;
    }
  };

  private readonly onError = (err: Error): void => {
    this.fail(deepgramFailure(this.provider, err));
  };

  private readonly onClose = (event: { code?: number; reason?: string }): void => {
    const opening = this.closedWhileOpening;
    if (opening) {
      // A refused upgrade is reported as a close first and its reason (the HTTP status) just after: let it win.
      setImmediate(() => opening(new ProviderError(this.provider, 'connection', `the connection closed before it opened (code ${event.code ?? 'unknown'})`)));
      return;
    }
    if (this.closed) return;
    // Closed by Deepgram while in use (1011 NET-0001 idle, NET-0000 internal, a dropped connection: 1006).
    const code = event.code ?? 0;
    this.fail(new ProviderError(this.provider, code === 1006 ? 'connection' : 'server', `the stream was closed by the server (code ${code}${event.reason ? ` ${event.reason}` : ''})`));
  };
}
