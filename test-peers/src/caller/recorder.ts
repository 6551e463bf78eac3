import { FRAME_SAMPLES, MIX_RATE } from '../audio/formats.ts';
import { writeWav } from '../audio/wav.ts';

/** What the caller hears, one 20 ms frame per tick at its real position; silence where nothing came. */
export class Recorder {
  private data = new Int16Array(MIX_RATE * 60);
  private length = 0;

  append(frame: Int16Array | null): void {
    if (this.length + FRAME_SAMPLES > this.data.length) {
      const bigger = new Int16Array(this.data.length * 2);
      bigger.set(this.data.subarray(0, this.length));
      this.data = bigger;
    }
    if (frame) this.data.set(frame.subarray(0, FRAME_SAMPLES), this.length);
    else this.data.fill(0, this.length, this.length + FRAME_SAMPLES);
    this.length += FRAME_SAMPLES;
  }

  samples(): Int16Array {
    return this.data.slice(0, this.length);
  }

  writeWav(path: string): void {
    writeWav(path, this.samples(), MIX_RATE);
  }
}
