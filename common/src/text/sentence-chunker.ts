// Cuts streamed text into pieces TTS can speak while the rest is still arriving (the engine's LLM replies,
// the local AI server's synthesis input).

export interface ChunkerOptions {
  /** The first piece may end at a clause (, ; :) once it has this many words: first audio comes sooner. */
  firstClauseMinWords?: number;
  /** A piece never grows beyond this many characters; it is cut at the last space. */
  maxChars?: number;
}

const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'no', 'jr', 'sr', 'prof', 'inc', 'ltd', 'approx']);
const SENTENCE_END = /[.!?…]/;
const CLAUSE_END = /[,;:—]/;

/**
 * Incremental sentence splitter. `push()` returns the complete pieces found so far; `flush()` the rest.
 * A boundary is punctuation followed by whitespace (so "3.5" and "e.g." mid-word never split), except
 * after a known abbreviation or a single initial.
 */
export class SentenceChunker {
  private buffer = '';
  private emitted = 0;
  private readonly firstClauseMinWords: number;
  private readonly maxChars: number;

  constructor(options: ChunkerOptions = {}) {
    this.firstClauseMinWords = options.firstClauseMinWords ?? 4;
    this.maxChars = options.maxChars ?? 250;
  }

  push(text: string): string[] {
    this.buffer += text;
    const out: string[] = [];
    for (;;) {
      const cut = this.findCut();
      if (cut < 0) break;
      this.take(cut, out);
    }
    return out;
  }

  flush(): string[] {
    const out: string[] = [];
    this.take(this.buffer.length, out);
    return out;
  }

  reset(): void {
    this.buffer = '';
    this.emitted = 0;
  }

  private take(cut: number, out: string[]): void {
    const piece = this.buffer.slice(0, cut).replace(/\s+/g, ' ').trim();
    this.buffer = this.buffer.slice(cut);
    if (/[\p{L}\p{N}]/u.test(piece)) {
      out.push(piece);
      this.emitted++;
    }
  }

  /** Index just past the first boundary whose following whitespace has arrived, or -1. */
  private findCut(): number {
    const b = this.buffer;
    for (let i = 0; i < b.length - 1; i++) {
      const c = b[i];
      if (c === '\n') return i + 1;
      const next = b[i + 1];
      if (!/\s/.test(next)) continue;
      if (SENTENCE_END.test(c) && !this.isAbbreviation(i)) return i + 1;
      if (this.emitted === 0 && CLAUSE_END.test(c) && wordCount(b.slice(0, i)) >= this.firstClauseMinWords) return i + 1;
    }
    if (b.length > this.maxChars) {
      const space = b.lastIndexOf(' ', this.maxChars);
      return space > 0 ? space + 1 : this.maxChars;
    }
    return -1;
  }

  private isAbbreviation(dot: number): boolean {
    if (this.buffer[dot] !== '.') return false;
    const m = /([\p{L}.]+)$/u.exec(this.buffer.slice(Math.max(0, dot - 8), dot));
    if (!m) return false;
    const word = m[1].toLowerCase();
    // Known abbreviations, single initials ("J."), and dotted ones ("p.m.", "U.S.").
    return ABBREVIATIONS.has(word) || /^\p{Lu}$/u.test(m[1]) || /^(\p{L}\.)+\p{L}$/u.test(m[1]);
  }
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}
