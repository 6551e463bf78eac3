import { createSocket, type Socket } from 'node:dgram';
import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw } from '@ai-agent/common/audio';
import { writeSlinBE } from '../../src/audio/pcm.ts';
import { writeRtpHeader } from '../../src/transport/rtp/rtp-packet.ts';
import { ipLiteralLookup } from '../../src/transport/rtp/literal-lookup.ts';
import { paced } from './helpers.ts';

export type PeerCodec = 'ulaw' | 'alaw' | 'slin16';

export interface ReceivedPacket {
  at: number;
  payloadType: number;
  sequence: number;
  timestamp: number;
  marker: boolean;
  payload: Buffer;
}

export interface Impairment {
  loss?: (i: number) => boolean;
  delayMs?: (i: number) => number;
}

/** Plays Asterisk's side of ExternalMedia RTP: sends a prompt at 20 ms pace from one socket, records replies. */
export class AsteriskRtpSide {
  readonly socket: Socket;
  readonly received: ReceivedPacket[] = [];
  private seq = Math.floor(Math.random() * 65536);
  private ts = 160;
  private readonly ssrc = 0x12345678;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (msg) => {
      this.received.push({
        at: performance.now(),
        payloadType: msg[1] & 0x7f,
        marker: (msg[1] & 0x80) !== 0,
        sequence: msg.readUInt16BE(2),
        timestamp: msg.readUInt32BE(4),
        payload: msg.subarray(12),
      });
    });
  }

  static async open(): Promise<AsteriskRtpSide> {
    // Synchronous sends (see ipLiteralLookup): packets leave when `play` schedules them, not a tick later.
    const socket = createSocket({ type: 'udp4', lookup: ipLiteralLookup });
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    return new AsteriskRtpSide(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Builds the packets for `pcm` (at the codec's rate) as Asterisk would: 20 ms each, PT 0/8/118. */
  packetize(pcm: Int16Array, codec: PeerCodec): Buffer[] {
    const rate = codec === 'slin16' ? 16000 : 8000;
    const frame = rate / 50;
    const packets: Buffer[] = [];
    for (let off = 0; off < pcm.length; off += frame) {
      const chunk = pcm.subarray(off, Math.min(pcm.length, off + frame));
      const bytes = codec === 'slin16' ? chunk.length * 2 : chunk.length;
      const buf = Buffer.alloc(12 + bytes);
      writeRtpHeader(buf, codec === 'ulaw' ? 0 : codec === 'alaw' ? 8 : 118, this.seq, this.ts, this.ssrc, false);
      const payload = buf.subarray(12);
      if (codec === 'ulaw') encodeUlaw(chunk, payload);
      else if (codec === 'alaw') encodeAlaw(chunk, payload);
      else writeSlinBE(chunk, payload);
      packets.push(buf);
      this.seq = (this.seq + 1) & 0xffff;
      this.ts = (this.ts + chunk.length) >>> 0;
    }
    return packets;
  }

  async play(packets: Buffer[], port: number, impairment: Impairment = {}): Promise<void> {
    await paced(
      packets.length,
      (i) => {
        if (!impairment.loss?.(i)) this.socket.send(packets[i], port, '127.0.0.1');
      },
      impairment.delayMs,
    );
  }

  /** Decodes received replies of one payload type to PCM, in arrival order. */
  decodeReplies(pt = 0): Int16Array {
    const parts = this.received.filter((p) => p.payloadType === pt);
    const out = new Int16Array(parts.reduce((n, p) => n + p.payload.length, 0));
    let o = 0;
    for (const p of parts) {
      if (pt === 0) decodeUlaw(p.payload, out.subarray(o));
      else decodeAlaw(p.payload, out.subarray(o));
      o += p.payload.length;
    }
    return out;
  }

  close(): void {
    this.socket.close();
  }
}
