import createSpeexModule from '@echogarden/speex-resampler-wasm/simd';
import type { SampleQueue } from './sample-queue.ts';

/**
 * Band-limited sample-rate conversion with SpeexDSP's resampler (compiled to WASM), one state per stream so
 * consecutive frames join without clicks. Linear interpolation is never used: it aliases audibly at 8 kHz.
 */

interface SpeexModule {
  HEAP16: Int16Array;
  HEAPU32: Uint32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errPtr: number): number;
  _speex_resampler_process_int(st: number, channel: number, inPtr: number, inLenPtr: number, outPtr: number, outLenPtr: number): number;
  _speex_resampler_reset_mem(st: number): number;
  _speex_resampler_destroy(st: number): void;
}

// Loaded once per process; top-level await keeps Resampler construction synchronous for stream setup.
const speex = (await createSpeexModule()) as SpeexModule;

/** Speex quality 0–10. 6 measures ≥ 90 dB alias rejection at 8↔16 kHz for ~6 µs per 20 ms frame. */
export const DEFAULT_RESAMPLER_QUALITY = 6;

/** Input samples handed to WASM per call; larger inputs are processed in slices. */
const CHUNK = 4096;

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  private state = 0;
  private readonly inPtr: number;
  private readonly outPtr: number;
  private readonly lenPtr: number;
  private readonly outCapacity: number;
  private out: Int16Array;

  constructor(inRate: number, outRate: number, quality: number = DEFAULT_RESAMPLER_QUALITY) {
    if (!Number.isInteger(inRate) || !Number.isInteger(outRate) || inRate <= 0 || outRate <= 0) {
      throw new RangeError(`invalid resampler rates ${inRate} -> ${outRate}`);
    }
    this.inRate = inRate;
    this.outRate = outRate;
    this.outCapacity = Math.ceil((CHUNK * outRate) / inRate) + 64;
    this.out = new Int16Array(Math.ceil((960 * outRate) / inRate) + 64);
    this.lenPtr = speex._malloc(8);
    this.inPtr = speex._malloc(CHUNK * 2);
    this.outPtr = speex._malloc(this.outCapacity * 2);
    this.state = speex._speex_resampler_init(1, inRate, outRate, quality, this.lenPtr);
    if (this.state === 0) {
      this.freeBuffers();
      throw new Error(`speex resampler init failed for ${inRate} -> ${outRate}`);
    }
  }

  /**
   * Converts `input` and returns the output samples available so far. The returned view is reused by the
   * next call: copy it if you keep it. The filter delay (a few ms) stays inside until more input arrives.
   */
  process(input: Int16Array): Int16Array {
    const n = this.convert(input); // first: it may replace this.out
    return this.out.subarray(0, n);
  }

  /**
   * Converts `input` and appends the output to `queue`, without the view `process()` returns (the per-frame
   * path). Returns what `queue.push` returns: output samples that did not fit.
   */
  processInto(input: Int16Array, queue: SampleQueue): number {
    const n = this.convert(input); // first: it may replace this.out
    return queue.push(this.out, n);
  }

  /** Converts `input` into `this.out` from index 0; returns the sample count. */
  private convert(input: Int16Array): number {
    if (this.state === 0) throw new Error('resampler destroyed');
    const expected = Math.ceil((input.length * this.outRate) / this.inRate) + 64;
    if (this.out.length < expected) this.out = new Int16Array(expected);
    let produced = 0;
    for (let offset = 0; offset < input.length; ) {
      const take = Math.min(CHUNK, input.length - offset);
      // HEAP views are re-read on every call: they are replaced when WASM memory grows.
      speex.HEAP16.set(offset === 0 && take === input.length ? input : input.subarray(offset, offset + take), this.inPtr >> 1);
      const u32 = speex.HEAPU32;
      u32[this.lenPtr >> 2] = take;
      u32[(this.lenPtr >> 2) + 1] = this.outCapacity;
      speex._speex_resampler_process_int(this.state, 0, this.inPtr, this.lenPtr, this.outPtr, this.lenPtr + 4);
      const consumed = speex.HEAPU32[this.lenPtr >> 2];
      const made = speex.HEAPU32[(this.lenPtr >> 2) + 1];
      const heap = speex.HEAP16;
      const out = this.out;
      for (let i = 0, h = this.outPtr >> 1; i < made; i++, h++) out[produced + i] = heap[h];
      produced += made;
      offset += consumed > 0 ? consumed : take;
    }
    return produced;
  }

  /** Forgets buffered history (after a flush, so old audio cannot leak into the next utterance). */
  reset(): void {
    if (this.state !== 0) speex._speex_resampler_reset_mem(this.state);
  }

  destroy(): void {
    if (this.state === 0) return;
    speex._speex_resampler_destroy(this.state);
    this.state = 0;
    this.freeBuffers();
  }

  private freeBuffers(): void {
    speex._free(this.inPtr);
    speex._free(this.outPtr);
    speex._free(this.lenPtr);
  }
}
