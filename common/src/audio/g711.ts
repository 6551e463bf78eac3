/**
 * G.711 µ-law and A-law (ITU-T G.711) by lookup tables built once with integer arithmetic.
 * Encoding indexes a table by the top bits of the sample (µ-law uses 14 bits, A-law 13 bits), so the
 * per-sample cost is one shift and one load; no floating point anywhere.
 */

const ULAW_BIAS = 0x84;
const ULAW_CLIP = 32635;

function ulawEncodeSample(sample: number): number {
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

function ulawDecodeByte(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

function alawEncodeSample(sample: number): number {
  let s = sample >> 3; // A-law works on 13-bit magnitudes
  let sign = 0x80;
  if (s < 0) {
    sign = 0;
    s = -s - 1;
  }
  let code: number;
  if (s < 32) {
    code = s >> 1;
  } else {
    let exponent = 1;
    while (s >= 64 << (exponent - 1) && exponent < 7) exponent++;
    code = (exponent << 4) | ((s >> exponent) & 0x0f);
  }
  if (code > 0x7f) code = 0x7f;
  return (sign | code) ^ 0x55;
}

function alawDecodeByte(byte: number): number {
  const a = byte ^ 0x55;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  let magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  if ((a & 0x80) === 0) magnitude = -magnitude;
  return magnitude;
}

const ULAW_DECODE = new Int16Array(256);
const ALAW_DECODE = new Int16Array(256);
for (let i = 0; i < 256; i++) {
  ULAW_DECODE[i] = ulawDecodeByte(i);
  ALAW_DECODE[i] = alawDecodeByte(i);
}

// Index = (sample >> 2) + 8192 for µ-law (14-bit), (sample >> 3) + 4096 for A-law (13-bit).
const ULAW_ENCODE = new Uint8Array(1 << 14);
const ALAW_ENCODE = new Uint8Array(1 << 13);
for (let i = 0; i < ULAW_ENCODE.length; i++) ULAW_ENCODE[i] = ulawEncodeSample((i - 8192) << 2);
for (let i = 0; i < ALAW_ENCODE.length; i++) ALAW_ENCODE[i] = alawEncodeSample((i - 4096) << 3);

/** Decodes `src` µ-law bytes into `dst`; returns the sample count. */
/** Decodes µ-law bytes `src[start, end)` into `dst`; returns the sample count. */
export function decodeUlaw(src: Uint8Array, dst: Int16Array, start = 0, end = src.length): number {
  const n = Math.min(end - start, dst.length);
  for (let i = 0; i < n; i++) dst[i] = ULAW_DECODE[src[start + i]];
  return n;
}

/** Encodes `src` samples into µ-law bytes in `dst`; returns the byte count. */
export function encodeUlaw(src: Int16Array, dst: Uint8Array): number {
  const n = Math.min(src.length, dst.length);
  for (let i = 0; i < n; i++) dst[i] = ULAW_ENCODE[(src[i] >> 2) + 8192];
  return n;
}

export function decodeAlaw(src: Uint8Array, dst: Int16Array, start = 0, end = src.length): number {
  const n = Math.min(end - start, dst.length);
  for (let i = 0; i < n; i++) dst[i] = ALAW_DECODE[src[start + i]];
  return n;
}

export function encodeAlaw(src: Int16Array, dst: Uint8Array): number {
  const n = Math.min(src.length, dst.length);
  for (let i = 0; i < n; i++) dst[i] = ALAW_ENCODE[(src[i] >> 3) + 4096];
  return n;
}

/** The µ-law byte for digital silence (0xFF), as Asterisk's transmit_silence sends. */
export const ULAW_SILENCE = 0xff;
/** The A-law byte for digital silence. */
export const ALAW_SILENCE = 0xd5;

/**
 * µ-law bytes to samples, in `output` when given (at least `input.length` long), else in a new array.
 * Returns the decoded samples (a view of `output`).
 */
export function mulawDecode(input: Uint8Array, output: Int16Array = new Int16Array(input.length)): Int16Array {
  return output.subarray(0, decodeUlaw(input, output));
}

/** Samples to µ-law bytes, in `output` when given, else in a new array. Returns the encoded bytes. */
export function mulawEncode(input: Int16Array, output: Uint8Array = new Uint8Array(input.length)): Uint8Array {
  return output.subarray(0, encodeUlaw(input, output));
}
