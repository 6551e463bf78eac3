import { sampleRateOf, type WireFormat } from '../audio/codec.ts';
import type { NativeAudio, WireAudio } from './types.ts';

/** How a provider names the call's wire format (Asterisk's `ulaw` is `mulaw`, every `slin*` is `linear16`). */
export function wireAudioOf(format: WireFormat): WireAudio {
  const sampleRate = sampleRateOf(format);
  if (format === 'ulaw') return { encoding: 'mulaw', sampleRate };
  if (format === 'alaw') return { encoding: 'alaw', sampleRate };
  return { encoding: 'linear16', sampleRate };
}

/** Whether a provider declaring `accepts` can be sent the wire's audio as it is. */
export function acceptsWire(accepts: NativeAudio | undefined, wire: WireAudio | undefined): wire is WireAudio {
  return wire !== undefined && accepts !== undefined && accepts.encodings.includes(wire.encoding) && accepts.sampleRates.includes(wire.sampleRate);
}
