// Worker thread: runs Silero VAD (v5, ONNX) for every call of the process. The main thread batches one
// window per call per tick into a single message; inference for all of them is one batched session.run, so
// the event loop that carries the calls' media never waits on a neural network.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { STATE_SIZE, WINDOW_INPUT, type VadRequest, type VadResponse } from './silero-protocol.ts';

const port = parentPort!;
const { modelPath, sampleRate } = workerData as { modelPath: string; sampleRate: number };

/** Each stream's recurrent state (2 × 128 floats) between windows. */
const states = new Map<number, Float32Array>();
const srTensor = new ort.Tensor('int64', BigInt64Array.from([BigInt(sampleRate)]), []);
let stateBatch = new Float32Array(0);

function post(msg: VadResponse, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

async function run(session: ort.InferenceSession, req: Extract<VadRequest, { type: 'run' }>): Promise<void> {
  const { count, ids, input } = req;
  const half = count * 128;
  if (stateBatch.length < STATE_SIZE * count) stateBatch = new Float32Array(STATE_SIZE * count);
  // Gather each stream's state into the [2, B, 128] layout the model expects.
  for (let b = 0; b < count; b++) {
    const s = states.get(ids[b]) ?? new Float32Array(STATE_SIZE);
    stateBatch.set(s.subarray(0, 128), b * 128);
    stateBatch.set(s.subarray(128), half + b * 128);
  }
  const feeds = {
    input: new ort.Tensor('float32', input.subarray(0, count * WINDOW_INPUT), [count, WINDOW_INPUT]),
    state: new ort.Tensor('float32', stateBatch.subarray(0, STATE_SIZE * count), [2, count, 128]),
    sr: srTensor,
  };
  const out = await session.run(feeds);
  const probs = Float32Array.from(out.output.data as Float32Array);
  const next = out.stateN.data as Float32Array;
  for (let b = 0; b < count; b++) {
    const id = ids[b];
    // A stream dropped while its window was in flight must not be resurrected.
    if (!states.has(id)) continue;
    const s = states.get(id)!;
    s.set(next.subarray(b * 128, b * 128 + 128), 0);
    s.set(next.subarray(half + b * 128, half + b * 128 + 128), 128);
  }
  post({ type: 'result', count, ids, probs, input }, [ids.buffer as ArrayBuffer, input.buffer as ArrayBuffer, probs.buffer]);
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
      if (req.type === 'open') states.set(req.id, new Float32Array(STATE_SIZE));
      else if (req.type === 'reset') states.get(req.id)?.fill(0);
      else if (req.type === 'drop') states.delete(req.id);
      else {
        try {
          await run(session, req);
        } catch (err) {
          post({ type: 'error', message: (err as Error).message, ids: req.ids, input: req.input, count: req.count });
        }
      }
    });
  });
  post({ type: 'ready' });
}

void main();
