// Messages between the VAD service (main thread) and its Silero workers.

/** Samples per Silero v5 window at 16 kHz (32 ms). */
export const WINDOW_SAMPLES = 512;
/** Samples of the previous window the model sees before each window. */
export const CONTEXT_SAMPLES = 64;
export const WINDOW_INPUT = WINDOW_SAMPLES + CONTEXT_SAMPLES;
/** Floats of recurrent state per stream (2 × 128). */
export const STATE_SIZE = 256;

export type VadRequest =
  /** Forgets a closed stream's state; it is sent after the stream's last window. */
  | { type: 'drop'; id: number }
  /** Finish what was sent, then exit (terminating a worker inside an inference aborts the process). */
  | { type: 'close' }
  /**
   * `count` windows of WINDOW_INPUT floats, oldest first, for the streams in `ids` (a stream may appear more
   * than once); a stream seen for the first time starts from a fresh state. Both buffers come back with the
   * result.
   */
  | { type: 'run'; count: number; ids: Int32Array; input: Float32Array };

export type VadResponse =
  | { type: 'ready' }
  /** One probability per window of the request, in its order; `quiet` of them were scored silent without the model. */
  | { type: 'result'; probs: Float32Array; quiet: number; ids: Int32Array; input: Float32Array }
  /** Without buffers: the model did not load (the worker's first and only message). */
  | { type: 'error'; message: string; ids?: Int32Array; input?: Float32Array };
