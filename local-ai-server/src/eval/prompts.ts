// Fixed evaluation sets of real telephone prompts: Debian's asterisk-core-sounds-en-wav recordings (8 kHz,
// one studio voice) with the reference texts that ship in asterisk-core-sounds-en. Used by the tests and the
// benchmark so both measure the same thing.
//
// Two disjoint sets: the *test* set (evaluationSet(30)) reports accuracy; the *tuning* set (tuningSet()) is
// the only one any recognition setting may be chosen on, so the test figure is not flattered by tuning.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export const DEFAULT_SOUNDS_DIR = '/usr/share/asterisk/sounds/en_US_f_Allison';
export const DEFAULT_REFERENCE_FILE = '/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz';

export interface Prompt {
  name: string;
  file: string;
  text: string;
}

export interface PromptSource {
  soundsDir?: string;
  referenceFile?: string;
}

function readReferences(file: string): Map<string, string> {
  const raw = readFileSync(file);
  const text = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  const refs = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_/-]+):\s*(.+)$/.exec(line.trim());
    if (m) refs.set(m[1], m[2].trim());
  }
  return refs;
}

/** Prompts whose text is plain words (no digits, no "[tone]" descriptions) and whose WAV exists. */
export function loadPrompts(source: PromptSource = {}): Prompt[] {
  const soundsDir = source.soundsDir ?? process.env.ASTERISK_SOUNDS_DIR ?? DEFAULT_SOUNDS_DIR;
  const referenceFile = source.referenceFile ?? process.env.ASTERISK_SOUNDS_TEXT ?? DEFAULT_REFERENCE_FILE;
  const out: Prompt[] = [];
  for (const [name, text] of readReferences(referenceFile)) {
    if (/[0-9[\]]/.test(text)) continue;
    const file = join(soundsDir, `${name}.wav`);
    if (existsSync(file)) out.push({ name, file, text });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

export const TEST_SET_SIZE = 30;
export const TUNING_SET_SIZE = 50;
const MIN_WORDS = 5;

function spread<T>(items: T[], count: number): T[] {
  if (items.length <= count) return items;
  const step = items.length / count;
  return Array.from({ length: count }, (_, i) => items[Math.floor(i * step)]);
}

function longPrompts(minWords: number, source: PromptSource): Prompt[] {
  return loadPrompts(source).filter((p) => p.text.split(/\s+/).length >= minWords);
}

/**
 * A deterministic subset: `count` prompts of at least `minWords` words, spread evenly over the name-sorted
 * list. evaluationSet(30) is the test set.
 */
export function evaluationSet(count: number, minWords = MIN_WORDS, source: PromptSource = {}): Prompt[] {
  return spread(longPrompts(minWords, source), count);
}

/**
 * The tuning set: `count` prompts of at least 5 words that are not in the test set, spread evenly over the
 * name-sorted remainder (130 prompts with Debian's 1.6.1 sounds, so every 2.6th one).
 */
export function tuningSet(count = TUNING_SET_SIZE, source: PromptSource = {}): Prompt[] {
  const test = new Set(evaluationSet(TEST_SET_SIZE, MIN_WORDS, source).map((p) => p.name));
  return spread(longPrompts(MIN_WORDS, source).filter((p) => !test.has(p.name)), count);
}
