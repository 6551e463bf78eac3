import { FRAME_SAMPLES } from './formats.ts';

/**
 * What counts as "audio" on the wire. A frame is agent (or caller) audio when its RMS reaches
 * AUDIO_RMS_THRESHOLD: 200 of 32768, about -44 dBFS, far above G.711 idle noise (µ-law 0xFF/0x7F decode
 * to 0 and ±8) and below the quietest syllables of the Asterisk prompts and synthesised speech.
 */
export const AUDIO_RMS_THRESHOLD = 200;

/** G.711 idle codes decode to 0 or ±8: a frame above this RMS carries some sound, audible or not. */
export const IDLE_RMS = 8;

export function rms(frame: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i] * frame[i];
  return frame.length === 0 ? 0 : Math.sqrt(sum / frame.length);
}

export function isAudible(frame: Int16Array): boolean {
  return rms(frame) >= AUDIO_RMS_THRESHOLD;
}

/**
 * The first and last 20 ms frames (indices, frames cut from sample 0) that are audible: where speech starts
 * and ends inside a recording that carries leading and trailing silence. Null when no frame is audible.
 */
export function voicedFrames(samples: Int16Array): { first: number; last: number } | null {
  let first = -1;
  let last = -1;
  for (let i = 0, f = 0; i < samples.length; i += FRAME_SAMPLES, f++) {
    if (!isAudible(samples.subarray(i, i + FRAME_SAMPLES))) continue;
    if (first < 0) first = f;
    last = f;
  }
  return first < 0 ? null : { first, last };
}
