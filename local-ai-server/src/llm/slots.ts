// Reading slot values out of recognised words: digit strings (with the homophones a recognizer produces for
// digits) and yes/no answers.
import { NO_WORDS, YES_WORDS } from '../stt/grammars.ts';
import { tokenize, wordSimilarity } from './fuzzy.ts';

const DIGITS: Record<string, string> = {
  zero: '0', oh: '0', o: '0', one: '1', won: '1', two: '2', to: '2', too: '2', three: '3', four: '4', for: '4',
  fore: '4', five: '5', six: '6', seven: '7', eight: '8', ate: '8', nine: '9',
};

/** Digits spoken as words or digits, in order; other words are skipped. */
export function extractDigits(text: string): string {
  let out = '';
  for (const word of tokenize(text)) {
    if (/^[0-9]+$/.test(word)) out += word;
    else if (DIGITS[word] !== undefined) out += DIGITS[word];
  }
  return out;
}

export function extractYesNo(text: string): 'yes' | 'no' | undefined {
  const words = tokenize(text);
  const score = (set: readonly string[]): number =>
    Math.max(0, ...words.map((w) => Math.max(...set.map((s) => wordSimilarity(w, s)))));
  const yes = score(YES_WORDS);
  const no = score(NO_WORDS);
  if (Math.max(yes, no) < 0.85 || yes === no) return undefined;
  return yes > no ? 'yes' : 'no';
}

/** Digits read back one by one ("1 2 3 4" is spoken as single digits, not "one thousand ..."). */
export function speakDigits(digits: string): string {
  return digits.split('').join(' ');
}
