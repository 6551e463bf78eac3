// Per-turn grammars: when the dialogue knows the answer set (digits, yes/no, menu words) the decoder searches
// only those words, which turns a ~50 % open-vocabulary error rate into near-perfect recognition.
import type { Grammar } from '../protocol.ts';

export const DIGIT_WORDS = ['zero', 'oh', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
export const YES_WORDS = ['yes', 'yeah', 'yep', 'correct', 'right', 'sure', 'okay'];
export const NO_WORDS = ['no', 'nope', 'wrong', 'not'];

function jsgf(rule: string, extra = ''): string {
  return `#JSGF V1.0;\ngrammar turn;\npublic <turn> = ${rule};\n${extra}`;
}

/** Phrases are lower-cased word sequences; words the pronunciation dictionary lacks are dropped by the caller. */
export function grammarToJsgf(grammar: Exclude<Grammar, null>): string {
  if ('builtin' in grammar) {
    const digit = `<digit> = ${DIGIT_WORDS.join(' | ')};\n`;
    switch (grammar.builtin) {
      case 'digits':
        return jsgf('<digit>+', digit);
      case 'digit':
        return jsgf('<digit>', digit);
      case 'yesno':
        return jsgf([...YES_WORDS, ...NO_WORDS].join(' | '));
    }
  }
  const phrases = [...new Set(grammar.phrases.map((p) => p.toLowerCase().trim().replace(/\s+/g, ' ')))];
  return jsgf(phrases.join(' | '));
}
