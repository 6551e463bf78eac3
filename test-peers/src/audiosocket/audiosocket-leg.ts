import { connect, type Socket } from 'node:net';
import type { Logger } from '@ai-agent/common';
import { WireCodec, type MediaFormat } from '../audio/formats.ts';
import { isAudible } from '../audio/level.ts';
import type { InboundObserver, MediaEndpoint } from '../media-endpoint.ts';
import { SampleFifo } from '../sample-fifo.ts';
import {
  AUDIO_KIND_RATES, FrameParser, KIND_AUDIO_SLIN, KIND_DTMF, KIND_ERROR, KIND_HANGUP, KIND_UUID, encodeFrame,
  uuidToBytes, type AudioSocketFrame,
} from './frames.ts';

export interface AudioSocketLegOptions {
  host: string;
  port: number;
  uuid: string;
  format: MediaFormat;
  log: Logger;
  /**
   * Hang up after this long with no audio in either direction. apps/app_audiosocket.c hard-codes 2000 ms;
   * the ExternalMedia channel (channels/chan_audiosocket.c) has no such timeout (undefined).
   */
  inactivityTimeoutMs?: number;
}

export type AudioSocketEnd = 'peer-hangup' | 'engine-hangup' | 'engine-closed' | 'engine-error' | 'timeout' | 'protocol-error';

export interface AudioSocketStats {
  framesSent: number;
  framesReceived: number;
  dtmfSent: number;
  unexpectedKinds: number;
  lastErrorCode: number | null;
}

/**
 * Asterisk's side of an AudioSocket connection (res/res_audiosocket.c, channels/chan_audiosocket.c,
 * apps/app_audiosocket.c). Asterisk is the TCP client: it connects, sends the 16-byte UUID frame first,
 * then audio frames of the channel's format while the bridge has audio for it:
 *  - slin → kind 0x10 (320 bytes); slin16 → 0x12 (640 bytes);
 *  - ulaw/alaw → the raw G.711 bytes still tagged 0x10 (Asterisk's trap), and 0x10 frames received are
 *    always decoded as 8 kHz slin whatever the channel format;
 *  - DTMF as kind 0x03 with one ASCII digit;
 *  - on hangup Asterisk closes TCP and never sends 0x00 itself; a 0x00 from the engine ends the channel;
 *  - 0xFF from the engine is logged with its code and ends the channel, like any kind Asterisk cannot use.
 */
export class AudioSocketLeg implements MediaEndpoint {
  readonly stats: AudioSocketStats = { framesSent: 0, framesReceived: 0, dtmfSent: 0, unexpectedKinds: 0, lastErrorCode: null };
  onInbound: InboundObserver | null = null;
  /** Called once when the connection ends, with why. */
  onEnd: ((why: AudioSocketEnd) => void) | null = null;
  private socket: Socket | null = null;
  private readonly parser = new FrameParser();
  private readonly fifo = new SampleFifo();
  private readonly codec: WireCodec;
  private readonly slin8 = new WireCodec('slin');
  private readonly slin16 = new WireCodec('slin16');
  private readonly sendKind: number;
  private lastActivity = performance.now();
  private ended = false;

  constructor(private readonly opts: AudioSocketLegOptions) {
    this.codec = new WireCodec(opts.format);
    this.sendKind = opts.format === 'slin16' ? 0x12 : KIND_AUDIO_SLIN;
  }

  /** Connects and writes the UUID frame; resolves once the UUID frame is on the wire. */
  async connect(): Promise<void> {
    const uuid = uuidToBytes(this.opts.uuid);
    if (!uuid) throw new Error(`Failed to parse UUID '${this.opts.uuid}'`);
    const socket = connect({ host: this.opts.host, port: this.opts.port, noDelay: true });
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`AudioSocket connection to '${this.opts.host}:${this.opts.port}' timed out after 2000 ms`));
      }, 2000);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    socket.on('error', (err) => this.opts.log.debug({ err }, 'audiosocket error'));
    socket.on('data', (chunk) => this.parser.push(chunk, this.onFrame));
    socket.on('close', () => this.end('engine-closed'));
    await new Promise<void>((resolve) => socket.write(encodeFrame(KIND_UUID, uuid), () => resolve()));
    this.lastActivity = performance.now();
  }

  pull(now: number): Int16Array | null {
    const frame = this.fifo.readFrame();
    if (this.opts.inactivityTimeoutMs !== undefined && !this.ended && now - this.lastActivity >= this.opts.inactivityTimeoutMs) {
      this.opts.log.info('AudioSocket: no audio in either direction, hanging up');
      this.end('timeout');
    }
    return frame;
  }

  push(frame: Int16Array | null, now: number): void {
    if (!frame || this.ended || !this.socket) return;
    this.lastActivity = now;
    this.stats.framesSent++;
    const out = Buffer.allocUnsafe(3 + this.codec.bytesPerFrame);
    out[0] = this.sendKind;
    out.writeUInt16BE(this.codec.bytesPerFrame, 1);
    this.codec.encodeInto(frame, out, 3);
    this.socket.write(out);
  }

  sendDtmf(digit: string): void {
    if (this.ended || !this.socket) return;
    this.stats.dtmfSent++;
    this.socket.write(encodeFrame(KIND_DTMF, Buffer.from(digit.slice(0, 1), 'ascii')));
  }

  close(): void {
    this.end('peer-hangup');
  }

  private end(why: AudioSocketEnd): void {
    if (this.ended) return;
    this.ended = true;
    // Asterisk closes the TCP connection on hangup; it never sends a 0x00 frame itself.
    this.socket?.end();
    this.socket?.destroy();
    this.onEnd?.(why);
  }

  private readonly onFrame = (frame: AudioSocketFrame): void => {
    if (this.ended) return;
    this.stats.framesReceived++;
    const rate = AUDIO_KIND_RATES[frame.kind];
    if (rate !== undefined) {
      let samples: Int16Array;
      if (rate === 8000) samples = this.slin8.decode(frame.payload);
      else if (rate === 16000) samples = this.slin16.decode(frame.payload);
      else {
        this.stats.unexpectedKinds++;
        this.opts.log.warn({ kind: frame.kind }, 'AudioSocket audio rate not modelled by the peer; frame dropped');
        return;
      }
      this.lastActivity = performance.now();
      this.fifo.write(samples);
      this.onInbound?.(isAudible(samples), this.lastActivity);
      return;
    }
    switch (frame.kind) {
      case KIND_HANGUP:
        this.end('engine-hangup');
        return;
      case KIND_ERROR:
        this.stats.lastErrorCode = frame.payload.length > 0 ? frame.payload[0] : null;
        this.opts.log.warn({ code: this.stats.lastErrorCode }, 'AudioSocket error frame received');
        this.end('engine-error');
        return;
      case KIND_DTMF:
      case KIND_UUID:
        this.stats.unexpectedKinds++;
        return;
      default:
        this.stats.unexpectedKinds++;
        this.opts.log.warn({ kind: frame.kind }, 'Received AudioSocket message other than hangup or audio');
        this.end('protocol-error');
    }
  };
}
