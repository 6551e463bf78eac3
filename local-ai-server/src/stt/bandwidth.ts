// A 16 kHz stream is not always wideband speech: Asterisk sends a narrowband caller on a slin16 leg as 8 kHz
// audio upsampled, with nothing above 4 kHz, and the wideband recogniser decodes that as garbage. So the
// treatment of a 16 kHz stream is chosen from the energy above the telephone band in its first sound.
import { STT_RATE, type SttEngine, type SttEvents, type SttOptions, type SttSession } from './types.ts';

/** Above the telephone band and the resampler's transition band, below which real speech also has energy. */
const CUTOFF_HZ = 4600;
const TAP_COUNT = 63;
/** Blocks of 10 ms: long enough for a stable energy, short enough to skip the silence around speech. */
const BLOCK = STT_RATE / 100;
/** A block whose mean square is above this (≈ −55 dBFS) carries sound; quieter ones say nothing about the band. */
const SOUND_MEAN_SQUARE = 60 * 60;
/** Sound measured before deciding (60 ms): the recogniser starts about this much after the caller. */
const DECISION_SAMPLES = (STT_RATE * 60) / 1000;
/**
 * High-band share of the energy below which audio is narrowband (−66 dB). Measured on the first 60 ms of
 * sound: Asterisk's 8 kHz Allison prompts upsampled by Speex (as Asterisk does; also after µ-law, and 6 dB
 * quieter) stay under −100 dB, upsampled by sox under −75 dB; 16 kHz speech (flite slt, rms, awb, kal16 and
 * espeak-ng, 60 texts each) is above −57 dB.
 */
const NARROWBAND_SHARE = 10 ** (-66 / 10);
/** Audio kept while undecided (1 s): the recogniser still gets the lead-in before the first sound. */
const MAX_PENDING_SAMPLES = STT_RATE;

/** Blackman-windowed sinc high-pass at CUTOFF_HZ (≈ 74 dB stop-band rejection). */
function highPassTaps(): Float64Array {
  const taps = new Float64Array(TAP_COUNT);
  const mid = (TAP_COUNT - 1) / 2;
  const fc = CUTOFF_HZ / STT_RATE;
  for (let i = 0; i < TAP_COUNT; i++) {
    const k = i - mid;
    const lowPass = k === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * k) / (Math.PI * k);
    const window = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (TAP_COUNT - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (TAP_COUNT - 1));
    taps[i] = ((k === 0 ? 1 : 0) - lowPass) * window;
  }
  return taps;
}

const TAPS = highPassTaps();
/**
 * High-band energy per sample that 16-bit rounding alone leaves (twice that of white rounding noise through
 * the filter): upsampled audio is rounded at 16 kHz, and in quiet sound this noise would pass for a high band.
 */
const ROUNDING_FLOOR = (2 * TAPS.reduce((sum, t) => sum + t * t, 0)) / 12;

/** Measures how much of a stream's sound lies above the telephone band, block by block, until it can tell. */
class BandProbe {
  /** The filter's history (TAP_COUNT − 1 samples) followed by the block being filled. */
  private readonly buf = new Float64Array(TAP_COUNT - 1 + BLOCK);
  private filled = 0;
  /**
   * The first block only fills the filter's history: a stream can start mid-word (a client that opens one per
   * utterance), and the step from an empty history into loud audio would read as high-band energy.
   */
  private primed = false;
  private high = 0;
  private total = 0;
  private sound = 0;

  /** Feeds 16 kHz audio; returns true (narrowband) or false once enough sound has been measured. */
  push(pcm: Int16Array): boolean | undefined {
    for (let i = 0; i < pcm.length; i++) {
      this.buf[TAP_COUNT - 1 + this.filled++] = pcm[i]!;
      if (this.filled === BLOCK) {
        this.measureBlock();
        if (this.sound >= DECISION_SAMPLES) return this.narrowband();
      }
    }
    return undefined;
  }

  /** The verdict from the sound measured so far; without any, wideband (there is nothing to compensate). */
  narrowband(): boolean {
    return this.total > 0 && this.high < this.total * NARROWBAND_SHARE;
  }

  private measureBlock(): void {
    const buf = this.buf;
    const start = TAP_COUNT - 1;
    let energy = 0;
    for (let i = start; i < buf.length; i++) energy += buf[i]! * buf[i]!;
    if (this.primed && energy > SOUND_MEAN_SQUARE * BLOCK) {
      let high = 0;
      for (let n = start; n < buf.length; n++) {
        let y = 0;
        for (let k = 0; k < TAP_COUNT; k++) y += TAPS[k]! * buf[n - k]!;
        high += y * y;
      }
      this.high += Math.max(0, high - ROUNDING_FLOOR * BLOCK);
      this.total += energy;
      this.sound += BLOCK;
    }
    buf.copyWithin(0, BLOCK);
    this.filled = 0;
    this.primed = true;
  }
}

/**
 * A recognition session for 16 kHz input whose band is not known: audio is held until the probe has heard
 * enough sound, then the engine opens with the matching treatment and gets the held audio at once (it
 * decodes faster than real time, so the final is not delayed; only speech start and partials are).
 */
export function openByBandwidth(engine: SttEngine, options: Omit<SttOptions, 'narrowband'>, events: SttEvents): SttSession {
  const probe = new BandProbe();
  let grammar = options.grammar;
  let session: SttSession | undefined;
  let aborted = false;
  let pending: Int16Array[] = [];
  let pendingSamples = 0;

  const open = (narrowband: boolean): SttSession => {
    const opened = engine.open({ ...options, grammar, narrowband }, events);
    for (const pcm of pending) opened.write(pcm);
    pending = [];
    session = opened;
    return opened;
  };

  return {
    write(pcm) {
      if (session) return session.write(pcm);
      if (aborted) return;
      pending.push(pcm.slice());
      pendingSamples += pcm.length;
      while (pendingSamples > MAX_PENDING_SAMPLES && pending.length > 1) pendingSamples -= pending.shift()!.length;
      const narrowband = probe.push(pcm);
      if (narrowband !== undefined) open(narrowband);
    },
    setGrammar(next) {
      if (session) session.setGrammar(next);
      else grammar = next;
    },
    end() {
      if (!aborted) (session ?? open(probe.narrowband())).end();
    },
    abort() {
      aborted = true;
      pending = [];
      session?.abort();
    },
  };
}
