// Turns Docker's log stream into redacted lines: undoes the 8-byte frame multiplexing of non-TTY containers,
// splits on newlines across frames, reads each line's level, masks secrets, then applies the operator's filters.
import { scrub } from '@ai-agent/common';

export type LogStream = 'stdout' | 'stderr';
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogLine {
  stream: LogStream;
  /** Docker's receive time (RFC 3339), when the request asked for timestamps. */
  at?: string;
  /** Read from the line (pino JSON or a level word near its start); undefined when none is found. */
  level?: LogLevel;
  text: string;
}

export interface LogFilter {
  /** Minimum level; lines without a level pass. */
  level?: LogLevel;
  /** Case-insensitive substring, matched against the redacted text so it cannot probe for a secret. */
  q?: string;
}

/** A line longer than this is cut: one runaway line must not hold the whole buffer. */
const MAX_LINE = 16 * 1024;
/** Read past the cut before masking, so a secret that starts before it is whole when masked. */
const LOOKAHEAD = 512;
const HEADER = 8;
const PINO_LEVELS: Record<number, LogLevel> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const LEVEL_WORD = /\b(trace|debug|info|warn(?:ing)?|error|err|fatal|crit(?:ical)?|panic)\b/i;
const JSON_LEVEL = /"level"\s*:\s*(?:(\d+)|"(\w+)")/;
const TIMESTAMP = /^(\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)) /;

function levelOfWord(word: string): LogLevel | undefined {
  const w = word.toLowerCase();
  if (w.startsWith('warn')) return 'warn';
  if (w === 'err') return 'error';
  if (w.startsWith('crit') || w === 'panic') return 'fatal';
  return (LOG_LEVELS as readonly string[]).includes(w) ? (w as LogLevel) : undefined;
}

export function detectLevel(text: string): LogLevel | undefined {
  const json = text.startsWith('{') ? JSON_LEVEL.exec(text) : null;
  if (json) return json[1] !== undefined ? PINO_LEVELS[Number(json[1])] : levelOfWord(json[2]!);
  const word = LEVEL_WORD.exec(text.slice(0, 80));
  return word ? levelOfWord(word[1]!) : undefined;
}

export function passes(line: LogLine, filter: LogFilter): boolean {
  if (filter.level && line.level && LOG_LEVELS.indexOf(line.level) < LOG_LEVELS.indexOf(filter.level)) return false;
  if (filter.q && !line.text.toLowerCase().includes(filter.q.toLowerCase())) return false;
  return true;
}

/**
 * Feed it the bytes of a `/containers/{id}/logs` response in any chunking; it calls `emit` once per complete,
 * redacted line. `multiplexed` is false for TTY containers, whose stream has no frame headers.
 */
export class LogLineDecoder {
  private pending = Buffer.alloc(0);
  private readonly partial: Record<LogStream, string> = { stdout: '', stderr: '' };
  /** After a cut, the rest of that line is dropped up to its newline. */
  private readonly skipping: Record<LogStream, boolean> = { stdout: false, stderr: false };

  constructor(
    private readonly multiplexed: boolean,
    private readonly timestamps: boolean,
    private readonly emit: (line: LogLine) => void,
  ) {}

  push(chunk: Buffer): void {
    if (!this.multiplexed) {
      this.text('stdout', chunk.toString('utf8'));
      return;
    }
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= HEADER) {
      const size = buf.readUInt32BE(4);
      if (buf.length < HEADER + size) break;
      // Frame type 2 is stderr; 0 (stdin) and 1 are shown as stdout.
      this.text(buf[0] === 2 ? 'stderr' : 'stdout', buf.subarray(HEADER, HEADER + size).toString('utf8'));
      buf = buf.subarray(HEADER + size);
    }
    this.pending = Buffer.from(buf);
  }

  /** The stream ended: a last line without a newline is still a line. */
  end(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream]) this.line(stream, this.partial[stream]);
      this.partial[stream] = '';
    }
  }

  private text(stream: LogStream, text: string): void {
    let data = text;
    if (this.skipping[stream]) {
      const newline = data.indexOf('\n');
      if (newline < 0) return;
      data = data.slice(newline + 1);
      this.skipping[stream] = false;
    }
    const parts = (this.partial[stream] + data).split('\n');
    this.partial[stream] = parts.pop()!;
    for (const part of parts) this.line(stream, part);
    if (this.partial[stream].length > MAX_LINE + LOOKAHEAD) {
      this.line(stream, this.partial[stream]);
      this.partial[stream] = '';
      this.skipping[stream] = true;
    }
  }

  private line(stream: LogStream, raw: string): void {
    let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    let at: string | undefined;
    const stamp = this.timestamps ? TIMESTAMP.exec(text) : null;
    if (stamp) {
      at = stamp[1];
      text = text.slice(stamp[0].length);
    }
    // Masked before the cut, so a cut never leaves half a secret unrecognised.
    let clean = scrub(text);
    if (clean.length > MAX_LINE) clean = `${clean.slice(0, MAX_LINE)} …[cut]`;
    this.emit({ stream, ...(at ? { at } : {}), level: detectLevel(clean), text: clean });
  }
}
