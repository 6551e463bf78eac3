import { Resampler } from '@ai-agent/common/audio';
import { SampleQueue } from '../audio/sample-queue.ts';
import { FRAME_MS, PIPELINE_FRAME_SAMPLES, PIPELINE_SAMPLE_RATE, type InboundFrame, type InboundFrameKind } from '../call/index.ts';

/**
 * The frame a stream hands its 'frame' listeners every tick (InboundFrame's ownership rule: one object, refilled).
 * Its pipeline-rate `samples` are resampled from the wire's `wireSamples` only when a listener first reads them
 * in that tick. A telephone call whose consumers all take the wire's own 8 kHz (the VAD, the local recogniser,
 * the level meters) never pays the 8 → 16 kHz resampler, the largest single cost of its tick. A listener that
 * reads them only on some ticks hears a seam where it skipped: the resampler's history is older audio.
 */
export class InboundFrameSource implements InboundFrame {
  index = 0;
  timestampMs = 0;
  kind: InboundFrameKind = 'silence';
  /** The tick's audio at the wire's rate, written by the stream before each `advance()`. */
  readonly wireSamples: Int16Array;
  private readonly resampler: Resampler | null;
  private readonly pipeline: Int16Array;
  /** Re-frames the resampler's output, which can differ from a frame by a sample per call. */
  private readonly queue: SampleQueue;
  private resampled = false;

  /** `wireFrameSamples`: one 20 ms frame at `wireRate` (the jitter buffer's frame). */
  constructor(wireRate: number, wireFrameSamples: number, resamplerQuality: number) {
    this.wireSamples = new Int16Array(wireFrameSamples);
    this.resampler = wireRate === PIPELINE_SAMPLE_RATE ? null : new Resampler(wireRate, PIPELINE_SAMPLE_RATE, resamplerQuality);
    // At the pipeline rate the wire's frame is the pipeline's.
    this.pipeline = this.resampler ? new Int16Array(PIPELINE_FRAME_SAMPLES) : this.wireSamples;
    this.queue = new SampleQueue(PIPELINE_FRAME_SAMPLES * 4);
  }

  /** 320 samples at 16 kHz, resampled on first read in a tick. */
  get samples(): Int16Array {
    if (!this.resampled) this.resample();
    return this.pipeline;
  }

  /** `wireSamples` hold a new tick's audio. */
  advance(index: number, kind: InboundFrameKind): void {
    this.index = index;
    this.timestampMs = index * FRAME_MS;
    this.kind = kind;
    this.resampled = this.resampler === null;
  }

  destroy(): void {
    this.resampler?.destroy();
  }

  private resample(): void {
    this.resampled = true;
    this.resampler!.processInto(this.wireSamples, this.queue);
    // While the filter delay fills (first frame) the tail is short: zero it, the array holds the last frame.
    const got = this.queue.pull(this.pipeline, PIPELINE_FRAME_SAMPLES);
    if (got < PIPELINE_FRAME_SAMPLES) this.pipeline.fill(0, got);
  }
}
