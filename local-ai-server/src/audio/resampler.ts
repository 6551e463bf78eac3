// Streaming sample-rate conversion with the Speex resampler (WASM). It keeps filter state between chunks,
// so 20 ms frames convert without clicks at frame edges (linear interpolation would alias and click).
import SpeexResampler from '@echogarden/speex-resampler-wasm';

interface SpeexModule {
  HEAP16: Int16Array;
  HEAPU32: Uint32Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errPtr: number): number;
  _speex_resampler_process_int(
    state: number, channel: number, inPtr: number, inLenPtr: number, outPtr: number, outLenPtr: number,
  ): number;
  _speex_resampler_skip_zeros(state: number): number;
  _speex_resampler_destroy(state: number): void;
}

let loaded: SpeexModule | undefined;
let loading: Promise<SpeexModule> | undefined;

/** Compiles the WASM module once; call before creating resamplers (the server does it at start). */
export async function initResampler(): Promise<void> {
  loading ??= SpeexResampler() as Promise<SpeexModule>;
  loaded = await loading;
}

/** Quality 5 is Speex's VoIP default: good enough for speech, cheap enough for many streams. */
const QUALITY = 5;
const MAX_CHUNK = 48000; // samples per call; larger inputs are converted in pieces

export class Resampler {
  private readonly inPtr: number;
  private readonly outPtr: number;
  private readonly lenPtr: number;
  private readonly outCapacity: number;
  private state: number;

  private constructor(
    private readonly mod: SpeexModule,
    readonly inRate: number,
    readonly outRate: number,
  ) {
    this.outCapacity = Math.ceil((MAX_CHUNK * outRate) / inRate) + 64;
    this.inPtr = mod._malloc(MAX_CHUNK * 2);
    this.outPtr = mod._malloc(this.outCapacity * 2);
    this.lenPtr = mod._malloc(8);
    this.state = mod._speex_resampler_init(1, inRate, outRate, QUALITY, 0);
    // Without this the output starts with the filter's latency worth of zeros.
    mod._speex_resampler_skip_zeros(this.state);
  }

  /** Synchronous, so a stream can convert its first frame without waiting; needs initResampler() first. */
  static create(inRate: number, outRate: number): Resampler {
    if (!loaded) throw new Error('initResampler() has not completed');
    return new Resampler(loaded, inRate, outRate);
  }

  /**
   * Converts one chunk. With `output` (large enough: see outputLength) the result is a view of it, so a
   * steady stream converts without allocating; without it, the result is a fresh array.
   */
  process(input: Int16Array, output?: Int16Array): Int16Array {
    if (this.state === 0) throw new Error('resampler is closed');
    const out = output && output.length >= this.outputLength(input.length) ? output : new Int16Array(this.outputLength(input.length));
    let total = 0;
    for (let offset = 0; offset < input.length; offset += MAX_CHUNK) {
      const piece = input.subarray(offset, Math.min(input.length, offset + MAX_CHUNK));
      const m = this.mod;
      m.HEAP16.set(piece, this.inPtr >> 1);
      m.HEAPU32[this.lenPtr >> 2] = piece.length;
      m.HEAPU32[(this.lenPtr >> 2) + 1] = this.outCapacity;
      m._speex_resampler_process_int(this.state, 0, this.inPtr, this.lenPtr, this.outPtr, this.lenPtr + 4);
      const produced = m.HEAPU32[(this.lenPtr >> 2) + 1];
      // HEAP16 is re-read after the call: WASM memory growth would detach the old view.
      out.set(m.HEAP16.subarray(this.outPtr >> 1, (this.outPtr >> 1) + produced), total);
      total += produced;
    }
    return out.subarray(0, total);
  }

  /** Most samples process() can return for `inputLength` samples in. */
  outputLength(inputLength: number): number {
    return Math.ceil((inputLength * this.outRate) / this.inRate) + 64 * Math.ceil(inputLength / MAX_CHUNK + 1);
  }

  close(): void {
    if (this.state === 0) return;
    this.mod._speex_resampler_destroy(this.state);
    this.mod._free(this.inPtr);
    this.mod._free(this.outPtr);
    this.mod._free(this.lenPtr);
    this.state = 0;
  }
}
