// Converts synthesized PCM into what the client asked for (rate and encoding). One converter per synthesis
// stream keeps resampler state across sentences.
import { mulawEncode } from '@ai-agent/common/audio';
import { Resampler } from './resampler.ts';
import type { AudioEncoding } from '../protocol.ts';
import type { PcmAudio } from './wav.ts';

export class AudioOutput {
  private resampler: Resampler | undefined;

  constructor(readonly encoding: AudioEncoding, readonly sampleRate: number) {}

  convert(audio: PcmAudio): Uint8Array {
    let pcm = audio.samples;
    if (audio.sampleRate !== this.sampleRate) {
      if (!this.resampler || this.resampler.inRate !== audio.sampleRate) {
        this.resampler?.close();
        this.resampler = Resampler.create(audio.sampleRate, this.sampleRate);
      }
      // process() returns a view its next call reuses; the bytes leave asynchronously, so keep a copy.
      pcm = this.resampler.process(pcm).slice();
    }
    if (this.encoding === 'mulaw') return mulawEncode(pcm);
    return new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  }

  close(): void {
    this.resampler?.close();
    this.resampler = undefined;
  }
}
