// Synthesisers open every sentence with ~200 ms of silence (flite: 180–230 ms). At the start of a reply that
// is pure waiting for the caller, so it is cut to a short, natural onset before the audio leaves the server.
import type { PcmAudio } from '../audio/wav.ts';

/** Silence kept before the first sound: enough not to clip an onset, too short to hear as a wait. */
const KEEP_MS = 20;
/** Samples quieter than this (≈ −40 dBFS) are silence; a voice onset is far above it. */
const SILENT = 300;

/** The audio without its leading silence beyond KEEP_MS (a view, no copy); all-silent audio is kept as is. */
export function trimLeadIn(audio: PcmAudio): PcmAudio {
  const { samples, sampleRate } = audio;
  let first = 0;
  while (first < samples.length && Math.abs(samples[first]!) < SILENT) first++;
  if (first === samples.length) return audio;
  const start = Math.max(0, first - Math.round((KEEP_MS * sampleRate) / 1000));
  return start === 0 ? audio : { sampleRate, samples: samples.subarray(start) };
}
