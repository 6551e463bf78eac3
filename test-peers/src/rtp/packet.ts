import { ulawEncode } from '../audio/g711.ts';

/** RTP fixed header (RFC 3550 §5.1), as res_rtp_asterisk writes and reads it. */
export const RTP_HEADER_BYTES = 12;

export interface RtpHeader {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** Offset of the payload (after CSRCs and any header extension). */
  payloadOffset: number;
  payloadEnd: number;
}

export function writeRtpHeader(
  buf: Buffer,
  payloadType: number,
  sequence: number,
  timestamp: number,
  ssrc: number,
): void {
  buf[0] = 0x80; // V=2, no padding, no extension, no CSRC
  buf[1] = payloadType & 0x7f; // marker never set: Asterisk's observed behaviour on UnicastRTP
  buf.writeUInt16BE(sequence & 0xffff, 2);
  buf.writeUInt32BE(timestamp >>> 0, 4);
  buf.writeUInt32BE(ssrc >>> 0, 8);
}

/** A PCMU packet of `pcm` (160 samples: 20 ms) with the header Asterisk writes, as a test's far end sends it. */
export function ulawRtpPacket(pcm: Int16Array, sequence: number, ssrc: number): Buffer {
  const packet = Buffer.alloc(RTP_HEADER_BYTES + pcm.length);
  writeRtpHeader(packet, 0, sequence, sequence * pcm.length, ssrc);
  ulawEncode(pcm, packet, RTP_HEADER_BYTES);
  return packet;
}

/** Parses and validates a datagram; returns null for anything res_rtp_asterisk would discard as malformed. */
export function parseRtp(buf: Buffer): RtpHeader | null {
  if (buf.length < RTP_HEADER_BYTES) return null;
  if (buf[0] >> 6 !== 2) return null;
  const cc = buf[0] & 0x0f;
  let offset = RTP_HEADER_BYTES + cc * 4;
  if (buf[0] & 0x10) {
    if (buf.length < offset + 4) return null;
    offset += 4 + buf.readUInt16BE(offset + 2) * 4;
  }
  let end = buf.length;
  if (buf[0] & 0x20) {
    const pad = buf[buf.length - 1];
    if (pad === 0 || pad > end - offset) return null;
    end -= pad;
  }
  if (offset > end) return null;
  return {
    payloadType: buf[1] & 0x7f,
    marker: (buf[1] & 0x80) !== 0,
    sequence: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payloadOffset: offset,
    payloadEnd: end,
  };
}

/** Static payload types (RFC 3551) and the dynamic one Asterisk uses for slin16. */
export const PT_PCMU = 0;
export const PT_PCMA = 8;
export const PT_SLIN16 = 118;
