// Streaming recognition with Debian's pocketsphinx through the ps_stream helper (native/ps_stream.c): one
// child process per stream keeps the blocking decoder off the event loop and isolates a crash to one call.
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

function frame(kind: string, payload?: Uint8Array): Buffer {
  const len = payload?.byteLength ?? 0;
  const buf = Buffer.allocUnsafe(HEADER + len);
  buf[0] = kind.charCodeAt(0);
  buf.writeUInt32LE(len, 1);
  if (payload) buf.set(payload, HEADER);
  return buf;
}

export class PocketsphinxEngine implements SttEngine {
  readonly name = 'pocketsphinx';
  private readonly helper: string;
  private readonly dictFile: string;
  private readonly spares = new Map<boolean, ChildProcessWithoutNullStreams[]>();
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

  private spawnHelper(narrowband: boolean): ChildProcessWithoutNullStreams {
    const child = spawn(this.helper, this.args(narrowband), { stdio: ['pipe', 'pipe', 'pipe'] });
    // A spare that dies while waiting must not crash the server; its error surfaces when a stream uses it.
    child.on('error', () => {});
    child.stdin.on('error', () => {});
    return child;
  }

  private takeHelper(narrowband: boolean): ChildProcessWithoutNullStreams {
    const pool = this.spares.get(narrowband) ?? [];
    this.spares.set(narrowband, pool);
    let child = pool.shift();
    while (child && child.exitCode !== null) child = pool.shift();
    // Refill after handing one out, so the next stream also starts warm.
    while (!this.closed && pool.length < this.cfg.warm_spares) pool.push(this.spawnHelper(narrowband));
    return child ?? this.spawnHelper(narrowband);
  }

  /** Loads spare decoders now so the first call does not wait for a model load. */
  warmUp(): void {
    dictionaryWords(this.dictFile); // read once now rather than on a call's first phrase grammar
    for (const narrowband of [true, false]) {
      const pool = this.spares.get(narrowband) ?? [];
      this.spares.set(narrowband, pool);
      while (pool.length < this.cfg.warm_spares) pool.push(this.spawnHelper(narrowband));
    }
  }

  open(options: SttOptions, events: SttEvents): SttSession {
    const child = this.takeHelper(options.narrowband);
    const log = this.log;
    let state: 'open' | 'ending' | 'done' = 'open';
    let stderr = '';

    const finish = (): void => {
      if (state === 'done') return;
      state = 'done';
      events.closed();
    };

    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 2000) stderr += d;
    });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (state === 'done') return;
      let msg: HelperLine;
      try {
        msg = JSON.parse(line) as HelperLine;
      } catch {
        log.warn('ignored a malformed line from the recognition helper');
        return;
      }
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
        case 'error':
          events.error(new Error(`recognizer: ${msg.text ?? 'unknown error'}`));
          break;
        default:
          break;
      }
    });
    child.on('error', (err) => {
      if (state !== 'done') events.error(new Error(`recognition helper failed to start: ${err.message}`));
      finish();
    });
    child.on('exit', (code, signal) => {
      if (state === 'open' && (code !== 0 || signal)) {
        events.error(new Error(`recognition helper exited (${signal ?? code}) ${stderr.trim().slice(0, 200)}`));
      }
      // stdout may still hold the last final: the readline 'close' finishes the session.
    });
    lines.on('close', finish);

    const send = (buf: Buffer): void => {
      if (state === 'open' && child.stdin.writable) child.stdin.write(buf);
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
        state = 'ending';
        child.stdin.end();
      },
      abort() {
        state = 'done';
        lines.close();
        child.kill('SIGKILL');
      },
    };
  }

  close(): void {
    this.closed = true;
    for (const pool of this.spares.values()) for (const child of pool.splice(0)) child.kill('SIGKILL');
  }
}
