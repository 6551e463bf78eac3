// The server's resampling policy on the shared Speex wrapper: Speex's VoIP quality (5), which the recognizer's
// channel transform was built with, and no filter-delay zeros at the start of an utterance.
import { Resampler as SpeexResampler } from '@ai-agent/common/audio';

const QUALITY = 5;

export class Resampler extends SpeexResampler {
  static create(inRate: number, outRate: number): Resampler {
    return new Resampler(inRate, outRate, QUALITY, { skipZeros: true });
  }

  /** Releases the WASM state; the server's streams close what they own. */
  close(): void {
    this.destroy();
  }
}
