// Size: the one base of every transport's stream. Each tick's outbound frame (queue, lead, marks, idle policy)
// and inbound frame (jitter buffer; its resampling is inbound-frame.ts) run on the same clock and share its state; transports add framing only.
import { EventEmitter } from 'node:events';
import type { Logger } from '@ai-agent/common';
import type { AudioCodec, WireFormat } from '../audio/codec.ts';
import type { Pacer, PacedSink } from '../audio/pacer.ts';
import { DEFAULT_RESAMPLER_QUALITY, Resampler } from '@ai-agent/common/audio';
import { meanAbs } from '../audio/level.ts';
import { SampleQueue } from '../audio/sample-queue.ts';
import { InboundFrameSource } from './inbound-frame.ts';
import { JitterBuffer } from './jitter-buffer.ts';
import { countReason } from './counters.ts';
import { RateLimitedLog } from './rate-limited-log.ts';
import {
  FRAME_MS,
  PIPELINE_SAMPLE_RATE,
  type FlushResult,
  type MediaStream,
  type MediaStreamCounters,
  type MediaStreamEvents,
  type TransportKind,
} from '../call/index.ts';

/**
 * Quiet ticks (200 ms) after which a stream ahead of the clock falls back in line: after a barge-in the wire
 * goes silent at once, and the realigning gap comes later, in the silence.
 */
const REALIGN_AFTER_QUIET_TICKS = 10;

/** What to send on a tick with nothing queued. */
export type IdlePolicy = 'silence' | 'none';

export interface PacedStreamOptions {
  id: string;
  transport: TransportKind;
  /** Codec of received audio. */
  codec: AudioCodec;
  /** Codec of sent audio when it differs (RTP slin16 channels are answered in µ-law: see rtp/README). */
  outCodec?: AudioCodec;
  pacer: Pacer;
  log: Logger;
  idlePolicy: IdlePolicy;
  resamplerQuality?: number;
  jitterMinDelayMs?: number;
  jitterMaxDelayMs?: number;
  /** Playback queue limit in seconds of audio; beyond it writes are dropped and counted. */
  maxQueueSeconds?: number;
  now?: () => number;
}

interface PendingMark {
  id: string;
  /** Native-rate queue position the mark follows. */
  position: number;
}

/**
 * Everything the three transports share: the playback queue with positions and marks, resampling both
 * ways, the jitter buffer, and the pacer hook-up. A transport supplies `sendFrame` (put one encoded frame on
 * the wire) and feeds received payloads to `receivePayload`.
 */
export abstract class PacedMediaStream extends EventEmitter<MediaStreamEvents> implements MediaStream, PacedSink {
  readonly id: string;
  readonly transport: TransportKind;
  readonly wireFormat: WireFormat;
  readonly counters: MediaStreamCounters;
  protected readonly codec: AudioCodec;
  protected readonly outCodec: AudioCodec;
  protected readonly log: Logger;
  protected readonly warnings: RateLimitedLog;
  /** Samples per 20 ms frame at the outbound and inbound codec rates. */
  protected readonly outFrameSamples: number;
  protected readonly inFrameSamples: number;
  /** Encoded bytes of one outbound frame (reused every tick). */
  protected readonly outBytes: Uint8Array;
  /** When true (e.g. WebSocket XOFF) ticks send nothing and keep the queue. */
  protected outboundPaused = false;

  private readonly pacer: Pacer;
  private readonly idlePolicy: IdlePolicy;
  private readonly resamplerQuality: number;
  private readonly outQueue: SampleQueue;
  private readonly outFrame: Int16Array;
  private readonly silenceBytes: Uint8Array;
  private readonly outResamplers = new Map<number, Resampler>();
  private readonly jitter: JitterBuffer;
  private readonly inDecode: Int16Array;
  /** The decoded part of `inDecode` handed to 'packet' listeners. */
  private packetView: Int16Array = new Int16Array(0);
  /** Handed to every 'frame' listener and overwritten on the next tick (InboundFrame's ownership rule). */
  private readonly inFrame: InboundFrameSource;
  private readonly marks: PendingMark[] = [];
  private unregister: (() => void) | null = null;
  private lastOutputLevel = 0;
  private sending = false;
  /**
   * Frames this stream's timeline runs ahead of the clock (0 or 1). Agent audio that starts while none is
   * playing goes on the wire at once instead of waiting up to 20 ms for the next tick: the caller hears the
   * reply sooner. The rest of the talk spurt follows one frame ahead, and after a quiet stretch one tick sends
   * nothing to fall back in line (a single 40 ms gap in a silence stream; none in the agent's audio).
   */
  private lead = 0;
  /** Ticks with nothing queued since the stream went ahead of the clock. */
  private quietTicks = 0;
  private utteranceStart = 0;
  private frameIndex = 0;
  private isClosed = false;

  protected constructor(options: PacedStreamOptions) {
    super();
    this.id = options.id;
    this.transport = options.transport;
    this.codec = options.codec;
    this.outCodec = options.outCodec ?? options.codec;
    this.wireFormat = options.codec.format;
    this.pacer = options.pacer;
    this.log = options.log;
    this.warnings = new RateLimitedLog(options.log);
    this.idlePolicy = options.idlePolicy;
    this.resamplerQuality = options.resamplerQuality ?? DEFAULT_RESAMPLER_QUALITY;
    const rate = options.codec.sampleRate;
    const outRate = this.outCodec.sampleRate;
    this.inFrameSamples = Math.round((rate * FRAME_MS) / 1000);
    this.outFrameSamples = Math.round((outRate * FRAME_MS) / 1000);
    this.outQueue = new SampleQueue(this.outFrameSamples * 16, Math.round(outRate * (options.maxQueueSeconds ?? 300)));
    this.outFrame = new Int16Array(this.outFrameSamples);
    this.outBytes = new Uint8Array(this.outFrameSamples * this.outCodec.bytesPerSample);
    this.silenceBytes = new Uint8Array(this.outBytes.length).fill(this.outCodec.silenceByte);
    this.jitter = new JitterBuffer({
      sampleRate: rate,
      frameSamples: this.inFrameSamples,
      now: options.now ?? (() => performance.now()),
      minDelayMs: options.jitterMinDelayMs,
      maxDelayMs: options.jitterMaxDelayMs,
    });
    this.inFrame = new InboundFrameSource(rate, this.inFrameSamples, this.resamplerQuality);
    this.inDecode = new Int16Array(this.jitter.maxPacket);
    this.counters = {
      packetsIn: 0, bytesIn: 0, eventsIn: 0, packetsOut: 0, bytesOut: 0, framesToPipeline: 0, silenceFramesToPipeline: 0,
      fillerFramesOut: 0, outboundDrains: 0, outboundOverflowSamples: 0, flushes: 0, rejected: {},
      jitter: this.jitter.stats,
    };
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get writtenSamples(): number {
    return this.toPipeline(this.outQueue.writePosition);
  }

  get playedSamples(): number {
    return this.toPipeline(this.outQueue.readPosition);
  }

  get outputLevel(): number {
    return this.lastOutputLevel;
  }

  get queuedSamples(): number {
    return this.toPipeline(this.outQueue.length);
  }

  /** Joins the shared clock: from now on a frame goes out every 20 ms (silence if nothing is queued). */
  protected startPacing(): void {
    if (!this.unregister && !this.isClosed) this.unregister = this.pacer.add(this);
  }

  write(pcm: Int16Array, sampleRate: number): number {
    if (this.isClosed || pcm.length === 0) return this.writtenSamples;
    if (this.outQueue.length === 0) this.utteranceStart = this.outQueue.writePosition;
    let dropped: number;
    if (sampleRate === this.outCodec.sampleRate) {
      dropped = this.outQueue.push(pcm);
    } else {
      let resampler = this.outResamplers.get(sampleRate);
      if (!resampler) {
        resampler = new Resampler(sampleRate, this.outCodec.sampleRate, this.resamplerQuality);
        this.outResamplers.set(sampleRate, resampler);
      }
      dropped = resampler.processInto(pcm, this.outQueue);
    }
    if (dropped > 0) {
      this.counters.outboundOverflowSamples += dropped;
      this.warnings.warn('queue_overflow', { callId: this.id }, 'playback queue full; audio dropped');
    }
    // Two frames queued at least: the next tick has one too, so going early never opens a gap in a source
    // that delivers just in time.
    if (!this.sending && this.lead === 0 && this.unregister && !this.outboundPaused && this.outQueue.length >= 2 * this.outFrameSamples) {
      this.lead = 1;
      this.quietTicks = 0;
      this.sendQueued(this.pacer.upcomingTick);
    }
    return this.writtenSamples;
  }

  mark(id: string = `m${this.outQueue.writePosition}`): string {
    if (this.isClosed) {
      this.emit('mark', id, false);
      return id;
    }
    this.marks.push({ id, position: this.outQueue.writePosition });
    return id;
  }

  flush(): FlushResult {
    const playedSamples = this.toPipeline(this.outQueue.readPosition - Math.min(this.utteranceStart, this.outQueue.readPosition));
    const discarded = this.outQueue.clear();
    this.utteranceStart = this.outQueue.writePosition;
    for (const r of this.outResamplers.values()) r.reset();
    this.counters.flushes++;
    this.sending = false;
    const dropped = this.marks.splice(0);
    this.onFlush();
    for (const m of dropped) this.emit('mark', m.id, false);
    return { playedSamples, discardedSamples: this.toPipeline(discarded), position: this.playedSamples };
  }

  close(reason = 'closed'): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.unregister?.();
    this.unregister = null;
    this.outQueue.clear();
    for (const r of this.outResamplers.values()) r.destroy();
    this.outResamplers.clear();
    this.inFrame.destroy();
    this.closeTransport(reason);
    for (const m of this.marks.splice(0)) this.emit('mark', m.id, false);
    this.emit('close', reason);
  }

  /** Releases the transport's socket/connection. Called once, from `close()`. */
  protected abstract closeTransport(reason: string): void;

  /** Puts one encoded frame on the wire. `startOfSpurt` marks the first frame after idle (RTP marker bit). */
  protected abstract sendFrame(payload: Uint8Array, tick: number, startOfSpurt: boolean): void;

  /** Barge-in hook: transports with a far-end queue clear it here. */
  protected onFlush(): void {}

  /** Playback passed a mark. Transports whose far end re-times audio confirm it remotely instead. */
  protected markPassed(id: string): void {
    this.emit('mark', id, true);
  }

  /** Decodes a received payload into the jitter buffer. `timestamp` is in native samples. */
  /** Takes one received payload: `payload[start, end)`, so a transport need not make a view of each packet. */
  protected receivePayload(payload: Uint8Array, seq: number, timestamp: number, start = 0, end = payload.length): void {
    const bytes = end - start;
    this.counters.packetsIn++;
    this.counters.bytesIn += bytes;
    const maxBytes = this.inDecode.length * this.codec.bytesPerSample;
    if (bytes > maxBytes) {
      this.reject('oversize_payload');
      return;
    }
    const n = this.codec.decode(payload, this.inDecode, start, end);
    if (n === 0) {
      this.reject('empty_payload');
      return;
    }
    if (this.listenerCount('packet') > 0) {
      // Packets keep their size for a call: the view is made again only when it changes (no allocation per packet).
      if (this.packetView.length !== n) this.packetView = this.inDecode.subarray(0, n);
      this.emit('packet', this.packetView);
    }
    this.jitter.push(seq, timestamp, this.inDecode, n);
  }

  /** Counts and (rate-limited) logs rejected input. Never throws. */
  protected reject(reason: string, fields: Record<string, unknown> = {}): void {
    countReason(this.counters.rejected, reason);
    this.warnings.warn(reason, { callId: this.id, ...fields }, 'media input rejected');
  }

  /** Reports a transport failure to listeners (if any) and the log, without throwing. */
  protected fail(err: Error): void {
    this.log.warn({ callId: this.id, err }, 'media stream error');
    // EventEmitter throws an 'error' nobody listens to: from a socket handler that would end every call.
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /** Packets the jitter buffer can hold: the largest burst a transport's flood guard need let through. */
  protected get jitterDepth(): number {
    return this.jitter.depth;
  }

  protected resetJitter(): void {
    this.jitter.reset();
  }

  protected emitDtmf(digit: string): void {
    this.emit('dtmf', digit);
  }

  sendTick(tick: number): void {
    this.lastOutputLevel = 0;
    if (this.isClosed || this.outboundPaused) return;
    if (this.sendQueued(tick + this.lead)) {
      this.quietTicks = 0;
      return;
    }
    if (this.sending) {
      this.sending = false;
      this.counters.outboundDrains++;
    }
    if (this.marks.length > 0) this.firePassedMarks();
    if (this.lead > 0 && (this.idlePolicy === 'none' || ++this.quietTicks >= REALIGN_AFTER_QUIET_TICKS)) {
      this.lead = 0; // this tick's frame went out early: back in line with the clock
      return;
    }
    if (this.idlePolicy === 'silence') {
      this.counters.fillerFramesOut++;
      this.sendFrame(this.silenceBytes, tick + this.lead, false);
    }
  }

  /** Puts the next queued frame on the wire, stamped `tick`; false when nothing is queued. */
  private sendQueued(tick: number): boolean {
    const F = this.outFrameSamples;
    const got = this.outQueue.pull(this.outFrame, F);
    if (got === 0) return false;
    if (got < F) this.outFrame.fill(0, got);
    this.lastOutputLevel = meanAbs(this.outFrame);
    this.outCodec.encode(this.outFrame, this.outBytes);
    // Only a stream that goes quiet between utterances has talk spurts to mark.
    const start = !this.sending && this.idlePolicy === 'none';
    this.sending = true;
    this.sendFrame(this.outBytes, tick, start);
    this.firePassedMarks();
    return true;
  }

  receiveTick(): void {
    if (this.isClosed) return;
    const frame = this.inFrame;
    const kind = this.jitter.pull(frame.wireSamples);
    frame.advance(this.frameIndex++, kind);
    this.counters.framesToPipeline++;
    if (kind === 'silence') this.counters.silenceFramesToPipeline++;
    this.emit('frame', frame);
  }

  private firePassedMarks(): void {
    const played = this.outQueue.readPosition;
    while (this.marks.length > 0 && this.marks[0].position <= played) {
      this.markPassed(this.marks.shift()!.id);
    }
  }

  private toPipeline(nativeSamples: number): number {
    const rate = this.outCodec.sampleRate;
    return rate === PIPELINE_SAMPLE_RATE ? nativeSamples : Math.round((nativeSamples * PIPELINE_SAMPLE_RATE) / rate);
  }
}
