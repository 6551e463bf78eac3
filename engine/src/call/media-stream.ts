// A call's audio as both sides see it: the transports (RTP, AudioSocket, WebSocket media) implement MediaStream,
// telephony hands it to the conversation, the pipeline reads and writes it.
import type { WireFormat } from '../audio/codec.ts';

/** `browser`: a test call from the admin UI's softphone (WebSocket media with no Asterisk channel). */
export type TransportKind = 'rtp' | 'audiosocket' | 'websocket' | 'browser';

export type InboundFrameKind = 'audio' | 'concealed' | 'silence';

/** The transport's jitter buffer, as the media counters report it. */
export interface JitterBufferStats {
  received: number;
  /** Frames released that held received audio. */
  played: number;
  /** Packets replaced by concealment because they were missing when due. */
  concealed: number;
  /** Frames of concealment while waiting for a late packet (delay grows by one frame). */
  stretched: number;
  /** Packets that arrived after their playout time (dropped). */
  late: number;
  duplicate: number;
  /** Packets too far ahead of the playout point: the buffer restarted on them. */
  resync: number;
  /** Frames dropped to bring the delay back down to the target. */
  shrunk: number;
  /** Talk spurts started (playout restarts after the sender went quiet). */
  spurts: number;
  /** RFC 3550 interarrival jitter estimate, ms. */
  jitterMs: number;
  /** Current playout delay target, ms. */
  targetDelayMs: number;
}


/**
 * One 20 ms frame of caller audio, released on the shared pacer clock (also while the caller is silent).
 *
 * Ownership: the frame object and its `samples` are the stream's, refilled on every tick (no allocation per
 * frame per call). They are valid only during the 'frame' listener call: copy what you keep
 * (`frame.samples.slice()`), and hand on to anything that holds the array past the call (a queue, an
 * asynchronous send that does not copy synchronously) a copy, not the array itself.
 */
export interface InboundFrame {
  /**
   * 320 samples at 16 kHz; overwritten on the next tick (see above). Resampled from `wireSamples` when first
   * read in a tick: a consumer that can take the wire's rate should read that instead.
   */
  readonly samples: Int16Array;
  /** Frames since the stream started; the media timeline is `index × 20 ms`. */
  readonly index: number;
  readonly timestampMs: number;
  /** 'audio' received, 'concealed' (loss concealment filled part of it), 'silence' (nothing was sent). */
  readonly kind: InboundFrameKind;
  /**
   * This tick's audio at the wire's own rate (`wireFormat`), decoded but not resampled: 160 samples for
   * G.711. Lets a provider that takes the wire's format be sent it as received. Reused like `samples`.
   */
  readonly wireSamples: Int16Array;
}

/** What `flush()` cut. Sample counts are at the pipeline rate (16 kHz). */
export interface FlushResult {
  /** Samples of the current utterance the caller had heard when the flush happened. */
  readonly playedSamples: number;
  /** Samples that were queued and are now dropped, never to be heard. */
  readonly discardedSamples: number;
  /** The stream's cumulative played position after the flush (equal to `writtenSamples` now). */
  readonly position: number;
}

export interface MediaStreamEvents {
  frame: [frame: InboundFrame];
  /**
   * Each received packet's audio, decoded at the wire's rate, in arrival order: ahead of the jitter buffer's
   * playout delay, also when it comes too late for playout (a lost one is not concealed, a duplicate comes
   * twice). For a consumer that buffers for itself, such as a speech-to-speech vendor. Read it during the
   * listener call (the array is reused), without changing it.
   */
  packet: [samples: Int16Array];
  dtmf: [digit: string];
  /** A mark was reached in playback (`reached`), or dropped unplayed by a flush or close (`!reached`). */
  mark: [id: string, reached: boolean];
  close: [reason: string];
  error: [err: Error];
}

export interface MediaStreamCounters {
  packetsIn: number;
  bytesIn: number;
  /** Control messages received (WebSocket events, AudioSocket DTMF/error, RTP telephone-events). */
  eventsIn: number;
  packetsOut: number;
  bytesOut: number;
  framesToPipeline: number;
  silenceFramesToPipeline: number;
  /** Silence frames sent because nothing was queued (idle or starved playback). */
  fillerFramesOut: number;
  /** Times the playback queue ran dry right after audio (end of speech or a starving producer). */
  outboundDrains: number;
  /** Samples (native rate) dropped because the playback queue hit its limit. */
  outboundOverflowSamples: number;
  /**
   * Frames dropped unsent because the peer was not reading: its socket already held the transport's send
   * backlog limit (a few seconds of audio). Only transports over TCP (AudioSocket, WebSocket) have one.
   */
  outboundBackpressureFrames?: number;
  flushes: number;
  /** Rejected input by reason (the transport's ReasonCounts). */
  rejected: Record<string, number>;
  jitter: JitterBufferStats;
}

/**
 * A call's audio, whatever carries it (ExternalMedia RTP, AudioSocket, WebSocket media).
 *
 * Inbound: 'frame' events of 16 kHz PCM16 every 20 ms from the shared pacer clock (the frame is valid only
 * during the listener call: copy to keep).
 * Outbound: `write()` PCM16 at any rate and any length; it is resampled, queued and sent one 20 ms frame
 * per tick. Positions are cumulative samples at 16 kHz: `write()` returns the position at which the chunk
 * ends, `playedSamples` is how far playback has reached, so "what was heard" of a chunk is
 * `min(playedSamples, end) − start`. `mark()` names a point in the queue and emits 'mark' when it plays.
 * `flush()` (barge-in) drops everything queued at once, also in Asterisk's own queue where there is one.
 */
export interface MediaStream {
  readonly id: string;
  readonly transport: TransportKind;
  readonly wireFormat: WireFormat;
  readonly counters: MediaStreamCounters;
  readonly closed: boolean;
  readonly writtenSamples: number;
  readonly playedSamples: number;
  readonly queuedSamples: number;
  /**
   * Mean absolute sample value of the frame sent on the last tick (0 for silence): what the line can echo
   * back a moment later.
   */
  readonly outputLevel: number;
  write(pcm: Int16Array, sampleRate: number): number;
  mark(id?: string): string;
  flush(): FlushResult;
  close(reason?: string): void;
  on<K extends keyof MediaStreamEvents>(event: K, listener: (...args: MediaStreamEvents[K]) => void): this;
  once<K extends keyof MediaStreamEvents>(event: K, listener: (...args: MediaStreamEvents[K]) => void): this;
  off<K extends keyof MediaStreamEvents>(event: K, listener: (...args: MediaStreamEvents[K]) => void): this;
}
