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
 *   `tts:<text>`     speech synthesised by flite (or espeak-ng), converted with sox
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

/** One pending result per key and process (a failure is forgotten, so a later call tries again). */
function memoised(cache: Map<string, Promise<Int16Array>>, key: string, make: () => Promise<Int16Array>): Promise<Int16Array> {
  let pending = cache.get(key);
  if (!pending) {
    pending = make();
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  return pending;
}

/** Resolves a reference to 8 kHz mono samples. Results are memoised per process. */
export function loadAudio(ref: AudioRef): Promise<Int16Array> {
  return typeof ref === 'string' ? memoised(memo, ref, () => resolve(ref)) : Promise.resolve(ref);
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

/** A synthetic voice: `flite/<voice>` (rms, awb, slt, kal16) or `espeak-ng/<voice>` (en-us, en-gb-x-rp, …). */
export type CallerVoice = `flite/${string}` | `espeak-ng/${string}`;

let fliteVoices: Promise<string[]> | null = null;
const spoken = new Map<string, Promise<Int16Array>>();

async function render(voice: CallerVoice, text: string, file: string): Promise<void> {
  const name = voice.slice(voice.indexOf('/') + 1);
  if (voice.startsWith('espeak-ng/')) {
    await run('espeak-ng', ['-v', name, '-s', '160', '-w', file, text]);
    return;
  }
  // flite speaks an unknown voice name in its default voice without a word: check the name first.
  fliteVoices ??= run('flite', ['-lv']).then(({ stdout }) => stdout.replace(/^.*?:/, '').trim().split(/\s+/));
  if (!(await fliteVoices).includes(name)) throw new AudioSourceError(`flite has no voice ${name}`);
  await run('flite', ['-voice', name, '-t', text, '-o', file]);
}

/**
 * `text` spoken at 8 kHz (cached on disk). Without a voice: flite's natural-speech "rms" voice, espeak-ng
 * when flite is missing; a formant voice such as espeak-ng's is far from any human caller and trips speech
 * recognisers that a person would not. With a voice, that voice or an error.
 */
export function synthesise(text: string, voice?: CallerVoice): Promise<Int16Array> {
  const key = `tts:${voice ?? 'flite-rms'}:${text}`;
  // Two calls preparing the same words at once must not share temporary files.
  return memoised(spoken, key, () => speak(key, text, voice));
}

async function speak(key: string, text: string, voice?: CallerVoice): Promise<Int16Array> {
  const out = cached(key);
  if (!existsSync(out)) {
    const raw = `${out}.${process.pid}.raw.wav`;
    try {
      if (voice) await render(voice, text, raw);
      else await render('flite/rms', text, raw).catch(() => render('espeak-ng/en-us', text, raw));
    } catch (err) {
      throw new AudioSourceError(`${voice ?? 'neither flite nor espeak-ng'} could not synthesise speech: ${(err as Error).message}`);
    }
    await convert(raw, out);
    rmSync(raw, { force: true });
  }
  return readWav(out).samples;
}
