/**
 * 2:1 sample-rate conversion between the peer's 8 kHz mixing rate and 16 kHz legs (slin16), with a
 * windowed-sinc half-band low-pass so neither direction aliases audibly. State carries across frames so
 * frame edges do not click. Asterisk resamples with speex; this only needs to be clean, not identical.
 */
const TAPS = 31;
const HALF = (TAPS - 1) / 2;
const KERNEL = new Float64Array(TAPS);
{
  let sum = 0;
  for (let i = 0; i < TAPS; i++) {
    const n = i - HALF;
    const sinc = n === 0 ? 0.5 : Math.sin(Math.PI * n * 0.5) / (Math.PI * n);
    const window = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (TAPS - 1));
    KERNEL[i] = sinc * window;
    sum += KERNEL[i];
  }
  for (let i = 0; i < TAPS; i++) KERNEL[i] /= sum;
}

function clamp16(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : Math.round(v);
}

/** Streaming 8 kHz → 16 kHz. */
export class Upsampler2x {
  private readonly history = new Float64Array(TAPS);

  /** `out` must hold 2 × input.length samples. */
  process(input: Int16Array, out: Int16Array): void {
    const h = this.history;
    for (let i = 0; i < input.length; i++) {
      for (let phase = 0; phase < 2; phase++) {
        h.copyWithin(0, 1);
        h[TAPS - 1] = phase === 0 ? input[i] * 2 : 0;
        let acc = 0;
        for (let k = 0; k < TAPS; k++) acc += h[k] * KERNEL[k];
        out[2 * i + phase] = clamp16(acc);
      }
    }
  }
}

/** Streaming 16 kHz → 8 kHz. */
export class Downsampler2x {
  private readonly history = new Float64Array(TAPS);

  /** `out` must hold input.length / 2 samples. */
  process(input: Int16Array, out: Int16Array): void {
    const h = this.history;
    for (let i = 0; i < input.length; i++) {
      h.copyWithin(0, 1);
      h[TAPS - 1] = input[i];
      if (i & 1) {
        let acc = 0;
        for (let k = 0; k < TAPS; k++) acc += h[k] * KERNEL[k];
        out[i >> 1] = clamp16(acc);
      }
    }
  }
}
