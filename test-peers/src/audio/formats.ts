import { alawDecode, alawEncode, ulawDecode, ulawEncode } from './g711.ts';
import { Downsampler2x, Upsampler2x } from './resample.ts';

/** Formats the peer's media legs speak. The peer mixes at 8 kHz in 20 ms frames of 160 samples. */
export type MediaFormat = 'ulaw' | 'alaw' | 'slin' | 'slin16';
export const MEDIA_FORMATS: readonly MediaFormat[] = ['ulaw', 'alaw', 'slin', 'slin16'];
export const MIX_RATE = 8000;
export const FRAME_SAMPLES = 160;
export const FRAME_MS = 20;

export function isMediaFormat(v: string): v is MediaFormat {
  return (MEDIA_FORMATS as readonly string[]).includes(v);
}

/** Bytes of one 20 ms frame on the wire (chan_websocket's optimal_frame_size). */
export function frameBytes(format: MediaFormat): number {
  switch (format) {
    case 'ulaw':
    case 'alaw':
      return 160;
    case 'slin':
      return 320;
    case 'slin16':
      return 640;
  }
}

export function sampleRate(format: MediaFormat): number {
  return format === 'slin16' ? 16000 : 8000;
}

/**
 * Converts 8 kHz mixing frames to one wire format and back, keeping resampler state per direction.
 * Linear formats are little-endian except on RTP, where L16 is network byte order (RFC 3551).
 */
export class WireCodec {
  readonly bytesPerFrame: number;
  private readonly up = new Upsampler2x();
  private readonly down = new Downsampler2x();
  private readonly wide = new Int16Array(FRAME_SAMPLES * 2);

  constructor(readonly format: MediaFormat, private readonly bigEndian = false) {
    this.bytesPerFrame = frameBytes(format);
  }

  /** Encodes one 160-sample frame into `out` (at least bytesPerFrame long) at `offset`. */
  encodeInto(frame: Int16Array, out: Buffer, offset: number): void {
    switch (this.format) {
      case 'ulaw':
        ulawEncode(frame, out, offset);
        return;
      case 'alaw':
        alawEncode(frame, out, offset);
        return;
      case 'slin':
        this.writeLinear(frame, out, offset);
        return;
      case 'slin16':
        this.up.process(frame, this.wide);
        this.writeLinear(this.wide, out, offset);
        return;
    }
  }

  encode(frame: Int16Array): Buffer {
    const out = Buffer.allocUnsafe(this.bytesPerFrame);
    this.encodeInto(frame, out, 0);
    return out;
  }

  /** Decodes a payload of any length to 8 kHz samples. */
  decode(payload: Uint8Array): Int16Array {
    switch (this.format) {
      case 'ulaw': {
        const out = new Int16Array(payload.length);
        ulawDecode(payload, out);
        return out;
      }
      case 'alaw': {
        const out = new Int16Array(payload.length);
        alawDecode(payload, out);
        return out;
      }
      case 'slin':
        return this.readLinear(payload);
      case 'slin16': {
        const wide = this.readLinear(payload);
        const out = new Int16Array(wide.length >> 1);
        this.down.process(wide, out);
        return out;
      }
    }
  }

  private writeLinear(samples: Int16Array, out: Buffer, offset: number): void {
    if (this.bigEndian) for (let i = 0; i < samples.length; i++) out.writeInt16BE(samples[i], offset + 2 * i);
    else for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i], offset + 2 * i);
  }

  private readLinear(payload: Uint8Array): Int16Array {
    const n = payload.length >> 1;
    const out = new Int16Array(n);
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const le = !this.bigEndian;
    for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, le);
    return out;
  }
}
