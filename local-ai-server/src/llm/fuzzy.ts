// Word and phrase similarity that tolerates recognition errors: exact words score 1, words that sound alike
// (same Double Metaphone key) score high, near spellings (small edit distance) score by how near they are.
import { doubleMetaphone } from 'double-metaphone';
import { editDistance } from '../eval/wer.ts';

const STOP_WORDS = new Set(
  'a an the i me my you your to of and or is are am be can could would will please do does it its this that for on in at with'.split(' '),
);

export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9' ]+/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
}

export function contentWords(words: readonly string[]): string[] {
  const content = words.filter((w) => !STOP_WORDS.has(w));
  return content.length > 0 ? content : [...words];
}

const phoneticCache = new Map<string, readonly [string, string]>();

function phonetic(word: string): readonly [string, string] {
  let key = phoneticCache.get(word);
  if (!key) {
    key = doubleMetaphone(word);
    if (phoneticCache.size > 50_000) phoneticCache.clear();
    phoneticCache.set(word, key);
  }
  return key;
}

export function wordSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  const [pa, sa] = phonetic(a);
  const [pb, sb] = phonetic(b);
  // Short keys ("T" for to/two/tea) say little, so they only count with a close spelling.
  const soundAlike = pa.length >= 2 && (pa === pb || pa === sb || sa === pb);
  const ratio = 1 - editDistance([...a], [...b]) / Math.max(a.length, b.length);
  if (soundAlike) return Math.max(0.85, ratio);
  return ratio >= 0.75 ? ratio * 0.9 : 0;
}

/** Best alignment of a (multi-word) keyword anywhere in the utterance: mean word similarity, 0..1. */
export function phraseInUtterance(phrase: readonly string[], words: readonly string[]): number {
  let best = 0;
  for (let start = 0; start + phrase.length <= words.length; start++) {
    let sum = 0;
    for (let j = 0; j < phrase.length; j++) sum += wordSimilarity(phrase[j], words[start + j]);
    best = Math.max(best, sum / phrase.length);
  }
  return best;
}

/** Soft F1 between the content words of two word lists. */
export function softOverlap(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const best = (from: readonly string[], to: readonly string[]): number =>
    from.reduce((sum, w) => sum + Math.max(...to.map((t) => wordSimilarity(w, t))), 0) / from.length;
  const recall = best(a, b);
  const precision = best(b, a);
  return recall + precision === 0 ? 0 : (2 * recall * precision) / (recall + precision);
}
