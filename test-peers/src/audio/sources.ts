import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MIX_RATE } from './formats.ts';
import { TONES, toneCycle } from './tones.ts';
import { readWav } from './wav.ts';

const run = promisify(execFile);

/**
 * Where caller audio comes from. A string reference is one of:
 *   `sound:<name>`   an Asterisk prompt from the Debian package asterisk-core-sounds-en-wav
 *   `digits:<0-9*#>` the prompts digits/<d> one after another (as SayDigits)
 *   `tts:<text>`     speech synthesised by espeak-ng (or flite), converted with sox
 *   `tone:<name>`    one cadence cycle of ring, busy, congestion or dial
 *   `silence:<ms>`   digital silence
 *   anything else    a WAV file path (converted with sox when it is not 8 kHz mono 16-bit)
 * Conversion happens once at setup and is cached; nothing is resampled per packet.
 */
export type AudioRef = string | Int16Array;

/** Debian's install path for the prompts (package asterisk-core-sounds-en-wav); override with ASTERISK_SOUNDS_DIR. */
export const DEFAULT_SOUNDS_DIR = '/usr/share/asterisk/sounds/en_US_f_Allison';

export function soundsDir(): string {
  return process.env.ASTERISK_SOUNDS_DIR ?? DEFAULT_SOUNDS_DIR;
}

export class AudioSourceError extends Error {}

const cacheDir = join(tmpdir(), 'ai-agent-test-peer-audio');
const memo = new Map<string, Promise<Int16Array>>();

export function soundPath(name: string): string | null {
  if (!/^[A-Za-z0-9_\-/]+$/.test(name) || name.includes('..')) return null;
  const path = join(soundsDir(), `${name}.wav`);
  return existsSync(path) ? path : null;
}

/** Resolves a reference to 8 kHz mono samples. Results are memoised per process. */
export function loadAudio(ref: AudioRef): Promise<Int16Array> {
  if (typeof ref !== 'string') return Promise.resolve(ref);
  let pending = memo.get(ref);
  if (!pending) {
    pending = resolve(ref);
    memo.set(ref, pending);
    pending.catch(() => memo.delete(ref));
  }
  return pending;
}

async function resolve(ref: string): Promise<Int16Array> {
  const colon = ref.indexOf(':');
  const scheme = colon > 0 ? ref.slice(0, colon) : '';
  const rest = colon > 0 ? ref.slice(colon + 1) : ref;
  switch (scheme) {
    case 'sound': {
      const path = soundPath(rest);
      if (!path) throw new AudioSourceError(`prompt not found: ${rest} (is asterisk-core-sounds-en-wav installed?)`);
      return loadWavFile(path);
    }
    case 'digits': {
      const parts: Int16Array[] = [];
      for (const d of rest) {
        const name = d === '*' ? 'digits/star' : d === '#' ? 'digits/pound' : `digits/${d}`;
        parts.push(await loadAudio(`sound:${name}`));
      }
      return concat(parts);
    }
    case 'tts':
      return synthesise(rest);
    case 'tone': {
      const spec = TONES[rest.split(';')[0]];
      if (!spec) throw new AudioSourceError(`unknown tone: ${rest}`);
      return toneCycle(spec);
    }
    case 'silence':
      return new Int16Array(Math.round((Number(rest) * MIX_RATE) / 1000));
    default:
      return loadWavFile(ref);
  }
}

export function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function loadWavFile(path: string): Promise<Int16Array> {
  if (!existsSync(path)) throw new AudioSourceError(`audio file not found: ${path}`);
  try {
    const wav = readWav(path);
    if (wav.sampleRate === MIX_RATE && wav.channels === 1) return wav.samples;
  } catch {
    // Not a plain 16-bit WAV: let sox convert it below.
  }
  const out = cached(`file:${path}`);
  if (!existsSync(out)) await convert(path, out);
  return readWav(out).samples;
}

function cached(key: string): string {
  mkdirSync(cacheDir, { recursive: true });
  return join(cacheDir, `${createHash('sha256').update(key).digest('hex').slice(0, 24)}.wav`);
}

async function convert(input: string, output: string): Promise<void> {
  const tmp = `${output}.${process.pid}.tmp.wav`;
  try {
    await run('sox', [input, '-r', String(MIX_RATE), '-c', '1', '-b', '16', '-e', 'signed-integer', tmp]);
  } catch (err) {
    throw new AudioSourceError(`sox could not convert ${input}: ${(err as Error).message}`);
  }
  renameSync(tmp, output);
}

/** espeak-ng first (clear, fast), flite as a fallback; both render at their own rate, sox brings it to 8 kHz. */
async function synthesise(text: string): Promise<Int16Array> {
  const out = cached(`tts:flite-rms:${text}`);
  if (!existsSync(out)) {
    const raw = `${out}.${process.pid}.raw.wav`;
    // flite's natural-speech "rms" voice first: a formant voice such as espeak-ng's is far from any human
    // caller and trips speech recognisers that a person would not.
    try {
      await run('flite', ['-voice', 'rms', '-t', text, '-o', raw]);
    } catch {
      try {
        await run('espeak-ng', ['-v', 'en-us', '-s', '160', '-w', raw, text]);
      } catch (err) {
        throw new AudioSourceError(`neither flite nor espeak-ng could synthesise speech: ${(err as Error).message}`);
      }
    }
    await convert(raw, out);
    rmSync(raw, { force: true });
  }
  return readWav(out).samples;
}
