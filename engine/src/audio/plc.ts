/**
 * Packet loss concealment by pitch-synchronous waveform substitution (the idea of G.711 Appendix I, not its
 * code): a lost stretch is filled by repeating the last pitch period of real audio, held for 10 ms and then
 * faded to silence over 50 ms, so a single loss is inaudible and a long outage decays instead of buzzing.
 * When real audio resumes its first milliseconds are cross-faded with the substitute to avoid a click.
 */
export class Concealer {
  private readonly history: Int16Array;
  private readonly minLag: number;
  private readonly maxLag: number;
  private readonly holdSamples: number;
  private readonly fadeSamples: number;
  private readonly crossfadeSamples: number;
  private readonly scratch: Int16Array;
  private period = 0;
  /** Position within the repeated period. */
  private phase = 0;
  /** Samples concealed since the last real audio; 0 when not concealing. */
  private concealed = 0;

  constructor(readonly sampleRate: number) {
    this.minLag = Math.round(sampleRate / 400); // 400 Hz highest pitch
    this.maxLag = Math.round(sampleRate / 66); // 66 Hz lowest pitch
    this.history = new Int16Array(this.maxLag * 3);
    this.holdSamples = Math.round(sampleRate / 100);
    this.fadeSamples = Math.round(sampleRate / 20);
    this.crossfadeSamples = Math.round(sampleRate / 250);
    this.scratch = new Int16Array(this.crossfadeSamples);
  }

  /** True while the output is substitute audio. */
  get active(): boolean {
    return this.concealed > 0;
  }

  /** Samples after which concealment is pure silence. */
  get maxAudibleSamples(): number {
    return this.holdSamples + this.fadeSamples;
  }

  /** Records real audio that was played (and cross-fades it if it ends a concealment). */
  observe(samples: Int16Array, n: number = samples.length): void {
    if (this.concealed > 0) {
      const m = Math.min(this.crossfadeSamples, n);
      this.synthesize(this.scratch, m);
      for (let i = 0; i < m; i++) {
        const w = (i + 1) / (m + 1);
        samples[i] = Math.round(samples[i] * w + this.scratch[i] * (1 - w));
      }
      this.concealed = 0;
    }
    const h = this.history;
    const keep = Math.max(0, h.length - n);
    if (keep > 0) h.copyWithin(0, n);
    for (let i = keep, j = n - (h.length - keep); i < h.length; i++, j++) h[i] = samples[j];
  }

  /** Writes `n` samples of substitute audio into `dst` from index 0. */
  conceal(dst: Int16Array, n: number): void {
    if (this.concealed === 0) {
      this.period = this.estimatePeriod();
      this.phase = 0;
    }
    this.synthesize(dst, n);
  }

  private synthesize(dst: Int16Array, n: number): void {
    const h = this.history;
    const start = h.length - this.period;
    for (let i = 0; i < n; i++) {
      const k = this.concealed + i;
      let gain = 1;
      if (k >= this.holdSamples) gain = Math.max(0, 1 - (k - this.holdSamples) / this.fadeSamples);
      dst[i] = gain === 0 ? 0 : Math.round(h[start + this.phase] * gain);
      this.phase++;
      if (this.phase >= this.period) this.phase = 0;
    }
    this.concealed += n;
  }

  /** Pitch period by normalised autocorrelation of the most recent audio (only run when a loss starts). */
  private estimatePeriod(): number {
    const h = this.history;
    const w = this.maxLag;
    const end = h.length;
    let best = this.maxLag;
    let bestScore = -Infinity;
    for (let lag = this.minLag; lag <= this.maxLag; lag++) {
      let cross = 0;
      let energy = 0;
      for (let i = end - w; i < end; i++) {
        const a = h[i - lag];
        cross += h[i] * a;
        energy += a * a;
      }
      const score = energy > 0 ? cross / Math.sqrt(energy) : 0;
      if (score > bestScore) {
        bestScore = score;
        best = lag;
      }
    }
    return best;
  }
}
