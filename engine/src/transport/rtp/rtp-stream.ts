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
  /**
   * Flood guard: packets per 20 ms the source may send sustained. Bursts above it pass while they fit in the
   * jitter buffer; only a sustained excess is dropped.
   */
  maxPacketsPerTick?: number;
  /** Where absorbed bursts are counted (the server's totals); the stream keeps its own when omitted. */
  burstCounters?: RtpBurstCounters;
}

export interface RtpBurstCounters {
  /** Bursts above the sustained rate (a stalled sender releasing its backlog) let through to the jitter buffer. */
  bursts: number;
  /** Packets above the sustained rate accepted within those bursts. */
  burstPackets: number;
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
  private readonly burstCounters: RtpBurstCounters;
  /**
   * Flood guard, a token bucket refilled by the pacer: each tick grants `sustainedPerTick` packets, and what a
   * tick leaves unused tops up a reserve that bursts draw on. A tick's share and the reserve together are the
   * jitter buffer's depth: a burst that passes is one it can hold and play out; anything more is a flood.
   */
  private readonly sustainedPerTick: number;
  private readonly reserveDepth: number;
  private allowance: number;
  private reserve: number;
  private inBurst = false;
  private lastTick = -1;
  private readonly header = emptyRtpHeader();
  private readonly sendBuffers: Buffer[];
  private sendIndex = 0;
  private remoteAddress: string | null = null;
  private remotePort = 0;
  private ssrcIn: number | null = null;
  private readonly ssrcOut = randomInt(0, 0xffffffff);
  private seqOut = randomInt(0, 0xffff);
  private readonly tsBase = randomInt(0, 0xffffffff);
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
    this.burstCounters = options.burstCounters ?? { bursts: 0, burstPackets: 0 };
    this.sustainedPerTick = options.maxPacketsPerTick ?? 2;
    this.reserveDepth = Math.max(0, this.jitterDepth - this.sustainedPerTick);
    this.allowance = this.sustainedPerTick;
    this.reserve = this.reserveDepth;
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
    if (!this.admit()) {
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
    const end = h.payloadOffset + h.payloadLength;
    if (h.payloadType === this.dtmfPayloadType) {
      this.counters.eventsIn++;
      const digit = telephoneEventEnd(msg.subarray(h.payloadOffset, end));
      // The end packet is repeated (RFC 4733 §2.5.1.4): report each event once, keyed by its timestamp.
      if (digit !== null && h.timestamp !== this.lastDtmfTimestamp) {
        this.lastDtmfTimestamp = h.timestamp;
        this.emitDtmf(digit);
      }
      return;
    }
    this.receivePayload(msg, h.sequence, h.timestamp, h.payloadOffset, end);
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

  /** Takes a token for one packet: false once this tick's share and the burst reserve are both spent. */
  private admit(): boolean {
    if (this.allowance >= 1) {
      this.allowance--;
      return true;
    }
    if (this.reserve < 1) return false;
    this.reserve--;
    this.burstCounters.burstPackets++;
    if (!this.inBurst) {
      this.inBurst = true;
      this.burstCounters.bursts++;
    }
    return true;
  }

  /** The pacer passes its tick number: ticks it skipped after a stall refill the bucket as well. */
  override receiveTick(tick = this.lastTick + 1): void {
    const elapsed = Math.max(1, tick - this.lastTick);
    this.lastTick = tick;
    this.reserve = Math.min(this.reserveDepth, this.reserve + this.allowance + this.sustainedPerTick * (elapsed - 1));
    this.allowance = this.sustainedPerTick;
    if (this.reserve >= this.reserveDepth) this.inBurst = false;
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
