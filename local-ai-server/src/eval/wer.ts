// Word error rate: word-level Levenshtein distance over reference length, after the normalisation the
// measurements in the README use (lower case, punctuation and hyphens removed).

export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[-_]/g, ' ')
    .replace(/[^a-z0-9' ]/g, ' ')
    .split(/\s+/)
    .filter((w) => w.length > 0 && w !== "'");
}

/** Edit distance between two token sequences (substitutions, insertions, deletions all cost 1). */
export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

export interface WerResult {
  errors: number;
  words: number;
  wer: number;
}

/** Corpus WER: total errors over total reference words (not a mean of per-sentence rates). */
export function corpusWer(pairs: ReadonlyArray<{ reference: string; hypothesis: string }>): WerResult {
  let errors = 0;
  let words = 0;
  for (const { reference, hypothesis } of pairs) {
    const ref = normalizeWords(reference);
    errors += editDistance(ref, normalizeWords(hypothesis));
    words += ref.length;
  }
  return { errors, words, wer: words === 0 ? 0 : errors / words };
}
