/** RFC 3550 RTP fixed header, parsed without allocation into a caller-owned object. */
export interface RtpHeader {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** Byte offset of the payload (after CSRCs and header extension). */
  payloadOffset: number;
  /** Payload bytes, excluding padding. */
  payloadLength: number;
}

export function emptyRtpHeader(): RtpHeader {
  return { marker: false, payloadType: 0, sequence: 0, timestamp: 0, ssrc: 0, payloadOffset: 0, payloadLength: 0 };
}

export const RTP_HEADER_BYTES = 12;

export type RtpRejectReason =
  | 'too_short'
  | 'bad_version'
  | 'truncated_csrc'
  | 'truncated_extension'
  | 'bad_padding'
  | 'rtcp';

/**
 * Parses `buf` into `out`. Returns null when valid, else why it is not an RTP media packet. The full header
 * is honoured (CSRC list, extension, padding): skipping a fixed 12 bytes mis-reads real traffic.
 */
export function parseRtp(buf: Uint8Array, out: RtpHeader): RtpRejectReason | null {
  const len = buf.length;
  if (len < RTP_HEADER_BYTES) return 'too_short';
  const b0 = buf[0];
  if (b0 >> 6 !== 2) return 'bad_version';
  const b1 = buf[1];
  // RTCP multiplexed on the port: packet types 200–204 read as marker + payload type 72–76.
  if (b1 >= 200 && b1 <= 204) return 'rtcp';
  let offset = RTP_HEADER_BYTES + (b0 & 0x0f) * 4;
  if (offset > len) return 'truncated_csrc';
  if (b0 & 0x10) {
    if (offset + 4 > len) return 'truncated_extension';
    const words = (buf[offset + 2] << 8) | buf[offset + 3];
    offset += 4 + words * 4;
    if (offset > len) return 'truncated_extension';
  }
  let end = len;
  if (b0 & 0x20) {
    const pad = buf[len - 1];
    if (pad === 0 || offset + pad > len) return 'bad_padding';
    end -= pad;
  }
  out.marker = (b1 & 0x80) !== 0;
  out.payloadType = b1 & 0x7f;
  out.sequence = (buf[2] << 8) | buf[3];
  out.timestamp = ((buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]) >>> 0;
  out.ssrc = ((buf[8] << 24) | (buf[9] << 16) | (buf[10] << 8) | buf[11]) >>> 0;
  out.payloadOffset = offset;
  out.payloadLength = end - offset;
  return null;
}

/** Writes a 12-byte header (no CSRC, no extension) at the start of `buf`. */
export function writeRtpHeader(buf: Uint8Array, payloadType: number, sequence: number, timestamp: number, ssrc: number, marker: boolean): void {
  buf[0] = 0x80;
  buf[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  buf[2] = (sequence >> 8) & 0xff;
  buf[3] = sequence & 0xff;
  buf[4] = (timestamp >>> 24) & 0xff;
  buf[5] = (timestamp >>> 16) & 0xff;
  buf[6] = (timestamp >>> 8) & 0xff;
  buf[7] = timestamp & 0xff;
  buf[8] = (ssrc >>> 24) & 0xff;
  buf[9] = (ssrc >>> 16) & 0xff;
  buf[10] = (ssrc >>> 8) & 0xff;
  buf[11] = ssrc & 0xff;
}

const DTMF_DIGITS = '0123456789*#ABCD';

/** RFC 4733 telephone-event: the digit when this packet ends an event, else null. */
export function telephoneEventEnd(payload: Uint8Array): string | null {
  if (payload.length < 4) return null;
  const event = payload[0];
  if ((payload[1] & 0x80) === 0 || event >= DTMF_DIGITS.length) return null;
  return DTMF_DIGITS[event];
}
