import type { BargeInConfig } from '@ai-agent/common';
import { wordsOf } from './heard-text.ts';

export type BargeInVerdict = 'wait' | 'interrupt';

/**
 * Decides whether caller speech over the agent is an interruption or a backchannel/noise, from how long
 * the speech lasted (VAD) and what STT heard so far.
 */
export class BargeInPolicy {
  private readonly ignore: Set<string>;
  private readonly ignorePhrases: string[];

  constructor(private readonly config: BargeInConfig) {
    this.ignore = new Set(config.ignore_words.filter((w) => !w.includes(' ')).map((w) => w.toLowerCase()));
    this.ignorePhrases = config.ignore_words.filter((w) => w.includes(' ')).map((w) => ` ${w.toLowerCase()} `);
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  /** Speech over the agent long enough to pause it. */
  shouldPause(speechMs: number): boolean {
    return this.config.enabled && speechMs >= this.config.onset_ms;
  }

  judge(speechMs: number, transcript: string): BargeInVerdict {
    if (!this.config.enabled || speechMs < this.config.min_speech_ms) return 'wait';
    if (this.config.min_words === 0) return 'interrupt';
    if (this.meaningfulWords(transcript) >= this.config.min_words) return 'interrupt';
    return speechMs >= this.config.backchannel_max_ms ? 'interrupt' : 'wait';
  }

  /** A final transcript heard over the agent: does it interrupt (or is it only a backchannel)? */
  finalInterrupts(transcript: string): boolean {
    return this.config.enabled && this.meaningfulWords(transcript) >= Math.max(1, this.config.min_words);
  }

  /** Words that are not backchannels ("yeah", "mm-hm", …). */
  meaningfulWords(transcript: string): number {
    let text = ` ${wordsOf(transcript).join(' ')} `;
    for (const phrase of this.ignorePhrases) text = text.split(phrase).join(' ');
    return wordsOf(text).filter((w) => !this.ignore.has(w)).length;
  }
}
