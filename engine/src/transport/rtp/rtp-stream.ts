import type { Socket, RemoteInfo } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { codecFor } from '../../audio/codec.ts';
import { PacedMediaStream, type PacedStreamOptions } from '../paced-media-stream.ts';
import { emptyRtpHeader, parseRtp, RTP_HEADER_BYTES, telephoneEventEnd, writeRtpHeader } from './rtp-packet.ts';

/** Formats an ExternalMedia RTP channel can use. */
export type RtpFormat = 'ulaw' | 'alaw' | 'slin16';

export interface RtpStreamOptions extends Omit<PacedStreamOptions, 'codec' | 'outCodec' | 'transport'> {
  format: RtpFormat;
  /**
   * Payload format of replies on a slin16 channel. Asterisk's chan_rtp sets no receive mapping for dynamic
   * payload types, so a real Asterisk silently drops PT 118 replies: 'ulaw' (PT 0) is what it plays.
   */
  slin16Reply?: 'ulaw' | 'slin16';
  slin16PayloadType?: number;
  dtmfPayloadType?: number;
  /** Packets accepted from the latched source per 20 ms before the rest are dropped (flood guard). */
  maxPacketsPerTick?: number;
}

const STATIC_PT: Record<'ulaw' | 'alaw', number> = { ulaw: 0, alaw: 8 };
/** Send buffers in rotation: dgram may still reference one while the next tick fills another. */
const SEND_RING = 4;

/**
 * One call's ExternalMedia RTP on its own UDP port. The far end is latched from the first valid packet
 * (or set from the channel's UNICASTRTP_LOCAL_ADDRESS/PORT); packets from any other source are dropped.
 */
export class RtpMediaStream extends PacedMediaStream {
  readonly port: number;
  private readonly socket: Socket;
  private readonly inPayloadType: number;
  private readonly outPayloadType: number;
  private readonly dtmfPayloadType: number;
  private readonly maxPacketsPerTick: number;
  private readonly header = emptyRtpHeader();
  private readonly sendBuffers: Buffer[];
  private sendIndex = 0;
  private remoteAddress: string | null = null;
  private remotePort = 0;
  private ssrcIn: number | null = null;
  private readonly ssrcOut = randomInt(0, 0xffffffff);
  private seqOut = randomInt(0, 0xffff);
  private readonly tsBase = randomInt(0, 0xffffffff);
  private packetsThisTick = 0;
  private lastDtmfTimestamp = -1;

  constructor(socket: Socket, options: RtpStreamOptions) {
    const inCodec = codecFor(options.format, 'be');
    const outCodec = options.format === 'slin16' && (options.slin16Reply ?? 'ulaw') === 'ulaw' ? codecFor('ulaw') : inCodec;
    super({ ...options, transport: 'rtp', codec: inCodec, outCodec });
    this.socket = socket;
    this.port = socket.address().port;
    const dynamic = options.slin16PayloadType ?? 118;
    this.inPayloadType = options.format === 'slin16' ? dynamic : STATIC_PT[options.format];
    this.outPayloadType = outCodec.format === 'slin16' ? dynamic : STATIC_PT[outCodec.format as 'ulaw' | 'alaw'];
    this.dtmfPayloadType = options.dtmfPayloadType ?? 101;
    this.maxPacketsPerTick = options.maxPacketsPerTick ?? 8;
    this.sendBuffers = Array.from({ length: SEND_RING }, () => Buffer.alloc(RTP_HEADER_BYTES + this.outBytes.length));
    socket.on('message', this.onMessage);
    socket.on('error', (err) => this.fail(err));
    this.startPacing();
  }

  /** Where Asterisk sends from and listens (the channel's UNICASTRTP_LOCAL_ADDRESS/PORT): latches it now. */
  setRemote(address: string, port: number): void {
    this.remoteAddress = address;
    this.remotePort = port;
  }

  get remote(): { address: string; port: number } | null {
    return this.remoteAddress === null ? null : { address: this.remoteAddress, port: this.remotePort };
  }

  private readonly onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    if (this.closed) return;
    if (this.remoteAddress !== null && (rinfo.port !== this.remotePort || rinfo.address !== this.remoteAddress)) {
      this.reject('unknown_source');
      return;
    }
    if (++this.packetsThisTick > this.maxPacketsPerTick) {
      this.reject('rate_limited');
      return;
    }
    const h = this.header;
    const bad = parseRtp(msg, h);
    if (bad !== null) {
      this.reject(bad, { bytes: msg.length });
      return;
    }
    if (h.payloadType !== this.inPayloadType && h.payloadType !== this.dtmfPayloadType) {
      this.reject('unexpected_payload_type', { payloadType: h.payloadType });
      return;
    }
    if (this.remoteAddress === null) {
      this.remoteAddress = rinfo.address;
      this.remotePort = rinfo.port;
      this.log.debug({ callId: this.id }, 'rtp source latched');
    }
    if (this.ssrcIn !== h.ssrc) {
      if (this.ssrcIn !== null) {
        this.reject('ssrc_change');
        this.resetJitter();
      }
      this.ssrcIn = h.ssrc;
    }
    const payload = msg.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
    if (h.payloadType === this.dtmfPayloadType) {
      this.counters.eventsIn++;
      const digit = telephoneEventEnd(payload);
      // The end packet is repeated (RFC 4733 §2.5.1.4): report each event once, keyed by its timestamp.
      if (digit !== null && h.timestamp !== this.lastDtmfTimestamp) {
        this.lastDtmfTimestamp = h.timestamp;
        this.emitDtmf(digit);
      }
      return;
    }
    this.receivePayload(payload, h.sequence, h.timestamp);
  };

  protected sendFrame(payload: Uint8Array, tick: number, startOfSpurt: boolean): void {
    if (this.remoteAddress === null) return; // nobody to send to yet
    const buf = this.sendBuffers[this.sendIndex];
    this.sendIndex = (this.sendIndex + 1) % SEND_RING;
    // The timestamp follows the pacer's timeline, so ticks skipped after a stall show as a gap, as they are.
    const ts = (this.tsBase + tick * this.outFrameSamples) >>> 0;
    writeRtpHeader(buf, this.outPayloadType, this.seqOut, ts, this.ssrcOut, startOfSpurt);
    buf.set(payload, RTP_HEADER_BYTES);
    this.seqOut = (this.seqOut + 1) & 0xffff;
    this.counters.packetsOut++;
    this.counters.bytesOut += buf.length;
    this.socket.send(buf, this.remotePort, this.remoteAddress);
  }

  override receiveTick(): void {
    this.packetsThisTick = 0;
    super.receiveTick();
  }

  protected closeTransport(): void {
    this.socket.off('message', this.onMessage);
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}
