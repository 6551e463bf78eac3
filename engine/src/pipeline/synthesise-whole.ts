// A whole text as one stretch of audio at `rate`, from a TTS provider's chunks at whatever rate it returns them:
// the call simulator's caller speaks with it.
import { Resampler } from '@ai-agent/common/audio';
import type { TtsProvider } from '../providers/types.ts';

export async function synthesiseWhole(tts: TtsProvider, text: string, voice: string, rate: number, signal: AbortSignal): Promise<Int16Array> {
  const parts: Int16Array[] = [];
  const resamplers = new Map<number, Resampler>();
  try {
    for await (const chunk of tts.synthesize(text, { voice, sampleRate: rate, signal })) {
      if (chunk.sampleRate === rate) {
        parts.push(chunk.pcm.slice());
        continue;
      }
      let resampler = resamplers.get(chunk.sampleRate);
      if (!resampler) resamplers.set(chunk.sampleRate, (resampler = new Resampler(chunk.sampleRate, rate)));
      parts.push(resampler.process(chunk.pcm).slice()); // a view of its scratch buffer
    }
  } finally {
    for (const r of resamplers.values()) r.destroy();
  }
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
