import { MIX_RATE } from './formats.ts';

/**
 * The peer's music on hold (every musiconhold.conf class plays it): an arpeggio of pure notes, 250 ms each, so
 * a test can tell it from ringback (440+480 Hz) and from speech by the notes' share of the energy.
 */
export const HOLD_MUSIC_NOTES_HZ = [523.25, 659.25, 783.99, 659.25] as const;
const NOTE_MS = 250;
/** Fade in and out of each note, so note changes do not click. */
const FADE_MS = 20;

let cycle: Int16Array | null = null;

/** One cycle of the hold music at the mixing rate (about -15 dBFS). */
export function holdMusicCycle(): Int16Array {
  if (cycle) return cycle;
  const noteSamples = Math.round((NOTE_MS * MIX_RATE) / 1000);
  const fade = Math.round((FADE_MS * MIX_RATE) / 1000);
  const out = new Int16Array(noteSamples * HOLD_MUSIC_NOTES_HZ.length);
  HOLD_MUSIC_NOTES_HZ.forEach((f, n) => {
    for (let i = 0; i < noteSamples; i++) {
      const envelope = Math.min(1, i / fade, (noteSamples - i) / fade);
      out[n * noteSamples + i] = Math.round(6000 * envelope * Math.sin((2 * Math.PI * f * i) / MIX_RATE));
    }
  });
  cycle = out;
  return out;
}
