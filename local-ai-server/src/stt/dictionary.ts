// The words the pronunciation dictionary knows. A grammar naming an unknown word would be rejected as a
// whole, so phrase grammars are filtered against this set first.
import { readFileSync } from 'node:fs';

const cache = new Map<string, Set<string>>();

export function dictionaryWords(file: string): Set<string> {
  let words = cache.get(file);
  if (!words) {
    words = new Set();
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const end = line.indexOf(' ');
      if (end <= 0) continue;
      const word = line.slice(0, end);
      // alternates are listed as "word(2)"
      if (!word.endsWith(')')) words.add(word);
    }
    cache.set(file, words);
  }
  return words;
}
