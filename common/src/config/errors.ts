/** Control characters (line breaks included) shown escaped: an error is one line, and a log line stays one line. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const oneLine = (text: string): string => text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** A configuration problem, always tied to the key (or env var) that caused it. Never carries the value. */
export class ConfigError extends Error {
  readonly key: string;
  readonly reason: string;

  /** `key` and `reason` may quote what the file holds (a key's name): their control characters are escaped. */
  constructor(key: string, reason: string, readonly source?: string) {
    const k = oneLine(key);
    const r = oneLine(reason);
    super(`${k}: ${r}`);
    this.name = 'ConfigError';
    this.key = k;
    this.reason = r;
  }

  /** The one line a service prints before it exits. */
  line(): string {
    return `config error${this.source ? ` in ${oneLine(this.source)}` : ''}: ${this.key}: ${this.reason}`;
  }
}
