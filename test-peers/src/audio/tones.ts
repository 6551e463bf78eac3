import { MIX_RATE } from './formats.ts';

/**
 * Tones the peer plays for `tone:` URIs and ringing indications, after Asterisk's indications.conf
 * (us zone): ring = 440+480 Hz, 2 s on / 4 s off; busy = 480+620 Hz 0.5/0.5; congestion = 480+620 Hz
 * 0.25/0.25; dial = 350+440 Hz continuous.
 */
export interface ToneSpec {
  freqs: number[];
  onMs: number;
  offMs: number;
}

export const TONES: Record<string, ToneSpec> = {
  ring: { freqs: [440, 480], onMs: 2000, offMs: 4000 },
  ringback: { freqs: [440, 480], onMs: 2000, offMs: 4000 },
  busy: { freqs: [480, 620], onMs: 500, offMs: 500 },
  congestion: { freqs: [480, 620], onMs: 250, offMs: 250 },
  dial: { freqs: [350, 440], onMs: 1000, offMs: 0 },
};

/** One cadence cycle of a tone at the mixing rate (about -13 dBFS per component). */
export function toneCycle(spec: ToneSpec): Int16Array {
  const on = Math.round((spec.onMs * MIX_RATE) / 1000);
  const off = Math.round((spec.offMs * MIX_RATE) / 1000);
  const out = new Int16Array(on + off);
  const amp = 7000;
  for (let i = 0; i < on; i++) {
    let v = 0;
    for (const f of spec.freqs) v += Math.sin((2 * Math.PI * f * i) / MIX_RATE);
    out[i] = Math.round(amp * v);
  }
  return out;
}
