// Converts a stream's incoming audio (8 kHz µ-law or 8/16 kHz slin) into 16 kHz PCM for the recognizer.
import { mulawDecode } from '@ai-agent/common/audio';
import { Resampler } from '../audio/resampler.ts';
import type { AudioEncoding } from '../protocol.ts';
import { STT_RATE } from './types.ts';

export class AudioInput {
  private decoded = new Int16Array(0);
  private converted = new Int16Array(0);

  private constructor(
    readonly encoding: AudioEncoding,
    private readonly resampler: Resampler | undefined,
  ) {}

  static create(encoding: AudioEncoding, sampleRate: number): AudioInput {
    const resampler = sampleRate === STT_RATE ? undefined : Resampler.create(sampleRate, STT_RATE);
    return new AudioInput(encoding, resampler);
  }

  /**
   * Returns 16 kHz PCM, or undefined for bytes that cannot be audio in this encoding (odd length for 16-bit
   * samples). The result is a view of a buffer reused by the next call: consume (copy) it before then.
   */
  convert(bytes: Uint8Array): Int16Array | undefined {
    let pcm: Int16Array;
    if (this.encoding === 'mulaw') {
      // The decode buffer is reused across frames: frames are the same size on a steady stream.
      if (this.decoded.length < bytes.length) this.decoded = new Int16Array(bytes.length);
      pcm = mulawDecode(bytes, this.decoded.subarray(0, bytes.length));
    } else {
      if (bytes.byteLength % 2 !== 0) return undefined;
      // Copied into an aligned buffer: a WebSocket payload after the id byte is at an odd offset.
      const samples = bytes.byteLength / 2;
      if (this.decoded.length < samples) this.decoded = new Int16Array(samples);
      new Uint8Array(this.decoded.buffer, 0, bytes.byteLength).set(bytes);
      pcm = this.decoded.subarray(0, samples);
    }
    if (!this.resampler) return pcm;
    const needed = this.resampler.outputLength(pcm.length);
    if (this.converted.length < needed) this.converted = new Int16Array(needed);
    return this.resampler.process(pcm, this.converted);
  }

  close(): void {
    this.resampler?.close();
  }
}
