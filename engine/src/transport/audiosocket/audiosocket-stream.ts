import type { Socket } from 'node:net';
import { codecFor, type WireFormat } from '../../audio/codec.ts';
import { FRAME_MS } from '../../call/index.ts';
import { PacedMediaStream, type PacedStreamOptions } from '../paced-media-stream.ts';
import { AUDIO_KIND_BY_RATE, AUDIO_RATE_BY_KIND, encodeHeader, HEADER_BYTES, KIND_DTMF, KIND_ERROR, KIND_HANGUP, KIND_UUID } from './audiosocket-frame.ts';

/** Longest wait for our hangup frame to leave before the socket is destroyed anyway (a peer that never reads). */
const HALF_CLOSE_LIMIT_MS = 2000;

export interface AudioSocketStreamOptions extends Omit<PacedStreamOptions, 'codec' | 'transport' | 'idlePolicy'> {
  format: WireFormat;
  /**
   * Audio (ms) the socket may hold unsent beyond what the kernel took; while it holds more, each tick's frame
   * is dropped and counted (the peer has stopped reading). Default 2000.
   */
  maxSendBacklogMs?: number;
  /** Audio frames accepted per 20 ms before the rest are dropped (flood guard). */
  maxFramesPerTick?: number;
}

/** Refuses what AudioSocket cannot carry honestly; returns the checked format. */
export function checkAudioSocketFormat(format: WireFormat): WireFormat {
  if (format === 'ulaw' || format === 'alaw') {
    throw new Error(
      `AudioSocket cannot carry ${format}: Asterisk sends ${format} payloads tagged as slin (0x10) and decodes ` +
        'every 0x10 frame it receives as slin. Use format slin or slin16 with AudioSocket.',
    );
  }
  if (!AUDIO_KIND_BY_RATE.has(codecFor(format).sampleRate)) throw new Error(`AudioSocket has no frame kind for ${format}`);
  return format;
}

/**
 * One AudioSocket connection after its UUID frame. Streams silence from the start: Asterisk's AudioSocket
 * application hangs up after 2 s without audio in either direction.
 */
export class AudioSocketStream extends PacedMediaStream {
  readonly uuid: string;
  private readonly socket: Socket;
  private readonly audioKind: number;
  private readonly maxSendBacklogBytes: number;
  /** The next frame is built here; replaced whenever the socket keeps it (see `sendFrame`). */
  private sendBuffer: Buffer;
  private readonly maxFramesPerTick: number;
  private framesThisTick = 0;
  /** Reading was paused by the flood guard (and is resumed by the next tick). */
  private floodPaused = false;
  private seq = 0;
  private timestamp = 0;

  constructor(socket: Socket, uuid: string, options: AudioSocketStreamOptions) {
    const codec = codecFor(checkAudioSocketFormat(options.format), 'le');
    super({ ...options, transport: 'audiosocket', codec, idlePolicy: 'silence' });
    this.uuid = uuid;
    this.socket = socket;
    this.audioKind = AUDIO_KIND_BY_RATE.get(codec.sampleRate)!;
    this.maxFramesPerTick = options.maxFramesPerTick ?? 8;
    this.sendBuffer = Buffer.alloc(HEADER_BYTES + this.outBytes.length);
    this.maxSendBacklogBytes = Math.ceil((options.maxSendBacklogMs ?? 2000) / FRAME_MS) * this.sendBuffer.length;
    this.counters.outboundBackpressureFrames = 0;
    this.startPacing();
  }

  /** Called by the server's parser for every frame after the UUID. */
  handleFrame(kind: number, payload: Buffer): void {
    if (this.closed) return;
    if (kind === this.audioKind) {
      if (++this.framesThisTick > this.maxFramesPerTick) {
        // Over budget: drop, and stop reading until the next tick, so TCP flow control holds the flood at
        // the sender instead of it piling up here (at most the rest of the current read is parsed).
        this.reject('rate_limited');
        if (!this.floodPaused) {
          this.floodPaused = true;
          this.socket.pause();
        }
        return;
      }
      if (payload.length === 0 || payload.length % 2 !== 0) {
        this.reject('bad_audio_length', { bytes: payload.length });
        return;
      }
      this.receivePayload(payload, this.seq, this.timestamp);
      this.seq = (this.seq + 1) & 0xffff;
      this.timestamp += payload.length >> 1;
      return;
    }
    if (AUDIO_RATE_BY_KIND.has(kind)) {
      this.reject('format_mismatch', { kind, expected: this.audioKind });
      return;
    }
    this.counters.eventsIn++;
    switch (kind) {
      case KIND_DTMF:
        if (payload.length === 1 && /^[0-9*#A-D]$/.test(String.fromCharCode(payload[0]))) {
          this.emitDtmf(String.fromCharCode(payload[0]));
        } else {
          this.reject('bad_dtmf');
        }
        return;
      case KIND_ERROR:
        this.reject('peer_error', { code: payload.length > 0 ? payload[0] : null });
        this.fail(new Error(`AudioSocket peer reported error code ${payload.length > 0 ? payload[0] : 'none'}`));
        return;
      case KIND_HANGUP:
        this.close('remote hangup');
        return;
      case KIND_UUID:
        this.reject('repeated_uuid');
        return;
      default:
        this.reject('unexpected_kind', { kind });
    }
  }

  override receiveTick(): void {
    this.framesThisTick = 0;
    if (this.floodPaused) {
      this.floodPaused = false;
      this.socket.resume();
    }
    super.receiveTick();
  }

  protected sendFrame(payload: Uint8Array): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    if (this.socket.writableLength >= this.maxSendBacklogBytes) {
      // Dropping the newest frame bounds both memory and the delay the caller hears once the peer reads again.
      this.counters.outboundBackpressureFrames!++;
      this.warnings.warn('send_backlog', { callId: this.id, bufferedBytes: this.socket.writableLength }, 'AudioSocket peer is not reading; outbound audio dropped');
      return;
    }
    const buf = this.sendBuffer;
    encodeHeader(buf, this.audioKind, payload.length);
    buf.set(payload, HEADER_BYTES);
    this.counters.packetsOut++;
    this.counters.bytesOut += buf.length;
    this.socket.write(buf);
    // A write the kernel did not take whole waits in the socket still pointing at `buf`: leave that buffer to
    // it and build the next frame in a new one. While the peer reads, every write is taken at once and one
    // buffer serves the whole call; a lagging peer costs one buffer per frame up to the backlog limit.
    if (this.socket.writableLength > 0) this.sendBuffer = Buffer.allocUnsafe(buf.length);
  }

  protected closeTransport(reason: string): void {
    if (!this.socket.destroyed) {
      // Our hangup (0x00, empty) lets the dialplan continue; a remote close needs no reply.
      if (reason !== 'remote hangup' && reason !== 'connection closed' && this.socket.writable) {
        // Once our FIN is out the socket is closed outright: a peer that never answers it would otherwise
        // hold it half-closed (FIN-WAIT-2) for ever; one that never reads loses it after HALF_CLOSE_LIMIT_MS.
        const socket = this.socket;
        socket.end(Buffer.from([KIND_HANGUP, 0, 0]), () => socket.destroy());
        setTimeout(() => socket.destroy(), HALF_CLOSE_LIMIT_MS).unref();
      } else {
        this.socket.destroy();
      }
    }
  }
}
