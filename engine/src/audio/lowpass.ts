/**
 * A Butterworth low-pass filter for PCM16, as a cascade of second-order sections (bilinear transform,
 * prewarped at the cut-off). A few lines of arithmetic the product owns rather than a dependency: it runs on
 * every frame of every call, so it keeps its state in preallocated arrays and allocates nothing per frame.
 */
export class ButterworthLowpass {
  /** b0, b1, b2, a1, a2 of each section (a0 normalised to 1). */
  private readonly coefficients: Float64Array;
  /** Two delay values per section (transposed direct form II). */
  private readonly state: Float64Array;
  private readonly sections: number;

  /** `order` is even; `cutoffHz` is where the response is 3 dB down. */
  constructor(sampleRate: number, cutoffHz: number, order: number) {
    if (order < 2 || order % 2 !== 0) throw new Error(`low-pass order must be even and at least 2 (got ${order})`);
    if (!(cutoffHz > 0 && cutoffHz < sampleRate / 2)) throw new Error(`low-pass cut-off ${cutoffHz} Hz is not below half of ${sampleRate} Hz`);
    this.sections = order / 2;
    this.coefficients = new Float64Array(this.sections * 5);
    this.state = new Float64Array(this.sections * 2);
    const w0 = (2 * Math.PI * cutoffHz) / sampleRate;
    const cos = Math.cos(w0);
    for (let k = 0; k < this.sections; k++) {
      // The k-th pole pair of the Butterworth prototype, as a section's Q.
      const q = 1 / (2 * Math.cos((Math.PI * (2 * k + 1)) / (2 * order)));
      const alpha = Math.sin(w0) / (2 * q);
      const a0 = 1 + alpha;
      const c = this.coefficients;
      c[k * 5] = (1 - cos) / 2 / a0;
      c[k * 5 + 1] = (1 - cos) / a0;
      c[k * 5 + 2] = (1 - cos) / 2 / a0;
      c[k * 5 + 3] = (-2 * cos) / a0;
      c[k * 5 + 4] = (1 - alpha) / a0;
    }
  }

  /** Filters `input` into `output` (at least as long; may be the same array); returns the samples written. */
  processTo(input: Int16Array, output: Int16Array): number {
    const c = this.coefficients;
    const z = this.state;
    const sections = this.sections;
    const n = input.length;
    for (let i = 0; i < n; i++) {
      let x = input[i]!;
      for (let k = 0; k < sections; k++) {
        const o = k * 5;
        const s = k * 2;
        const y = c[o]! * x + z[s]!;
        z[s] = c[o + 1]! * x - c[o + 3]! * y + z[s + 1]!;
        z[s + 1] = c[o + 2]! * x - c[o + 4]! * y;
        x = y;
      }
      output[i] = x > 32767 ? 32767 : x < -32768 ? -32768 : Math.round(x);
    }
    return n;
  }
}
