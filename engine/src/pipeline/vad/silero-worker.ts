// Worker thread: runs Silero VAD (v5, ONNX) for the calls pinned to it. The main thread sends the windows of
// many calls in one message; inference for all of them is one batched session.run, so the event loop that
// carries the calls' media never waits on a neural network.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { MAX_WINDOW_INPUT, STATE_SIZE, VAD_WINDOWS, type VadRate, type VadRequest, type VadResponse, type VadWindowShape } from './silero-protocol.ts';

const port = parentPort!;
const { modelPath } = workerData as { modelPath: string };
const HALF = STATE_SIZE / 2;
/** Mean square (of ±1 samples) below which a window is quiet: 40 of 32768 rms, about −58 dBFS. */
const QUIET_MEAN_SQUARE = (40 / 32768) ** 2;
/** Quiet windows the model runs on before quiet ones are scored without it (256 ms). */
const SETTLE_WINDOWS = 8;
/** ... and the probability it gave the last of them must be below this. */
const SILENT_PROB = 0.05;

interface StreamState {
  /** Recurrent state (2 × 128 floats) between windows. */
  readonly state: Float32Array;
  /** Consecutive quiet windows up to the last one seen. */
  quiet: number;
  /** The model's probability for the last window it ran on. */
  lastProb: number;
  /** Index in the pending batch of this stream's window, or -1. */
  pending: number;
}

const streams = new Map<number, StreamState>();
const rateTensors: Record<VadRate, ort.Tensor> = {
  8000: new ort.Tensor('int64', BigInt64Array.from([8000n]), []),
  16000: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
};
/** The windows to run, gathered contiguously (quiet ones are left out), and where their results go. */
let batchInput = new Float32Array(0);
let batchState = new Float32Array(0);
const batchStreams: StreamState[] = [];
let batchSlots = new Int32Array(0);
let batchSize = 0;

function post(msg: VadResponse, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

function streamOf(id: number): StreamState {
  let s = streams.get(id);
  if (!s) {
    s = { state: new Float32Array(STATE_SIZE), quiet: 0, lastProb: 0, pending: -1 };
    streams.set(id, s);
  }
  return s;
}

/** Whether a window's new samples (after its context) stay below QUIET_MEAN_SQUARE. */
function isQuiet(input: Float32Array, offset: number, shape: VadWindowShape): boolean {
  let sum = 0;
  for (let i = offset + shape.contextSamples; i < offset + shape.input; i++) sum += input[i] * input[i];
  return sum < QUIET_MEAN_SQUARE * shape.windowSamples;
}

function ensureBatchRoom(n: number): void {
  if (batchSlots.length >= n) return;
  batchInput = new Float32Array(n * MAX_WINDOW_INPUT);
  batchState = new Float32Array(n * STATE_SIZE);
  batchSlots = new Int32Array(n);
}

/** Runs the gathered windows (no stream twice) as one batch of the [2, B, 128] state layout the model expects. */
async function infer(session: ort.InferenceSession, probs: Float32Array, rate: VadRate): Promise<void> {
  const n = batchSize;
  if (n === 0) return;
  batchSize = 0;
  const half = n * HALF;
  for (let b = 0; b < n; b++) {
    const s = batchStreams[b].state;
    batchState.set(s.subarray(0, HALF), b * HALF);
    batchState.set(s.subarray(HALF), half + b * HALF);
  }
  const length = VAD_WINDOWS[rate].input;
  const out = await session.run({
    input: new ort.Tensor('float32', batchInput.subarray(0, n * length), [n, length]),
    state: new ort.Tensor('float32', batchState.subarray(0, STATE_SIZE * n), [2, n, HALF]),
    sr: rateTensors[rate],
  });
  const p = out.output.data as Float32Array;
  const next = out.stateN.data as Float32Array;
  for (let b = 0; b < n; b++) {
    const s = batchStreams[b];
    s.state.set(next.subarray(b * HALF, (b + 1) * HALF), 0);
    s.state.set(next.subarray(half + b * HALF, half + (b + 1) * HALF), HALF);
    s.lastProb = p[b];
    s.pending = -1;
    probs[batchSlots[b]] = p[b];
  }
}

/**
 * Scores the request's windows in order. A window is scored silent without inference when it is quiet, its
 * stream has been quiet for SETTLE_WINDOWS and the model called the last of them silence: on digital silence or
 * a quiet line it would only confirm that (below 0.01), at the cost of a full inference. The stream's state stays as the
 * model left it after those windows. Left to run on digital silence, its state drifts (its norm grows by about
 * one per window) and it heard the next onset up to 400 ms late on Allison prompts; kept, the next voiced window
 * starts from a settled state, and speech decisions stay within a window of the ungated model's otherwise.
 */
async function run(session: ort.InferenceSession, req: Extract<VadRequest, { type: 'run' }>): Promise<void> {
  const { count, ids, input, rate } = req;
  const shape = VAD_WINDOWS[rate];
  const probs = new Float32Array(count);
  ensureBatchRoom(count);
  let quiet = 0;
  for (let b = 0; b < count; b++) {
    const s = streamOf(ids[b]);
    // A backlog can hold several windows of one stream: each must start from the state (and the judgement) the
    // previous one left, so the windows gathered so far run first.
    if (s.pending >= 0) await infer(session, probs, rate);
    const offset = b * shape.input;
    if (isQuiet(input, offset, shape)) {
      if (s.quiet >= SETTLE_WINDOWS && s.lastProb < SILENT_PROB) {
        probs[b] = 0;
        quiet++;
        continue;
      }
      s.quiet++;
    } else {
      s.quiet = 0;
    }
    const k = batchSize++;
    batchInput.set(input.subarray(offset, offset + shape.input), k * shape.input);
    batchStreams[k] = s;
    batchSlots[k] = b;
    s.pending = k;
  }
  await infer(session, probs, rate);
  post({ type: 'result', probs, quiet, ids, input }, [ids.buffer as ArrayBuffer, input.buffer as ArrayBuffer, probs.buffer]);
}

async function main(): Promise<void> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (err) {
    post({ type: 'error', message: `cannot load the VAD model: ${(err as Error).message}` });
    return;
  }
  // Messages are handled strictly in order, one inference at a time.
  let chain = Promise.resolve();
  port.on('message', (req: VadRequest) => {
    chain = chain.then(async () => {
      if (req.type === 'drop') {
        streams.delete(req.id);
        return;
      }
      if (req.type === 'close') {
        // No session.release(): onnxruntime frees the session with the worker, and releasing it first makes
        // that second free abort the whole process (a Napi::Error at exit).
        port.close();
        return;
      }
      try {
        await run(session, req);
      } catch (err) {
        post({ type: 'error', message: (err as Error).message, ids: req.ids, input: req.input }, [
          req.ids.buffer as ArrayBuffer,
          req.input.buffer as ArrayBuffer,
        ]);
      }
    });
  });
  post({ type: 'ready' });
}

void main();
