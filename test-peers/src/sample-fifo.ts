import { FRAME_SAMPLES } from './audio/formats.ts';

/**
 * Audio received from the engine waiting to be mixed: a ring of samples read one 20 ms frame per tick.
 * Like the smoothing factory in Asterisk's softmix bridge it only yields whole frames, so a short last
 * packet waits for more. When the engine sends faster than real time the backlog is capped and the
 * oldest audio dropped (counted), because Asterisk does not buffer unboundedly either.
 */
export class SampleFifo {
  private readonly ring: Int16Array;
  private readonly frame = new Int16Array(FRAME_SAMPLES);
  private start = 0;
  private length = 0;
  droppedSamples = 0;

  constructor(maxMs = 1000) {
    this.ring = new Int16Array(Math.max(FRAME_SAMPLES * 2, Math.round(maxMs * 8)));
  }

  get available(): number {
    return this.length;
  }

  write(samples: Int16Array): void {
    const cap = this.ring.length;
    for (let i = 0; i < samples.length; i++) {
      if (this.length === cap) {
        this.start = (this.start + 1) % cap;
        this.length--;
        this.droppedSamples++;
      }
      this.ring[(this.start + this.length) % cap] = samples[i];
      this.length++;
    }
  }

  /** The next whole frame, or null. The returned array is reused on the next call. */
  readFrame(): Int16Array | null {
    if (this.length < FRAME_SAMPLES) return null;
    const cap = this.ring.length;
    for (let i = 0; i < FRAME_SAMPLES; i++) this.frame[i] = this.ring[(this.start + i) % cap];
    this.start = (this.start + FRAME_SAMPLES) % cap;
    this.length -= FRAME_SAMPLES;
    return this.frame;
  }

  clear(): void {
    this.start = 0;
    this.length = 0;
  }
}
