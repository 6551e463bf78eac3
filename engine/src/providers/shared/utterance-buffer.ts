import { carriesSound } from './pcm.ts';

/** Audio kept from before the first sound, so the first syllable is not clipped (ms). */
const PREROLL_MS = 300;
/** Quiet after sound with no end of turn: it was noise, not a turn; the buffer starts over (ms). */
const ABANDON_QUIET_MS = 3000;
/** Longest utterance kept; beyond it the oldest audio goes (a caller does not talk for a minute at once). */
const MAX_UTTERANCE_MS = 30_000;

/**
 * The caller's current utterance, for recognisers that take whole utterances: idle until a frame carries
 * sound (with pre-roll), then everything until `take()` at the end of the turn. Bounded both ways.
 */
export class UtteranceBuffer {
  private frames: Int16Array[] = [];
  private samples = 0;
  private speaking = false;
  private quietSamples = 0;
  private readonly preroll: number;
  private readonly abandonAfter: number;
  private readonly max: number;

  constructor(readonly sampleRate: number) {
    this.preroll = (sampleRate * PREROLL_MS) / 1000;
    this.abandonAfter = (sampleRate * ABANDON_QUIET_MS) / 1000;
    this.max = (sampleRate * MAX_UTTERANCE_MS) / 1000;
  }

  /** Keeps a copy of `pcm` (the caller may reuse its array). */
  push(pcm: Int16Array): void {
    if (carriesSound(pcm)) {
      this.speaking = true;
      this.quietSamples = 0;
    } else if (this.speaking && (this.quietSamples += pcm.length) >= this.abandonAfter) {
      this.speaking = false;
      this.quietSamples = 0;
    }
    this.frames.push(pcm.slice());
    this.samples += pcm.length;
    const limit = this.speaking ? this.max : this.preroll;
    while (this.samples - this.frames[0]!.length >= limit) this.samples -= this.frames.shift()!.length;
  }

  /** The utterance so far (null when nothing but quiet was heard), and a fresh start. */
  take(): Int16Array | null {
    const heard = this.speaking;
    const frames = this.frames;
    const total = this.samples;
    this.frames = [];
    this.samples = 0;
    this.speaking = false;
    this.quietSamples = 0;
    if (!heard) return null;
    const out = new Int16Array(total);
    let at = 0;
    for (const f of frames) {
      out.set(f, at);
      at += f.length;
    }
    return out;
  }
}
