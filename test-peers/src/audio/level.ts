/**
 * What counts as "audio" on the wire. A frame is agent (or caller) audio when its RMS reaches
 * AUDIO_RMS_THRESHOLD: 200 of 32768, about -44 dBFS, far above G.711 idle noise (µ-law 0xFF/0x7F decode
 * to 0 and ±8) and below the quietest syllables of the Asterisk prompts and synthesised speech.
 */
export const AUDIO_RMS_THRESHOLD = 200;

export function rms(frame: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i] * frame[i];
  return frame.length === 0 ? 0 : Math.sqrt(sum / frame.length);
}

export function isAudible(frame: Int16Array): boolean {
  return rms(frame) >= AUDIO_RMS_THRESHOLD;
}
