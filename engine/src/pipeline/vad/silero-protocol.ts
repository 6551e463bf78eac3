// Messages between the VAD service (main thread) and its Silero worker.

/** Samples per Silero v5 window at 16 kHz (32 ms). */
export const WINDOW_SAMPLES = 512;
/** Samples of the previous window the model sees before each window. */
export const CONTEXT_SAMPLES = 64;
export const WINDOW_INPUT = WINDOW_SAMPLES + CONTEXT_SAMPLES;
/** Floats of recurrent state per stream (2 × 128). */
export const STATE_SIZE = 256;

export type VadRequest =
  | { type: 'open'; id: number }
  | { type: 'reset'; id: number }
  | { type: 'drop'; id: number }
  /** `count` windows of WINDOW_INPUT floats, one per stream in `ids`. Both buffers come back with the result. */
  | { type: 'run'; count: number; ids: Int32Array; input: Float32Array };

export type VadResponse =
  | { type: 'ready' }
  | { type: 'result'; count: number; ids: Int32Array; probs: Float32Array; input: Float32Array }
  | { type: 'error'; message: string; count?: number; ids?: Int32Array; input?: Float32Array };
