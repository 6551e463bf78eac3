import createSpeexModule from '@echogarden/speex-resampler-wasm/simd';

/**
 * Band-limited sample-rate conversion with SpeexDSP's resampler (compiled to WASM), one state per stream so
 * consecutive frames join without clicks. Linear interpolation is never used: it aliases audibly at 8 kHz.
 * The one wrapper for the engine's media path and the local AI server's speech input and output.
 */

interface SpeexModule {
  HEAP16: Int16Array;
  HEAPU32: Uint32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errPtr: number): number;
  _speex_resampler_process_int(st: number, channel: number, inPtr: number, inLenPtr: number, outPtr: number, outLenPtr: number): number;
  _speex_resampler_skip_zeros(st: number): number;
  _speex_resampler_reset_mem(st: number): number;
  _speex_resampler_destroy(st: number): void;
}

// Loaded once per process; top-level await keeps Resampler construction synchronous for stream setup.
const speex = (await createSpeexModule()) as SpeexModule;

/** Speex quality 0–10. 6 measures ≥ 90 dB alias rejection at 8↔16 kHz for ~6 µs per 20 ms frame. */
export const DEFAULT_RESAMPLER_QUALITY = 6;

/** Input samples handed to WASM per call; larger inputs are processed in slices. */
const CHUNK = 4096;

/** Where `processInto()` appends its output (the engine's SampleQueue): returns samples that did not fit. */
export interface SampleSink {
  push(src: Int16Array, count: number): number;
}

export interface ResamplerOptions {
  /**
   * Drop the filter's latency from the start of the output (it would begin with that many zeros): for whole
   * utterances converted at once. A paced stream keeps them, so its timeline stays the input's.
   */
  skipZeros?: boolean;
}

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  private state = 0;
  private readonly inPtr: number;
  private readonly outPtr: number;
  private readonly lenPtr: number;
  private readonly outCapacity: number;
  private out: Int16Array;

  constructor(inRate: number, outRate: number, quality: number = DEFAULT_RESAMPLER_QUALITY, options: ResamplerOptions = {}) {
    if (!Number.isInteger(inRate) || !Number.isInteger(outRate) || inRate <= 0 || outRate <= 0) {
      throw new RangeError(`invalid resampler rates ${inRate} -> ${outRate}`);
    }
    this.inRate = inRate;
    this.outRate = outRate;
    this.outCapacity = Math.ceil((CHUNK * outRate) / inRate) + 64;
    this.out = new Int16Array(this.outputLength(960)); // a 20 ms frame at 48 kHz without growing
    this.lenPtr = speex._malloc(8);
    this.inPtr = speex._malloc(CHUNK * 2);
    this.outPtr = speex._malloc(this.outCapacity * 2);
    this.state = speex._speex_resampler_init(1, inRate, outRate, quality, this.lenPtr);
    if (this.state === 0) {
      this.freeBuffers();
      throw new Error(`speex resampler init failed for ${inRate} -> ${outRate}`);
    }
    if (options.skipZeros) speex._speex_resampler_skip_zeros(this.state);
  }

  /**
   * Converts `input` and returns the output samples available so far: a view of `output` when it is given
   * and large enough (see `outputLength`), else of a buffer reused by the next call (copy it to keep it).
   * The filter delay (a few ms) stays inside until more input arrives.
   */
  process(input: Int16Array, output?: Int16Array): Int16Array {
    const needed = this.outputLength(input.length);
    const out = output && output.length >= needed ? output : this.scratch(needed);
    return out.subarray(0, this.convert(input, out));
  }

  /**
   * Converts `input` into `output` from index 0 and returns the sample count, without making a view: the
   * per-frame path of a caller that keeps its own buffer. `output` must hold `outputLength(input.length)`.
   */
  processTo(input: Int16Array, output: Int16Array): number {
    if (output.length < this.outputLength(input.length)) throw new RangeError('resampler output buffer too small');
    return this.convert(input, output);
  }

  /**
   * Converts `input` and appends the output to `queue`, without the view `process()` returns (the per-frame
   * path). Returns what `queue.push` returns: output samples that did not fit.
   */
  processInto(input: Int16Array, queue: SampleSink): number {
    const out = this.scratch(this.outputLength(input.length));
    return queue.push(out, this.convert(input, out));
  }

  /** Most samples one `process()` call can return for `inputLength` samples in. */
  outputLength(inputLength: number): number {
    return Math.ceil((inputLength * this.outRate) / this.inRate) + 64 * (Math.ceil(inputLength / CHUNK) + 1);
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

  private scratch(length: number): Int16Array {
    if (this.out.length < length) this.out = new Int16Array(length);
    return this.out;
  }

  /** Converts `input` into `out` from index 0; returns the sample count. */
  private convert(input: Int16Array, out: Int16Array): number {
    if (this.state === 0) throw new Error('resampler destroyed');
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
      for (let i = 0, h = this.outPtr >> 1; i < made; i++, h++) out[produced + i] = heap[h];
      produced += made;
      offset += consumed > 0 ? consumed : take;
    }
    return produced;
  }

  private freeBuffers(): void {
    speex._free(this.inPtr);
    speex._free(this.outPtr);
    speex._free(this.lenPtr);
  }
}
