// One ps_stream helper process (native/ps_stream.c): the frame encoding of its stdin, the JSON lines of its
// stdout, and the hand-over between recognition streams. A process serves many streams one after another;
// between two streams it is reset ('n' command) and waits in the pool.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from '@ai-agent/common';

const HEADER = 5;

/** What a recognition stream hears from its decoder. */
export interface DecoderSink {
  start(): void;
  partial(text: string): void;
  final(text: string, grammar: boolean): void;
  error(message: string): void;
  /** The process is gone (crashed, killed, or never started); nothing more will come. */
  exited(reason: string): void;
}

interface HelperLine {
  t: 'ready' | 'start' | 'partial' | 'final' | 'flushed' | 'idle' | 'error';
  text?: string;
  grammar?: boolean;
}

export type FrameKind = 'a' | 'g' | 'l' | 'f' | 'n';

export class PsDecoder {
  private readonly child: ChildProcessWithoutNullStreams;
  private sink: DecoderSink | undefined;
  private resetDone: ((ok: boolean) => void) | undefined;
  private resetTimer: NodeJS.Timeout | undefined;
  private stderr = '';
  /** Loaded its model and waiting for audio. */
  ready = false;
  alive = true;

  constructor(helper: string, args: string[], private readonly log: Logger) {
    this.child = spawn(helper, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin.on('error', () => {}); // surfaces as 'close'
    this.child.on('error', (err) => this.gone(`recognition helper failed to start: ${err.message}`));
    // 'close' comes after stdout has ended, so the last final has been read by then.
    this.child.on('close', (code, signal) => {
      this.gone(`recognition helper exited (${signal ?? code}) ${this.stderr.trim().slice(0, 200)}`.trim());
    });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (this.stderr.length < 2000) this.stderr += d;
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.onLine(line));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private onLine(line: string): void {
    let msg: HelperLine;
    try {
      msg = JSON.parse(line) as HelperLine;
    } catch {
      this.log.warn('ignored a malformed line from the recognition helper');
      return;
    }
    const sink = this.sink;
    switch (msg.t) {
      case 'ready':
        this.ready = true;
        break;
      case 'start':
        sink?.start();
        break;
      case 'partial':
        if (msg.text) sink?.partial(msg.text);
        break;
      case 'final':
        sink?.final(msg.text ?? '', msg.grammar === true);
        break;
      case 'error':
        sink?.error(msg.text ?? 'unknown error');
        break;
      case 'idle':
        this.settleReset(true);
        break;
      default:
        break;
    }
  }

  private gone(reason: string): void {
    if (!this.alive) return;
    this.alive = false;
    const sink = this.sink;
    this.sink = undefined;
    sink?.exited(reason);
    this.settleReset(false);
  }

  private settleReset(ok: boolean): void {
    const done = this.resetDone;
    this.resetDone = undefined;
    clearTimeout(this.resetTimer);
    done?.(ok);
  }

  /** Routes the process's events to a stream (or nowhere, with undefined). */
  attach(sink: DecoderSink | undefined): void {
    this.sink = sink;
  }

  /** Copies the payload: callers reuse their buffers, and a pipe write may be queued. */
  send(kind: FrameKind, payload?: Uint8Array): void {
    if (!this.alive || !this.child.stdin.writable) return;
    const len = payload?.byteLength ?? 0;
    const buf = Buffer.allocUnsafe(HEADER + len);
    buf[0] = kind.charCodeAt(0);
    buf.writeUInt32LE(len, 1);
    if (payload) buf.set(payload, HEADER);
    this.child.stdin.write(buf);
  }

  /**
   * Ends the stream it serves: the utterance in progress is flushed as a final (to the sink still attached),
   * then the decoder returns to its start-up state. `done(true)` once it reports idle; `done(false)` when it
   * died or did not answer within `timeoutMs` (it is then killed: a decoder that misbehaves is not reused).
   */
  reset(timeoutMs: number, done: (ok: boolean) => void): void {
    if (!this.alive) return done(false);
    this.resetDone = done;
    this.resetTimer = setTimeout(() => {
      this.log.warn({ pid: this.pid }, 'recognition helper did not finish a stream in time: killed');
      this.kill();
    }, timeoutMs);
    this.send('n');
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
