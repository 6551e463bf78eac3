import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import type { Logger } from '@ai-agent/common';
import { WireCodec, type MediaFormat } from '../audio/formats.ts';
import { isAudible } from '../audio/level.ts';
import { Impairer, type ImpairmentOptions } from '../impairment.ts';
import type { InboundObserver, MediaEndpoint } from '../media-endpoint.ts';
import { SampleFifo } from '../sample-fifo.ts';
import { PT_PCMA, PT_PCMU, PT_SLIN16, RTP_HEADER_BYTES, parseRtp, writeRtpHeader } from './packet.ts';

export interface LegImpairments {
  /** Applied to packets the peer sends to the engine. */
  toEngine?: ImpairmentOptions;
  /** Applied to packets the engine sends to the peer, before the peer reads them. */
  fromEngine?: ImpairmentOptions;
}

export interface RtpLegOptions {
  format: MediaFormat;
  remoteHost: string;
  remotePort: number;
  log: Logger;
  impair?: LegImpairments;
  /** Packets from a new source needed before strict RTP switches to it (Asterisk's probation, default 4). */
  probation?: number;
}

export interface RtpLegStats {
  sent: number;
  received: number;
  accepted: number;
  droppedPayloadType: number;
  droppedSource: number;
  malformed: number;
  overflowSamples: number;
}

const PAYLOAD_TYPE: Record<string, number> = { ulaw: PT_PCMU, alaw: PT_PCMA, slin16: PT_SLIN16 };

/**
 * The media of an ExternalMedia UnicastRTP channel (channels/chan_rtp.c over res/res_rtp_asterisk.c):
 * one UDP socket on loopback whose port is UNICASTRTP_LOCAL_PORT, sending to external_host and receiving
 * on the same socket. Modelled from Asterisk's observed wire behaviour:
 *  - packets only while the bridge has audio for it (no RTP while the caller is silent);
 *  - marker bit never set, random initial sequence, timestamps from 160 stepping by the frame's samples,
 *    one random SSRC; PT 0 ulaw, 8 alaw, 118 slin16 (big-endian L16, 640 bytes);
 *  - replies in PT 0/8 are decoded whatever the channel format; dynamic PTs (118 included) are dropped,
 *    because chan_rtp sets no receive mapping for them;
 *  - strict RTP: packets from external_host are accepted; another source is learnt only after `probation`
 *    consecutive packets from it, which are themselves lost.
 */
export class RtpLeg implements MediaEndpoint {
  readonly stats: RtpLegStats = {
    sent: 0, received: 0, accepted: 0, droppedPayloadType: 0, droppedSource: 0, malformed: 0, overflowSamples: 0,
  };
  onInbound: InboundObserver | null = null;
  private socket!: Socket;
  private readonly codec: WireCodec;
  private readonly decoders = new Map<number, WireCodec>();
  private readonly fifo = new SampleFifo();
  private readonly payloadType: number;
  private readonly samplesPerFrame: number;
  private sequence = randomInt(0, 0x10000);
  private timestamp = 160;
  private readonly ssrc = randomInt(0, 0xffffffff);
  private expected: { address: string; port: number };
  private candidate: { address: string; port: number; seq: number; count: number } | null = null;
  private readonly toEngine: Impairer | null;
  private readonly fromEngine: Impairer | null;
  private closed = false;

  constructor(private readonly opts: RtpLegOptions) {
    const pt = PAYLOAD_TYPE[opts.format];
    if (pt === undefined) throw new Error(`format ${opts.format} is not modelled for RTP`);
    this.payloadType = pt;
    this.codec = new WireCodec(opts.format, true);
    this.samplesPerFrame = opts.format === 'slin16' ? 320 : 160;
    this.expected = { address: opts.remoteHost, port: opts.remotePort };
    this.decoders.set(PT_PCMU, new WireCodec('ulaw'));
    this.decoders.set(PT_PCMA, new WireCodec('alaw'));
    const send = (packet: Buffer): void => this.transmit(packet);
    this.toEngine = Impairer.isNoop(opts.impair?.toEngine) ? null : new Impairer(opts.impair!.toEngine!, send);
    this.fromEngine = Impairer.isNoop(opts.impair?.fromEngine)
      ? null
      : new Impairer(opts.impair!.fromEngine!, (p) => this.receive(p, this.lastSource));
  }

  private lastSource: RemoteInfo = { address: '', port: 0, family: 'IPv4', size: 0 };

  /** Binds the channel's own UDP port on loopback; resolves to it. */
  async bind(host = '127.0.0.1'): Promise<{ address: string; port: number }> {
    this.socket = createSocket('udp4');
    this.socket.on('message', (msg, rinfo) => {
      if (this.fromEngine) {
        // Impaired packets keep their source; strict RTP still judges them.
        this.lastSource = rinfo;
        this.fromEngine.send(msg);
      } else {
        this.receive(msg, rinfo);
      }
    });
    this.socket.on('error', (err) => this.opts.log.warn({ err }, 'rtp socket error'));
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(0, host, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
    const addr = this.socket.address();
    return { address: addr.address, port: addr.port };
  }

  get localPort(): number {
    return this.socket.address().port;
  }

  pull(): Int16Array | null {
    const frame = this.fifo.readFrame();
    this.stats.overflowSamples = this.fifo.droppedSamples;
    return frame;
  }

  push(frame: Int16Array | null): void {
    if (!frame || this.closed) return;
    // A fresh buffer per packet: dgram sends asynchronously and impairments may hold packets, so a shared
    // buffer could be rewritten before it leaves. allocUnsafe draws from Node's pooled slab.
    const packet = Buffer.allocUnsafe(RTP_HEADER_BYTES + this.codec.bytesPerFrame);
    writeRtpHeader(packet, this.payloadType, this.sequence, this.timestamp, this.ssrc);
    this.codec.encodeInto(frame, packet, RTP_HEADER_BYTES);
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + this.samplesPerFrame) >>> 0;
    if (this.toEngine) this.toEngine.send(packet);
    else this.transmit(packet);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.toEngine?.close();
    this.fromEngine?.close();
    try {
      this.socket?.close();
    } catch {
      // already closed
    }
  }

  private transmit(packet: Buffer): void {
    if (this.closed) return;
    this.stats.sent++;
    this.socket.send(packet, this.opts.remotePort, this.opts.remoteHost);
  }

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closed) return;
    this.stats.received++;
    const header = parseRtp(msg);
    if (!header) {
      this.stats.malformed++;
      return;
    }
    if (!this.acceptSource(rinfo, header.sequence)) {
      this.stats.droppedSource++;
      return;
    }
    const decoder = this.decoders.get(header.payloadType);
    if (!decoder) {
      this.stats.droppedPayloadType++;
      return;
    }
    this.stats.accepted++;
    const samples = decoder.decode(msg.subarray(header.payloadOffset, header.payloadEnd));
    this.fifo.write(samples);
    this.onInbound?.(isAudible(samples), performance.now());
  }

  private acceptSource(rinfo: RemoteInfo, seq: number): boolean {
    if (rinfo.address === this.expected.address && rinfo.port === this.expected.port) {
      this.candidate = null;
      return true;
    }
    const c = this.candidate;
    if (c && c.address === rinfo.address && c.port === rinfo.port && seq === ((c.seq + 1) & 0xffff)) {
      c.seq = seq;
      c.count++;
      if (c.count >= (this.opts.probation ?? 4)) {
        this.opts.log.info({ port: rinfo.port }, 'strict RTP learnt a new source');
        this.expected = { address: rinfo.address, port: rinfo.port };
        this.candidate = null;
      }
    } else {
      this.candidate = { address: rinfo.address, port: rinfo.port, seq, count: 1 };
    }
    return false;
  }
}
