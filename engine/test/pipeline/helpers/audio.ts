// Real speech for the tests: Debian's Asterisk prompts (8 kHz WAV) and espeak-ng for specific lines.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Resampler } from '../../../src/audio/resampler.ts';

export const PROMPTS = '/usr/share/asterisk/sounds/en_US_f_Allison';

/** Parses a PCM16 mono WAV. */
export function parseWav(buf: Buffer): { rate: number; samples: Int16Array } {
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV file');
  let off = 12;
  let rate = 0;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ') rate = buf.readUInt32LE(off + 12);
    if (id === 'data') {
      const n = Math.min(size, buf.length - off - 8) >> 1;
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = buf.readInt16LE(off + 8 + i * 2);
      return { rate, samples };
    }
    off += 8 + size + (size & 1);
  }
  throw new Error('WAV without data');
}

export function to16k(samples: Int16Array, rate: number): Int16Array {
  if (rate === 16000) return samples;
  const r = new Resampler(rate, 16000);
  const out = r.process(samples);
  r.destroy();
  return out;
}

/** An Asterisk prompt (e.g. 'vm-goodbye') at 16 kHz. */
export function prompt(name: string): Int16Array {
  const { rate, samples } = parseWav(readFileSync(`${PROMPTS}/${name}.wav`));
  return to16k(samples, rate);
}

/** A line spoken by espeak-ng, at 16 kHz. */
export function speak(text: string): Int16Array {
  const wav = execFileSync('espeak-ng', ['-v', 'en-us', '-s', '170', '--stdout', text]);
  const { rate, samples } = parseWav(wav);
  return to16k(samples, rate);
}

export function silence(ms: number): Int16Array {
  return new Int16Array((16000 * ms) / 1000);
}

export function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** An Asterisk prompt at its native 8 kHz (what a PCMU caller sends). */
export function prompt8k(name: string): Int16Array {
  return parseWav(readFileSync(`${PROMPTS}/${name}.wav`)).samples;
}

/** A line spoken by espeak-ng, at 8 kHz. */
export function speak8k(text: string): Int16Array {
  const wav = execFileSync('espeak-ng', ['-v', 'en-us', '-s', '170', '--stdout', text]);
  const { rate, samples } = parseWav(wav);
  const r = new Resampler(rate, 8000);
  const out = r.process(samples);
  r.destroy();
  return out;
}
