/**
 * G.711 µ-law and A-law (ITU-T G.711), written for the peer so it shares no code with the engine it tests.
 * Encoding uses 64 K-entry lookup tables built once, so the per-frame cost is one array read per sample.
 */
const ULAW_BIAS = 0x84;
const ULAW_CLIP = 32635;

function encodeUlawSample(sample: number): number {
  let s = sample;
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > ULAW_CLIP) s = ULAW_CLIP;
  s += ULAW_BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function decodeUlawByte(byte: number): number {
  const u = ~byte & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
  return sign ? -magnitude : magnitude;
}

function encodeAlawSample(sample: number): number {
  let s = sample;
  let sign = 0x80;
  if (s < 0) {
    sign = 0;
    s = -s - 1;
  }
  if (s > 32767) s = 32767;
  let out: number;
  if (s < 256) {
    out = s >> 4;
  } else {
    let exponent = 7;
    for (let mask = 0x4000; (s & mask) === 0 && exponent > 1; mask >>= 1) exponent--;
    out = (exponent << 4) | ((s >> (exponent + 3)) & 0x0f);
  }
  return (out | sign) ^ 0x55;
}

function decodeAlawByte(byte: number): number {
  const a = byte ^ 0x55;
  const sign = a & 0x80;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  let magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return sign ? magnitude : -magnitude;
}

const ULAW_ENCODE = new Uint8Array(65536);
const ALAW_ENCODE = new Uint8Array(65536);
const ULAW_DECODE = new Int16Array(256);
const ALAW_DECODE = new Int16Array(256);
for (let i = 0; i < 65536; i++) {
  const sample = i - 32768;
  ULAW_ENCODE[i] = encodeUlawSample(sample);
  ALAW_ENCODE[i] = encodeAlawSample(sample);
}
for (let b = 0; b < 256; b++) {
  ULAW_DECODE[b] = decodeUlawByte(b);
  ALAW_DECODE[b] = decodeAlawByte(b);
}

export function ulawEncode(pcm: Int16Array, out: Uint8Array, offset = 0): void {
  for (let i = 0; i < pcm.length; i++) out[offset + i] = ULAW_ENCODE[pcm[i] + 32768];
}

export function alawEncode(pcm: Int16Array, out: Uint8Array, offset = 0): void {
  for (let i = 0; i < pcm.length; i++) out[offset + i] = ALAW_ENCODE[pcm[i] + 32768];
}

export function ulawDecode(bytes: Uint8Array, out: Int16Array): void {
  for (let i = 0; i < bytes.length; i++) out[i] = ULAW_DECODE[bytes[i]];
}

export function alawDecode(bytes: Uint8Array, out: Int16Array): void {
  for (let i = 0; i < bytes.length; i++) out[i] = ALAW_DECODE[bytes[i]];
}

/** µ-law code of digital silence (what Asterisk's transmit_silence sends). */
export const ULAW_SILENCE = 0xff;
/** A-law code of digital silence. */
export const ALAW_SILENCE = 0xd5;
