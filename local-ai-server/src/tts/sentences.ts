// Cuts streaming text into sentences so synthesis can start on the first one while the rest is still
// arriving. A boundary is . ! or ? followed by whitespace; common abbreviations do not end a sentence.

const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'no', 'approx']);

export class SentenceSplitter {
  private buffer = '';

  /** Adds text; returns the sentences it completed. */
  push(text: string): string[] {
    this.buffer += text;
    const out: string[] = [];
    const re = /[.!?]+["')\]]*\s+/g;
    let start = 0;
    for (let m = re.exec(this.buffer); m; m = re.exec(this.buffer)) {
      const candidate = this.buffer.slice(start, m.index + m[0].length).trim();
      const lastWord = /([A-Za-z.]+)[.!?]*["')\]]*$/.exec(candidate)?.[1]?.replace(/\.$/, '').toLowerCase();
      if (m[0].startsWith('.') && lastWord && ABBREVIATIONS.has(lastWord)) continue;
      if (candidate) out.push(candidate);
      start = m.index + m[0].length;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** Returns whatever is left as a last sentence. */
  flush(): string | undefined {
    const rest = this.buffer.trim();
    this.buffer = '';
    return rest || undefined;
  }
}
