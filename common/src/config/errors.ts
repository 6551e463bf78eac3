/** A configuration problem, always tied to the key (or env var) that caused it. Never carries the value. */
export class ConfigError extends Error {
  constructor(readonly key: string, readonly reason: string, readonly source?: string) {
    super(`${key}: ${reason}`);
    this.name = 'ConfigError';
  }

  /** The one line a service prints before it exits. */
  line(): string {
    return `config error${this.source ? ` in ${this.source}` : ''}: ${this.key}: ${this.reason}`;
  }
}
