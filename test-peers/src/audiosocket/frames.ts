/**
 * AudioSocket framing (include/asterisk/res_audiosocket.h, res/res_audiosocket.c): 1 byte kind,
 * 2 bytes big-endian payload length, payload.
 */
export const KIND_HANGUP = 0x00;
export const KIND_UUID = 0x01;
export const KIND_DTMF = 0x03;
export const KIND_AUDIO_SLIN = 0x10;
export const KIND_ERROR = 0xff;
/** Newer Asterisk tags linear audio by rate: 0x11 12 kHz … 0x18 192 kHz. */
export const AUDIO_KIND_RATES: Record<number, number> = {
  0x10: 8000, 0x11: 12000, 0x12: 16000, 0x13: 24000, 0x14: 32000, 0x15: 44100, 0x16: 48000, 0x17: 96000, 0x18: 192000,
};

export interface AudioSocketFrame {
  kind: number;
  payload: Buffer;
}

export function encodeFrame(kind: number, payload: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(3 + payload.length);
  buf[0] = kind;
  buf.writeUInt16BE(payload.length, 1);
  buf.set(payload, 3);
  return buf;
}

/** UUID text (8-4-4-4-12 hex) to its 16 raw bytes, as uuid_parse does; null when malformed. */
export function uuidToBytes(uuid: string): Buffer | null {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uuid)) return null;
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

export function bytesToUuid(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Incremental parser for a TCP byte stream. */
export class FrameParser {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onFrame: (frame: AudioSocketFrame) => void): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    let offset = 0;
    while (this.buffered.length - offset >= 3) {
      const length = this.buffered.readUInt16BE(offset + 1);
      if (this.buffered.length - offset < 3 + length) break;
      onFrame({ kind: this.buffered[offset], payload: this.buffered.subarray(offset + 3, offset + 3 + length) });
      offset += 3 + length;
    }
    this.buffered = offset === this.buffered.length ? Buffer.alloc(0) : this.buffered.subarray(offset);
  }
}
