// What the caller actually heard of an agent sentence cut off by a barge-in.

/**
 * The words of `text` heard when `fraction` (0..1) of its audio played. Speech time is taken as
 * proportional to characters; a word counts as heard only when the cut falls after its end.
 */
export function heardPrefix(text: string, fraction: number): string {
  if (fraction >= 1) return text;
  if (fraction <= 0) return '';
  const pos = Math.floor(text.length * fraction);
  if (pos >= text.length) return text;
  // The cut is inside a word when the character at the cut and the one before are both non-space.
  const head = /\S/.test(text[pos]) && pos > 0 && /\S/.test(text[pos - 1]) ? text.slice(0, pos).replace(/\S+$/, '') : text.slice(0, pos);
  return head.trimEnd();
}

/** Words of an utterance, lowercased, punctuation removed (hyphens and apostrophes kept). */
export function wordsOf(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}'\s-]/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);
}
