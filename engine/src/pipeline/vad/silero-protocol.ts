// Messages between the VAD service (main thread) and its Silero workers.

/**
 * The rates Silero v5 has a model branch for. A telephone call (G.711, slin) is scored at 8 kHz, as received: its
 * band ends below 4 kHz anyway, so the 16 kHz branch would only see an empty upper half, at twice the input.
 */
export type VadRate = 8000 | 16000;

/** One rate's window: 32 ms of new samples after the tail of the previous window, as the model expects. */
export interface VadWindowShape {
  readonly windowSamples: number;
  /** Samples of the previous window the model sees before each window. */
  readonly contextSamples: number;
  /** contextSamples + windowSamples: the floats one window takes in a request. */
  readonly input: number;
}

export const VAD_WINDOWS: Readonly<Record<VadRate, VadWindowShape>> = {
  16000: { windowSamples: 512, contextSamples: 64, input: 576 },
  8000: { windowSamples: 256, contextSamples: 32, input: 288 },
};

/** Every rate's window is 32 ms long. */
export const WINDOW_MS = 32;
/** The largest window input: what a request's buffer is sized for, whatever its rate. */
export const MAX_WINDOW_INPUT = VAD_WINDOWS[16000].input;
/** Floats of recurrent state per stream (2 × 128). */
export const STATE_SIZE = 256;

export type VadRequest =
  /** Forgets a closed stream's state; it is sent after the stream's last window. */
  | { type: 'drop'; id: number }
  /** Finish what was sent, then exit (terminating a worker inside an inference aborts the process). */
  | { type: 'close' }
  /**
   * `count` windows of one rate, VAD_WINDOWS[rate].input floats each, oldest first, for the streams in `ids` (a
   * stream may appear more than once; a stream keeps one rate); a stream seen for the first time starts from a
   * fresh state. Both buffers come back with the result.
   */
  | { type: 'run'; rate: VadRate; count: number; ids: Int32Array; input: Float32Array };

export type VadResponse =
  | { type: 'ready' }
  /** One probability per window of the request, in its order; `quiet` of them were scored silent without the model. */
  | { type: 'result'; probs: Float32Array; quiet: number; ids: Int32Array; input: Float32Array }
  /** Without buffers: the model did not load (the worker's first and only message). */
  | { type: 'error'; message: string; ids?: Int32Array; input?: Float32Array };
