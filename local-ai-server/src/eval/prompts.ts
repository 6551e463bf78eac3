// A fixed evaluation set of real telephone prompts: Debian's asterisk-core-sounds-en-wav recordings (8 kHz,
// one studio voice) with the reference texts that ship in asterisk-core-sounds-en. Used by the tests and the
// benchmark so both measure the same thing.
//
// Two disjoint sets: the test set (evaluationSet(TEST_SET_SIZE)) reports accuracy; recognition settings are
// chosen on the tuning set (tuningSet(), every other prompt of 5+ words) only, and the channel transform's
// training texts leave the test texts out, so the test figure is not flattered by tuning.
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

function referenceFileOf(source: PromptSource): string {
  return source.referenceFile ?? process.env.ASTERISK_SOUNDS_TEXT ?? DEFAULT_REFERENCE_FILE;
}

const isPlainWords = (text: string): boolean => !/[0-9[\]]/.test(text);

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

/** Every reference text that is plain words (no digits, no "[tone]" descriptions), recording or not. */
export function referenceTexts(source: PromptSource = {}): string[] {
  return [...readReferences(referenceFileOf(source)).values()].filter(isPlainWords);
}

/** Prompts whose text is plain words (no digits, no "[tone]" descriptions) and whose WAV exists. */
export function loadPrompts(source: PromptSource = {}): Prompt[] {
  const soundsDir = source.soundsDir ?? process.env.ASTERISK_SOUNDS_DIR ?? DEFAULT_SOUNDS_DIR;
  const out: Prompt[] = [];
  for (const [name, text] of readReferences(referenceFileOf(source))) {
    if (!isPlainWords(text)) continue;
    const file = join(soundsDir, `${name}.wav`);
    if (existsSync(file)) out.push({ name, file, text });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

export const TEST_SET_SIZE = 30;
const MIN_WORDS = 5;

const longPrompts = (minWords: number, source: PromptSource): Prompt[] =>
  loadPrompts(source).filter((p) => p.text.split(/\s+/).length >= minWords);

/** A deterministic subset: every prompt with at least `minWords` words, spread evenly over the sorted list. */
export function evaluationSet(count: number, minWords = MIN_WORDS, source: PromptSource = {}): Prompt[] {
  const all = longPrompts(minWords, source);
  if (all.length <= count) return all;
  const step = all.length / count;
  return Array.from({ length: count }, (_, i) => all[Math.floor(i * step)]);
}

/** The tuning set: every prompt of 5+ words that is not in the test set (130 with Debian's sounds 1.6.1). */
export function tuningSet(source: PromptSource = {}): Prompt[] {
  const test = new Set(evaluationSet(TEST_SET_SIZE, MIN_WORDS, source).map((p) => p.name));
  return longPrompts(MIN_WORDS, source).filter((p) => !test.has(p.name));
}
