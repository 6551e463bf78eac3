// G.711 µ-law with integer arithmetic and lookup tables: decoding is a table read, encoding a few shifts, so
// per-frame conversion allocates nothing when the caller passes the output buffer.

const BIAS = 0x84;
const CLIP = 32635;

const DECODE = new Int16Array(256);
for (let i = 0; i < 256; i++) {
  const u = ~i & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + BIAS) << exponent) - BIAS;
  DECODE[i] = u & 0x80 ? -magnitude : magnitude;
}

// Exponent for a biased magnitude's top byte: position of its highest set bit.
const EXPONENT = new Uint8Array(256);
for (let i = 1; i < 256; i++) EXPONENT[i] = 31 - Math.clz32(i);

export function mulawDecode(input: Uint8Array, output: Int16Array = new Int16Array(input.length)): Int16Array {
  for (let i = 0; i < input.length; i++) output[i] = DECODE[input[i]];
  return output;
}

export function mulawEncodeSample(sample: number): number {
  let sign = 0;
  let s = sample;
  if (s < 0) {
    sign = 0x80;
    s = -s;
  }
  if (s > CLIP) s = CLIP;
  s += BIAS;
  const exponent = EXPONENT[(s >> 7) & 0xff];
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function mulawEncode(input: Int16Array, output: Uint8Array = new Uint8Array(input.length)): Uint8Array {
  for (let i = 0; i < input.length; i++) output[i] = mulawEncodeSample(input[i]);
  return output;
}
