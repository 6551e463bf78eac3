import { ALAW_SILENCE, decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw, ULAW_SILENCE } from '@ai-agent/common/audio';
import { readSlinBE, readSlinLE, writeSlinBE, writeSlinLE } from './pcm.ts';

/** Asterisk format names this engine can carry on the wire. */
export type WireFormat = 'ulaw' | 'alaw' | 'slin' | 'slin12' | 'slin16' | 'slin24' | 'slin32' | 'slin44' | 'slin48' | 'slin96' | 'slin192';

export type ByteOrder = 'le' | 'be';

/** Turns wire bytes into PCM16 samples and back, at one sample rate. */
export interface AudioCodec {
  readonly format: WireFormat;
  readonly sampleRate: number;
  readonly bytesPerSample: number;
  /** Decodes `payload[start, end)` (default: all of it) into `dst`; returns samples written. */
  decode(payload: Uint8Array, dst: Int16Array, start?: number, end?: number): number;
  /** Encodes `src` into `dst`; returns bytes written. */
  encode(src: Int16Array, dst: Uint8Array): number;
  /** Byte value of digital silence for 8-bit codecs (used to pre-fill silence payloads). */
  readonly silenceByte: number;
}

const SLIN_RATES: Record<Exclude<WireFormat, 'ulaw' | 'alaw'>, number> = {
  slin: 8000,
  slin12: 12000,
  slin16: 16000,
  slin24: 24000,
  slin32: 32000,
  slin44: 44100,
  slin48: 48000,
  slin96: 96000,
  slin192: 192000,
};

export function isWireFormat(value: string): value is WireFormat {
  return value === 'ulaw' || value === 'alaw' || value in SLIN_RATES;
}

export function sampleRateOf(format: WireFormat): number {
  return format === 'ulaw' || format === 'alaw' ? 8000 : SLIN_RATES[format];
}

/** The codec for `format`; `order` applies to slin only (RTP L16 is big-endian, Asterisk sockets little). */
export function codecFor(format: WireFormat, order: ByteOrder = 'le'): AudioCodec {
  if (format === 'ulaw') {
    return { format, sampleRate: 8000, bytesPerSample: 1, decode: decodeUlaw, encode: encodeUlaw, silenceByte: ULAW_SILENCE };
  }
  if (format === 'alaw') {
    return { format, sampleRate: 8000, bytesPerSample: 1, decode: decodeAlaw, encode: encodeAlaw, silenceByte: ALAW_SILENCE };
  }
  return {
    format,
    sampleRate: SLIN_RATES[format],
    bytesPerSample: 2,
    decode: order === 'be' ? readSlinBE : readSlinLE,
    encode: order === 'be' ? writeSlinBE : writeSlinLE,
    silenceByte: 0,
  };
}
