// Size: the pool, its per-worker lanes (a window queue per rate in each) and the skip accounting share one
// backlog and must stay consistent with each other; they are one job (windows in, probabilities or counted skips
// out).
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { startTsWorker, type Logger } from '@ai-agent/common';
import { MAX_WINDOW_INPUT, VAD_WINDOWS, WINDOW_MS, type VadRate, type VadResponse, type VadWindowShape } from './silero-protocol.ts';

/**
 * Batches a worker holds at once: one running and one waiting, so it never idles on a round trip. The rest of
 * a backlog waits on the main thread, where its oldest windows can still be dropped.
 */
const IN_FLIGHT = 2;
/** Windows per inference message: larger batches no longer run faster per window, they only finish later. */
const MAX_BATCH = 128;
const DEFAULT_MAX_LAG_MS = 1000;
/** Queue room per worker however few streams it serves (one push may carry more than real time). */
const MIN_QUEUE = 1024;
/** Wait before trying again when a replacement worker failed to start. */
const RESTART_DELAY_MS = 1000;
/** How long close() lets a worker finish its inference before terminating it. */
const CLOSE_TIMEOUT_MS = 2000;

/** Called once per 32 ms window with the speech probability; `endMs` is on the stream's audio timeline. */
export type VadListener = (probability: number, endMs: number, pushedAt: number) => void;

/**
 * Why a window got no probability. Under load the oldest windows go first: a current decision is worth more
 * than a late one.
 * - `stale`: it waited longer than `maxLagMs` for its worker (the worker is behind);
 * - `overflow`: its worker's queue was full (audio pushed faster than real time);
 * - `failed`: inference failed, or its worker died with it.
 */
export type VadSkipReason = 'stale' | 'overflow' | 'failed';

export interface VadServiceStats {
  /** Worker threads in the pool. */
  workers: number;
  batches: number;
  /** Windows sent to the workers. */
  windows: number;
  /** Of those, quiet windows scored silent without running the model (see silero-worker). */
  quietWindows: number;
  largestBatch: number;
  /** Windows that got no probability (every reason). */
  skippedWindows: number;
  skipped: Record<VadSkipReason, number>;
  /** Windows waiting for a worker right now. */
  backlog: number;
  errors: number;
  /** Workers started again after theirs died. */
  workerRestarts: number;
}

export interface VadServiceOptions {
  log: Logger;
  modelPath?: string;
  /** Worker threads (default: defaultVadWorkers()). Each stream stays on one, with its model state. */
  workers?: number;
  /** A window still waiting for its worker after this long is dropped, counted as `stale` (default 1000). */
  maxLagMs?: number;
}

/** The Silero v5 model shipped with the engine (engine/models, see its README for origin and licence). */
export function bundledSileroModel(): string {
  return fileURLToPath(new URL('../../../models/silero_vad_v5.onnx', import.meta.url));
}

/** Half the cores, at most 4: the event loop carrying the calls' media and the speech engines need the rest. */
export function defaultVadWorkers(): number {
  return Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2)));
}

/** Starts a worker and waits until its model is loaded. */
async function startWorker(modelPath: string): Promise<Worker> {
  const worker = startTsWorker(new URL('./silero-worker.ts', import.meta.url), {
    workerData: { modelPath },
  });
  let onMessage!: (msg: VadResponse) => void;
  let onError!: (err: Error) => void;
  let onExit!: (code: number) => void;
  try {
    const first = await new Promise<VadResponse>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`vad worker exited (${code})`));
      worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    });
    if (first.type !== 'ready') throw new Error(first.type === 'error' ? first.message : 'vad worker did not start');
  } catch (err) {
    await worker.terminate();
    throw err;
  } finally {
    worker.off('message', onMessage).off('error', onError).off('exit', onExit);
  }
  return worker;
}

/** Lets a worker finish the inference it is in (see VadRequest 'close'); terminates it if that takes too long. */
async function closeWorker(worker: Worker): Promise<void> {
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage({ type: 'close' });
  const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** Windows on their way to a worker: the buffers travel, the rest stays here to route the results. */
interface Batch {
  rate: VadRate;
  count: number;
  ids: Int32Array;
  input: Float32Array;
  readonly streams: Array<VadStream | null>;
  readonly seqs: Float64Array;
  readonly at: Float64Array;
}

function newBatch(): Batch {
  return {
    rate: 16000,
    count: 0,
    ids: new Int32Array(MAX_BATCH),
    input: new Float32Array(MAX_BATCH * MAX_WINDOW_INPUT),
    streams: new Array<VadStream | null>(MAX_BATCH).fill(null),
    seqs: new Float64Array(MAX_BATCH),
    at: new Float64Array(MAX_BATCH),
  };
}

/** One worker, the streams pinned to it and the windows waiting for it: a queue per rate (a batch has one). */
class Lane {
  worker: Worker | null = null;
  streams = 0;
  readonly inFlight: Batch[] = [];
  readonly spare: Batch[] = [];
  readonly queues: Record<VadRate, WindowQueue> = { 8000: new WindowQueue(8000), 16000: new WindowQueue(16000) };

  constructor(readonly index: number) {}

  /** The queue whose oldest window waited longest; null when none waits. */
  oldestQueue(): WindowQueue | null {
    const narrow = this.queues[8000];
    const wide = this.queues[16000];
    if (narrow.size === 0) return wide.size === 0 ? null : wide;
    return wide.size === 0 || narrow.oldestQueuedAt <= wide.oldestQueuedAt ? narrow : wide;
  }
}

/** One rate's windows waiting for a worker, oldest first. */
class WindowQueue {
  /** A ring that grows on demand up to the service's limit. */
  size = 0;
  private head = 0;
  private capacity = 0;
  private qStreams: Array<VadStream | null> = [];
  private qSeqs = new Float64Array(0);
  private qAt = new Float64Array(0);
  private qQueuedAt = new Float64Array(0);
  private qInput = new Float32Array(0);
  private readonly inputLength: number;

  constructor(readonly rate: VadRate) {
    this.inputLength = VAD_WINDOWS[rate].input;
  }

  /** When the oldest waiting window joined the queue. */
  get oldestQueuedAt(): number {
    return this.qQueuedAt[this.head];
  }

  /** Appends a copy of the stream's window; `limit` (more than `size`) caps the ring's growth. */
  push(stream: VadStream, seq: number, at: number, queuedAt: number, limit: number): void {
    if (this.size === this.capacity) this.grow(Math.min(limit, Math.max(64, this.capacity * 2)));
    const i = (this.head + this.size) % this.capacity;
    this.qStreams[i] = stream;
    this.qSeqs[i] = seq;
    this.qAt[i] = at;
    this.qQueuedAt[i] = queuedAt;
    this.qInput.set(stream.window, i * this.inputLength);
    this.size++;
  }

  /** Removes the oldest window; returns its stream. */
  shift(): VadStream {
    const stream = this.qStreams[this.head]!;
    this.qStreams[this.head] = null;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return stream;
  }

  /** Moves up to MAX_BATCH of the oldest windows into `batch`, leaving out closed streams'. */
  fill(batch: Batch): void {
    const length = this.inputLength;
    batch.rate = this.rate;
    let n = 0;
    while (this.size > 0 && n < MAX_BATCH) {
      const i = this.head;
      const stream = this.shift();
      if (stream.closed) continue;
      batch.streams[n] = stream;
      batch.ids[n] = stream.id;
      batch.seqs[n] = this.qSeqs[i];
      batch.at[n] = this.qAt[i];
      // An index loop, not set(subarray()): no view object per window.
      const input = batch.input;
      const queued = this.qInput;
      for (let k = 0, from = i * length, to = n * length; k < length; k++) input[to + k] = queued[from + k];
      n++;
    }
    batch.count = n;
  }

  private grow(capacity: number): void {
    const streams = new Array<VadStream | null>(capacity).fill(null);
    const seqs = new Float64Array(capacity);
    const at = new Float64Array(capacity);
    const queuedAt = new Float64Array(capacity);
    const length = this.inputLength;
    const input = new Float32Array(capacity * length);
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) % this.capacity;
      streams[k] = this.qStreams[i];
      seqs[k] = this.qSeqs[i];
      at[k] = this.qAt[i];
      queuedAt[k] = this.qQueuedAt[i];
      input.set(this.qInput.subarray(i * length, (i + 1) * length), k * length);
    }
    this.qStreams = streams;
    this.qSeqs = seqs;
    this.qAt = at;
    this.qQueuedAt = queuedAt;
    this.qInput = input;
    this.head = 0;
    this.capacity = capacity;
  }
}

/**
 * Silero VAD for every call of the process, on a small pool of worker threads. Each call opens a stream at its
 * rate (8 kHz for a telephone line's own audio), pinned to the worker with the fewest streams (its model state
 * lives there), and pushes its 20 ms frames; every full 32 ms window joins its worker's queue for that rate, and
 * after the tick's synchronous work (the pacer hands every call its frame in one go) each worker gets the tick's
 * windows of all its calls as one batch per rate (the model takes one rate per run).
 *
 * A worker that falls behind never holds more than IN_FLIGHT batches; its backlog waits here, bounded in
 * age (`maxLagMs`) and in size (that much audio per stream), and the oldest windows are dropped first. Every
 * window gets either its probability or a count in `stats.skipped`, never silence. A worker that dies is
 * replaced; its streams continue from a fresh state.
 */
export class VadService {
  readonly stats: VadServiceStats;
  private readonly lanes: Lane[];
  private readonly maxLagMs: number;
  /** Queue room per stream: `maxLagMs` of windows, plus a tick's. */
  private readonly windowsPerStream: number;
  private nextId = 1;
  private closed = false;
  private flushScheduled = false;
  /** When the current tick's first window was queued. */
  private tickAt = 0;

  private constructor(
    workers: Worker[],
    private readonly modelPath: string,
    maxLagMs: number,
    private readonly log: Logger,
  ) {
    this.maxLagMs = maxLagMs;
    this.windowsPerStream = Math.ceil(maxLagMs / WINDOW_MS) + 2;
    this.stats = {
      workers: workers.length,
      batches: 0,
      windows: 0,
      quietWindows: 0,
      largestBatch: 0,
      skippedWindows: 0,
      skipped: { stale: 0, overflow: 0, failed: 0 },
      backlog: 0,
      errors: 0,
      workerRestarts: 0,
    };
    this.lanes = workers.map((worker, i) => {
      const lane = new Lane(i);
      this.attach(lane, worker);
      return lane;
    });
  }

  /** Starts the workers and waits until each has loaded the model. */
  static async start(options: VadServiceOptions): Promise<VadService> {
    const count = options.workers ?? defaultVadWorkers();
    if (!Number.isInteger(count) || count < 1) throw new Error(`vad workers must be a positive integer, not ${count}`);
    const maxLagMs = options.maxLagMs ?? DEFAULT_MAX_LAG_MS;
    if (!(maxLagMs > 0)) throw new Error(`vad maxLagMs must be positive, not ${maxLagMs}`);
    const modelPath = options.modelPath ?? bundledSileroModel();
    const started = await Promise.allSettled(Array.from({ length: count }, () => startWorker(modelPath)));
    const workers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw failed.reason;
    }
    return new VadService(workers, modelPath, maxLagMs, options.log);
  }

  /** A stream scored at `rate`: 8000 for a telephone call's own audio, 16000 for wideband. */
  open(listener: VadListener, rate: VadRate = 16000): VadStream {
    if (this.closed) throw new Error('vad service closed');
    let lane = this.lanes[0];
    for (const l of this.lanes) if (l.streams < lane.streams) lane = l;
    lane.streams++;
    return new VadStream(this, lane, this.nextId++, rate, listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const workers = this.lanes.flatMap((lane) => (lane.worker ? [lane.worker] : []));
    for (const lane of this.lanes) lane.worker = null;
    await Promise.all(workers.map(closeWorker));
  }

  /** @internal Queues a stream's full window (copied) for its worker. */
  enqueue(stream: VadStream, seq: number, at: number): void {
    if (this.closed) return;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.tickAt = performance.now();
      setImmediate(this.flush);
    }
    const lane = stream.lane;
    const queue = lane.queues[stream.rate];
    const limit = Math.max(MIN_QUEUE, lane.streams * this.windowsPerStream);
    while (queue.size >= limit) this.dropOldest(queue, 'overflow');
    queue.push(stream, seq, at, this.tickAt, limit);
    this.stats.backlog++;
  }

  /** @internal */
  release(stream: VadStream): void {
    stream.lane.streams--;
    // Sent after every batch holding its windows; windows still queued here are left out when batched.
    stream.lane.worker?.postMessage({ type: 'drop', id: stream.id });
  }

  private dropOldest(queue: WindowQueue, reason: VadSkipReason): void {
    this.stats.backlog--;
    this.skip(queue.shift(), reason);
  }

  private dropStale(queue: WindowQueue, now: number): void {
    while (queue.size > 0 && now - queue.oldestQueuedAt > this.maxLagMs) this.dropOldest(queue, 'stale');
  }

  private skip(stream: VadStream | null, reason: VadSkipReason): void {
    if (!stream || stream.closed) return;
    stream.stats.skipped++;
    this.stats.skippedWindows++;
    this.stats.skipped[reason]++;
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    for (const lane of this.lanes) this.pump(lane);
  };

  /** Drops what waited too long, then keeps the worker supplied. */
  private pump(lane: Lane): void {
    const now = performance.now();
    this.dropStale(lane.queues[8000], now);
    this.dropStale(lane.queues[16000], now);
    const worker = lane.worker;
    if (!worker) return;
    while (lane.inFlight.length < IN_FLIGHT) {
      const queue = lane.oldestQueue();
      if (!queue) break;
      const batch = lane.spare.pop() ?? newBatch();
      const before = queue.size;
      queue.fill(batch);
      this.stats.backlog -= before - queue.size;
      const n = batch.count;
      if (n === 0) {
        lane.spare.push(batch); // only closed streams' windows were waiting there
        continue;
      }
      lane.inFlight.push(batch);
      this.stats.batches++;
      this.stats.windows += n;
      if (n > this.stats.largestBatch) this.stats.largestBatch = n;
      worker.postMessage({ type: 'run', rate: batch.rate, count: n, ids: batch.ids, input: batch.input }, [batch.ids.buffer as ArrayBuffer, batch.input.buffer as ArrayBuffer]);
    }
  }

  private attach(lane: Lane, worker: Worker): void {
    lane.worker = worker;
    worker.on('message', (msg: VadResponse) => {
      if (lane.worker === worker) this.onMessage(lane, msg);
    });
    worker.on('error', (err) => {
      this.stats.errors++;
      this.log.error({ err, worker: lane.index }, 'vad worker failed');
    });
    worker.on('exit', (code) => {
      if (lane.worker === worker) this.replace(lane, code);
    });
    worker.unref();
  }

  /** A worker died: what it held is lost (counted), a new one takes over its streams. */
  private replace(lane: Lane, code: number): void {
    lane.worker = null;
    for (const batch of lane.inFlight.splice(0)) for (let i = 0; i < batch.count; i++) this.skip(batch.streams[i], 'failed');
    this.stats.workerRestarts++;
    this.log.error({ worker: lane.index, code }, 'vad worker exited; starting another');
    const restart = (): void => {
      startWorker(this.modelPath).then(
        (worker) => {
          if (this.closed) {
            void worker.terminate();
            return;
          }
          this.attach(lane, worker);
          this.pump(lane);
        },
        (err: unknown) => {
          this.stats.errors++;
          this.log.error({ err, worker: lane.index }, 'vad worker did not start; trying again');
          if (!this.closed) setTimeout(restart, RESTART_DELAY_MS).unref();
        },
      );
    };
    restart();
  }

  private onMessage(lane: Lane, msg: VadResponse): void {
    if (msg.type === 'ready') return;
    const batch = lane.inFlight.shift();
    if (!batch) return;
    if (msg.type === 'result') {
      this.stats.quietWindows += msg.quiet;
      for (let i = 0; i < batch.count; i++) batch.streams[i]!.deliver(msg.probs[i], batch.seqs[i], batch.at[i]);
    } else {
      this.stats.errors++;
      this.log.warn({ reason: msg.message, worker: lane.index }, 'vad inference failed');
      for (let i = 0; i < batch.count; i++) this.skip(batch.streams[i], 'failed');
    }
    batch.streams.fill(null, 0, batch.count);
    if (msg.ids && msg.input) {
      batch.ids = msg.ids;
      batch.input = msg.input;
      lane.spare.push(batch);
    }
    this.pump(lane);
  }
}

/** One call's VAD: push 16 kHz frames, receive a probability per 32 ms window. */
export class VadStream {
  /** Windows completed so far, and those of them that got no probability (see VadSkipReason). */
  readonly stats = { windows: 0, skipped: 0 };
  /** @internal The window to send: the previous window's last `contextSamples`, then `windowSamples` new ones. */
  readonly window: Float32Array;
  /** @internal */
  closed = false;
  private readonly shape: VadWindowShape;
  private fill: number;

  /** @internal `lane` is the worker this stream is pinned to. */
  constructor(
    private readonly service: VadService,
    readonly lane: Lane,
    readonly id: number,
    readonly rate: VadRate,
    private readonly listener: VadListener,
  ) {
    this.shape = VAD_WINDOWS[rate];
    this.window = new Float32Array(this.shape.input);
    this.fill = this.shape.contextSamples;
  }

  /** Feeds PCM16 at the stream's rate (any length; the pipeline sends 20 ms frames). */
  push(pcm: Int16Array, at?: number): void {
    if (this.closed) return;
    const w = this.window;
    const { input, windowSamples, contextSamples } = this.shape;
    let fill = this.fill;
    for (let i = 0; i < pcm.length; ) {
      const end = Math.min(pcm.length, i + input - fill);
      while (i < end) w[fill++] = pcm[i++] / 32768;
      if (fill === input) {
        this.service.enqueue(this, this.stats.windows++, at ?? performance.now());
        // The tail of this window is the next one's context (the service copied the window already).
        w.copyWithin(0, windowSamples, input);
        fill = contextSamples;
      }
    }
    this.fill = fill;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.service.release(this);
  }

  /** @internal Window `seq` (0-based) ends at (seq + 1) windows on the stream's timeline. */
  deliver(probability: number, seq: number, at: number): void {
    if (!this.closed) this.listener(probability, (seq + 1) * WINDOW_MS, at);
  }
}

export { WINDOW_MS };
