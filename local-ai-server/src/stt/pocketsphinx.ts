// Streaming recognition with Debian's pocketsphinx through the ps_stream helper (native/ps_stream.c): one
// child process per stream keeps the blocking decoder off the event loop and isolates a crash to one call.
// A stream that ends cleanly hands its process back for the next stream: loading the models costs a new
// process ~0.7 s of CPU, which on a busy host is taken from the decoders of callers who are talking.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from '@ai-agent/common';
import type { LocalAiConfig } from '../config.ts';
import { resolvePackagePath } from '../config.ts';
import type { Grammar } from '../protocol.ts';
import { dictionaryWords } from './dictionary.ts';
import { grammarToJsgf } from './grammars.ts';
import type { SttEngine, SttEvents, SttOptions, SttSession } from './types.ts';

type PsConfig = LocalAiConfig['stt']['pocketsphinx'];

interface HelperLine {
  t: 'ready' | 'start' | 'partial' | 'final' | 'flushed' | 'error';
  text?: string;
  grammar?: boolean;
}

const HEADER = 5;
/** A decoder process serves this many streams, then is replaced (bounds any state it carries over). */
const MAX_STREAMS_PER_DECODER = 500;
/** Idle decoders kept beyond `warm_spares`: the ones streams handed back while their refills loaded. */
const EXTRA_IDLE = 2;

function frame(kind: string, payload?: Uint8Array): Buffer {
  const len = payload?.byteLength ?? 0;
  const buf = Buffer.allocUnsafe(HEADER + len);
  buf[0] = kind.charCodeAt(0);
  buf.writeUInt32LE(len, 1);
  if (payload) buf.set(payload, HEADER);
  return buf;
}

/** One ps_stream process and the stream it serves now, if any. */
class Decoder {
  readonly child: ChildProcessWithoutNullStreams;
  /** The stream's line handler; null while idle in a pool. */
  onLine: ((msg: HelperLine) => void) | null = null;
  onExit: ((code: number | null, signal: NodeJS.Signals | null) => void) | null = null;
  onError: ((err: Error) => void) | null = null;
  stderr = '';
  streams = 0;
  /** stdout ended: every line the process wrote has been dispatched. */
  drained = false;
  onDrained: (() => void) | null = null;

  constructor(helper: string, args: string[], log: Logger) {
    this.child = spawn(helper, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    // A spare that dies while waiting must not crash the server; its error surfaces when a stream uses it.
    this.child.on('error', (err) => this.onError?.(err));
    this.child.stdin.on('error', () => {});
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (this.stderr.length < 2000) this.stderr += d;
    });
    const lines = createInterface({ input: this.child.stdout });
    lines.on('line', (line) => {
      let msg: HelperLine;
      try {
        msg = JSON.parse(line) as HelperLine;
      } catch {
        log.warn('ignored a malformed line from the recognition helper');
        return;
      }
      this.onLine?.(msg);
    });
    lines.on('close', () => {
      this.drained = true;
      this.onDrained?.();
    });
    this.child.on('exit', (code, signal) => this.onExit?.(code, signal));
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && !this.drained;
  }

  send(buf: Buffer): void {
    if (this.child.stdin.writable) this.child.stdin.write(buf);
  }

  /** Back to idle: no stream's handlers stay attached. */
  detach(): void {
    this.onLine = null;
    this.onExit = null;
    this.onError = null;
    this.onDrained = null;
  }
}

export class PocketsphinxEngine implements SttEngine {
  readonly name = 'pocketsphinx';
  private readonly helper: string;
  private readonly dictFile: string;
  private readonly spares = new Map<boolean, Decoder[]>();
  private closed = false;

  constructor(private readonly cfg: PsConfig, private readonly log: Logger) {
    this.helper = resolvePackagePath(cfg.helper);
    this.dictFile = join(cfg.model_dir, 'cmudict-en-us.dict');
  }

  /** Why this engine cannot run here, or undefined when it can. */
  static unavailableReason(cfg: PsConfig): string | undefined {
    const helper = resolvePackagePath(cfg.helper);
    if (!existsSync(helper)) return `helper ${cfg.helper} is not built (run: npm run build -w local-ai-server)`;
    for (const f of ['en-us/mdef', 'en-us.lm.bin', 'cmudict-en-us.dict']) {
      if (!existsSync(join(cfg.model_dir, f))) return `model file ${join(cfg.model_dir, f)} is missing (apt-get install pocketsphinx-en-us)`;
    }
    if (!existsSync(resolvePackagePath(cfg.narrowband.mllr))) return `MLLR matrix ${cfg.narrowband.mllr} is missing (run: npm run build -w local-ai-server)`;
    return undefined;
  }

  private args(narrowband: boolean): string[] {
    const c = this.cfg;
    const m = c.model_dir;
    const pre = narrowband
      ? ['-fill', String(c.narrowband.fill), '-gain', String(c.narrowband.gain)]
      : ['-gain', String(c.wideband_gain)];
    return [
      ...pre,
      '-partial_ms', String(c.partial_ms),
      '-hmm', join(m, 'en-us'),
      '-lm', join(m, 'en-us.lm.bin'),
      '-dict', this.dictFile,
      '-vad_postspeech', String(c.vad_postspeech),
      '-logfn', '/dev/null',
      ...(narrowband ? ['-mllr', resolvePackagePath(c.narrowband.mllr), ...c.narrowband.decoder_args] : []),
      ...c.extra_args,
    ];
  }

  private pool(narrowband: boolean): Decoder[] {
    let pool = this.spares.get(narrowband);
    if (!pool) this.spares.set(narrowband, (pool = []));
    return pool;
  }

  private takeDecoder(narrowband: boolean): Decoder {
    const pool = this.pool(narrowband);
    let decoder = pool.shift();
    while (decoder && !decoder.alive) decoder = pool.shift();
    // Refill after handing one out, so the next stream also starts warm.
    while (!this.closed && pool.length < this.cfg.warm_spares) pool.push(new Decoder(this.helper, this.args(narrowband), this.log));
    return decoder ?? new Decoder(this.helper, this.args(narrowband), this.log);
  }

  /**
   * A stream ended cleanly: its decoder, back on the language model and on the state it loaded with, waits
   * for the next stream (which then decodes as on a fresh process: nothing of this caller carries over).
   */
  private giveBack(decoder: Decoder, narrowband: boolean): void {
    decoder.detach();
    const pool = this.pool(narrowband);
    if (this.closed || !decoder.alive || decoder.streams >= MAX_STREAMS_PER_DECODER || pool.length >= this.cfg.warm_spares + EXTRA_IDLE) {
      decoder.child.kill('SIGKILL');
      return;
    }
    decoder.send(frame('l'));
    decoder.send(frame('r'));
    pool.push(decoder);
  }

  /** Loads spare decoders now so the first call does not wait for a model load. */
  warmUp(): void {
    dictionaryWords(this.dictFile); // read once now rather than on a call's first phrase grammar
    for (const narrowband of [true, false]) {
      const pool = this.pool(narrowband);
      while (pool.length < this.cfg.warm_spares) pool.push(new Decoder(this.helper, this.args(narrowband), this.log));
    }
  }

  open(options: SttOptions, events: SttEvents): SttSession {
    const decoder = this.takeDecoder(options.narrowband);
    decoder.streams++;
    let state: 'open' | 'ending' | 'done' = 'open';

    const finish = (): void => {
      if (state === 'done') return;
      state = 'done';
      events.closed();
    };

    decoder.onLine = (msg) => {
      if (state === 'done') return;
      switch (msg.t) {
        case 'start':
          events.speechStart();
          break;
        case 'partial':
          if (options.partials && msg.text) events.partial(msg.text);
          break;
        case 'final':
          events.final(msg.text ?? '', msg.grammar === true);
          break;
        case 'flushed':
          // Every final of this stream is out: the stream is over and the decoder free for another.
          if (state === 'ending') {
            finish();
            this.giveBack(decoder, options.narrowband);
          }
          break;
        case 'error':
          events.error(new Error(`recognizer: ${msg.text ?? 'unknown error'}`));
          break;
        default:
          break;
      }
    };
    decoder.onExit = (code, signal) => {
      if (state === 'open' && (code !== 0 || signal)) {
        events.error(new Error(`recognition helper exited (${signal ?? code}) ${decoder.stderr.trim().slice(0, 200)}`));
      }
      // stdout may still hold the last final: the end of its lines finishes the session.
    };
    decoder.onDrained = finish;
    if (decoder.drained) finish();
    decoder.onError = (err) => {
      if (state !== 'done') events.error(new Error(`recognition helper failed to start: ${err.message}`));
      finish();
    };

    const send = (buf: Buffer): void => {
      if (state === 'open') decoder.send(buf);
    };
    const setGrammar = (grammar: Grammar): void => {
      if (grammar === null) {
        send(frame('l'));
        return;
      }
      if ('phrases' in grammar) {
        const known = dictionaryWords(this.dictFile);
        const phrases = grammar.phrases
          .map((p) => p.toLowerCase().trim().split(/\s+/))
          .filter((words) => words.every((w) => known.has(w)))
          .map((words) => words.join(' '));
        if (phrases.length === 0) {
          events.error(new Error('no grammar phrase uses only dictionary words'));
          return;
        }
        grammar = { phrases };
      }
      send(frame('g', Buffer.from(grammarToJsgf(grammar), 'utf8')));
    };
    if (options.grammar) setGrammar(options.grammar);

    return {
      write(pcm) {
        send(frame('a', new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength)));
      },
      setGrammar,
      end() {
        if (state !== 'open') return;
        // Flush the utterance in progress: its final, then "flushed", which ends the stream.
        decoder.send(frame('f'));
        state = 'ending';
      },
      abort() {
        state = 'done';
        decoder.detach();
        decoder.child.kill('SIGKILL');
      },
    };
  }

  close(): void {
    this.closed = true;
    for (const pool of this.spares.values()) for (const decoder of pool.splice(0)) decoder.child.kill('SIGKILL');
  }
}
