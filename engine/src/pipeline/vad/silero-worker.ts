// Worker thread: runs Silero VAD (v5, ONNX) for the calls pinned to it. The main thread sends the windows of
// many calls in one message; inference for all of them is one batched session.run, so the event loop that
// carries the calls' media never waits on a neural network.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { STATE_SIZE, WINDOW_INPUT, type VadRequest, type VadResponse } from './silero-protocol.ts';

const port = parentPort!;
const { modelPath, sampleRate } = workerData as { modelPath: string; sampleRate: number };
const HALF = STATE_SIZE / 2;

interface StreamState {
  /** Recurrent state (2 × 128 floats) between windows. */
  readonly state: Float32Array;
  /** The segment of the current batch this stream last joined. */
  segment: number;
}

const streams = new Map<number, StreamState>();
const srTensor = new ort.Tensor('int64', BigInt64Array.from([BigInt(sampleRate)]), []);
let stateBatch = new Float32Array(0);
let segments = 0;

function post(msg: VadResponse, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

function streamOf(id: number): StreamState {
  let s = streams.get(id);
  if (!s) {
    s = { state: new Float32Array(STATE_SIZE), segment: 0 };
    streams.set(id, s);
  }
  return s;
}

/** Runs windows [from, to), no stream twice, as one batch of the [2, B, 128] state layout the model expects. */
async function infer(session: ort.InferenceSession, ids: Int32Array, input: Float32Array, probs: Float32Array, from: number, to: number): Promise<void> {
  const n = to - from;
  if (stateBatch.length < STATE_SIZE * n) stateBatch = new Float32Array(STATE_SIZE * n);
  const half = n * HALF;
  for (let b = 0; b < n; b++) {
    const s = streamOf(ids[from + b]).state;
    stateBatch.set(s.subarray(0, HALF), b * HALF);
    stateBatch.set(s.subarray(HALF), half + b * HALF);
  }
  const out = await session.run({
    input: new ort.Tensor('float32', input.subarray(from * WINDOW_INPUT, to * WINDOW_INPUT), [n, WINDOW_INPUT]),
    state: new ort.Tensor('float32', stateBatch.subarray(0, STATE_SIZE * n), [2, n, HALF]),
    sr: srTensor,
  });
  probs.set(out.output.data as Float32Array, from);
  const next = out.stateN.data as Float32Array;
  for (let b = 0; b < n; b++) {
    const s = streamOf(ids[from + b]).state;
    s.set(next.subarray(b * HALF, (b + 1) * HALF), 0);
    s.set(next.subarray(half + b * HALF, half + (b + 1) * HALF), HALF);
  }
}

async function run(session: ort.InferenceSession, req: Extract<VadRequest, { type: 'run' }>): Promise<void> {
  const { count, ids, input } = req;
  const probs = new Float32Array(count);
  // A backlog can hold several windows of one stream: each must start from the state the previous one left,
  // so the batch runs in segments in which no stream repeats.
  let from = 0;
  let segment = ++segments;
  for (let b = 0; b < count; b++) {
    const s = streamOf(ids[b]);
    if (s.segment === segment) {
      await infer(session, ids, input, probs, from, b);
      from = b;
      segment = ++segments;
    }
    s.segment = segment;
  }
  await infer(session, ids, input, probs, from, count);
  post({ type: 'result', probs, ids, input }, [ids.buffer as ArrayBuffer, input.buffer as ArrayBuffer, probs.buffer]);
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
