// Whether a caller who has gone quiet has finished their turn, judged from what they said so far. A short
// pause after a complete request ends the turn quickly; a pause inside a digit string, after a word that
// cannot end an English sentence, or after a filler gets the longer wait.
import type { SttGrammar } from '../providers/types.ts';

/** Words after which an English utterance is almost never complete (articles, conjunctions, fillers, …). */
const CONTINUES = new Set([
  'a', 'an', 'the', 'and', 'or', 'but', 'so', 'because', 'if', 'then', 'than', 'that', 'to', 'of', 'for', 'with',
  'from', 'in', 'on', 'at', 'by', 'about', 'into', 'my', 'your', 'our', 'their', 'his', 'her', 'its', 'is', 'are',
  'was', 'were', 'am', 'be', "i'm", "it's", 'i', 'we', "we're", 'you', 'can', 'could', 'would', 'will', 'should',
  'like', 'um', 'uh', 'er', 'erm', 'hmm', 'mm', 'ah', 'oh',
]);

/** The responder asked for a number: callers read those out with pauses. */
export function expectsDigits(expecting: SttGrammar): boolean {
  return expecting !== null && 'builtin' in expecting && (expecting.builtin === 'digits' || expecting.builtin === 'digit');
}

const DIGIT_WORDS = new Set(['zero', 'oh', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']);

/**
 * True when the caller probably has more to say: the dialogue expects digits (numbers are read out with
 * pauses), the text so far ends in digits, or its last word cannot end a sentence. `language` limits the
 * word lists to English; other languages only get the digit rule.
 */
export function looksUnfinished(text: string, expecting: SttGrammar, language: string): boolean {
  if (expectsDigits(expecting)) return true;
  const words = text.toLowerCase().match(/[a-z0-9']+/g);
  if (!words) return false;
  const last = words[words.length - 1]!;
  if (/^\d+$/.test(last)) return true;
  if (!language.toLowerCase().startsWith('en')) return false;
  return DIGIT_WORDS.has(last) || CONTINUES.has(last);
}
