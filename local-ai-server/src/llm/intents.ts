// Picks the intent an utterance means. Keywords catch the one telling word in a garbled recognition
// ("i forgot my password him you help"), example phrases catch paraphrases; both are fuzzy.
import type { IntentConfig } from '../config.ts';
import { contentWords, phraseInUtterance, softOverlap, tokenize } from './fuzzy.ts';

interface CompiledIntent {
  intent: IntentConfig;
  keywords: string[][];
  examples: string[][];
}

export interface IntentMatch {
  intent: IntentConfig;
  score: number;
}

/** Keyword hits below this similarity are ignored: a keyword is meant to be heard, not guessed. */
const KEYWORD_FLOOR = 0.8;
/** A keyword alone is strong evidence but not as strong as a matching example. */
const KEYWORD_WEIGHT = 0.9;

export class IntentMatcher {
  private readonly compiled: CompiledIntent[];

  constructor(intents: readonly IntentConfig[]) {
    this.compiled = intents.map((intent) => ({
      intent,
      keywords: intent.keywords.map(tokenize).filter((k) => k.length > 0),
      examples: intent.examples.map((e) => contentWords(tokenize(e))),
    }));
  }

  /** All intents scored, best first. */
  rank(utterance: string): IntentMatch[] {
    const spoken = tokenize(utterance);
    if (spoken.length === 0) return [];
    // Recognizers split compounds ("pass word"): adjacent pairs joined are candidates too.
    const joined = spoken.slice(1).map((w, i) => spoken[i] + w);
    const words = [...spoken, ...joined];
    const content = contentWords(spoken);
    const contentJoined = [...content, ...joined];
    return this.compiled
      .map(({ intent, keywords, examples }) => {
        let score = 0;
        for (const k of keywords) {
          const s = phraseInUtterance(k, words);
          if (s >= KEYWORD_FLOOR) score = Math.max(score, s * KEYWORD_WEIGHT);
        }
        for (const e of examples) score = Math.max(score, softOverlap(e, content), softOverlap(e, contentJoined));
        return { intent, score };
      })
      .sort((a, b) => b.score - a.score);
  }

  best(utterance: string, threshold: number): IntentMatch | undefined {
    const top = this.rank(utterance)[0];
    return top && top.score >= threshold ? top : undefined;
  }
}
