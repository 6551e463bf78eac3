import { createWriteStream, type WriteStream } from 'node:fs';
import pino, { type Logger as PinoLogger, type DestinationStream } from 'pino';
import { scrub } from './scrubber.ts';

export type Logger = PinoLogger;

/** Key paths pino masks before serialising (defence in depth; the output scrubber catches the rest). */
const REDACT_PATHS = [
  'password', '*.password', 'token', '*.token', 'secret', '*.secret', 'apiKey', '*.apiKey', 'api_key', '*.api_key',
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'req.headers.cookie', 'req.headers["x-ai-signature"]', 'res.headers["set-cookie"]',
  '*.headers.authorization', '*.headers.cookie',
];

/** Caller-id fields are masked to their last four digits by the scrubber once registered; these never print. */

/** A destination that scrubs each serialised line before it reaches stdout or a file. */
class ScrubbingDestination implements DestinationStream {
  constructor(private readonly fd: number, private readonly file: WriteStream | null) {}

  write(line: string): void {
    const clean = scrub(line);
    rawWrite(this.fd, clean);
    this.file?.write(clean);
  }
}

// Original writers, saved before installOutputScrubber patches the process streams.
const originalStdoutWrite = process.stdout.write.bind(process.stdout);
const originalStderrWrite = process.stderr.write.bind(process.stderr);

function rawWrite(fd: number, text: string): void {
  if (fd === 2) originalStderrWrite(text);
  else originalStdoutWrite(text);
}

let logFile: WriteStream | null = null;

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Also append scrubbed lines to this file (LOG_FILE). */
  file?: string;
}

export function createLogger(opts: LoggerOptions): Logger {
  const fileName = opts.file ?? process.env.LOG_FILE;
  if (fileName && !logFile) logFile = createWriteStream(fileName, { flags: 'a', mode: 0o600 });
  return pino(
    {
      level: opts.level ?? (process.env.LOG_LEVEL || 'info'),
      base: { service: opts.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      serializers: { err: pino.stdSerializers.err },
    },
    new ScrubbingDestination(1, logFile),
  );
}

let outputScrubberInstalled = false;

/**
 * Routes every other write to stdout/stderr (console.*, third-party loggers, child output piped through)
 * through the scrubber, and turns uncaught errors into scrubbed log lines instead of Node's raw printout.
 */
export function installOutputScrubber(log?: Logger): void {
  if (outputScrubberInstalled) return;
  outputScrubberInstalled = true;
  const wrap = (original: typeof originalStdoutWrite) =>
    ((chunk: unknown, encodingOrCb?: unknown, cb?: unknown) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      return (original as (c: string, e?: unknown, f?: unknown) => boolean)(scrub(text), encodingOrCb, cb);
    }) as typeof process.stdout.write;
  process.stdout.write = wrap(originalStdoutWrite);
  process.stderr.write = wrap(originalStderrWrite);
  process.on('uncaughtException', (err) => {
    if (log) log.fatal({ err }, 'uncaught exception');
    else originalStderrWrite(scrub(`uncaught exception: ${err.stack ?? err.message}\n`));
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    if (log) log.error({ err: reason }, 'unhandled promise rejection');
    else originalStderrWrite(scrub(`unhandled promise rejection: ${String(reason)}\n`));
  });
}

/** Line-buffers a child process's output and writes it scrubbed, tagged with the child's name. */
export function pipeScrubbed(stream: NodeJS.ReadableStream, log: Logger, child: string): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line) log.info({ child }, line);
    }
    if (pending.length > 64 * 1024) {
      log.info({ child }, pending);
      pending = '';
    }
  });
  stream.on('end', () => {
    if (pending) log.info({ child }, pending);
  });
}

/** The one line a service prints when it cannot start (scrubbed), then the exit: 2 for config/policy refusals. */
export function exitWithError(message: string, code = 2): never {
  originalStderrWrite(`${scrub(message)}\n`);
  process.exit(code);
}
