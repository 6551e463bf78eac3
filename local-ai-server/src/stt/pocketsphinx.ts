// Streaming recognition with Debian's pocketsphinx through the ps_stream helper (native/ps_stream.c): helper
// processes keep the blocking decoder off the event loop and isolate a crash to one call. A helper serves
// one stream at a time and is reset and pooled between streams (decoder-pool.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@ai-agent/common';
import type { LocalAiConfig } from '../config.ts';
import { resolvePackagePath } from '../config.ts';
import type { Grammar } from '../protocol.ts';
import { DecoderPool } from './decoder-pool.ts';
import { dictionaryWords } from './dictionary.ts';
import { grammarToJsgf } from './grammars.ts';
import { STT_RATE, type SttEngine, type SttEvents, type SttOptions, type SttSession } from './types.ts';

type PsConfig = LocalAiConfig['stt']['pocketsphinx'];

/**
 * How long a decoder may take to finish a stream before it is judged stuck and killed: a fixed margin plus
 * twice the stream's audio duration (decoding runs at 0.3-0.5x real time, so even a stream written all at
 * once on a busy machine is done by then).
 */
const RESET_MARGIN_MS = 5000;

/** The helper's command line for one band: pre-processing, model files, decoder options. */
export function helperArgs(c: PsConfig, narrowband: boolean): string[] {
  const m = c.model_dir;
  const pre = narrowband
    ? [
        '-fill', String(c.narrowband.fill),
        '-gain', String(c.narrowband.gain),
        '-cmn_weight', String(c.narrowband.cmn_weight),
        '-cmn_update', String(c.narrowband.cmn_update),
      ]
    : ['-gain', String(c.wideband_gain)];
  return [
    ...pre,
    '-partial_ms', String(c.partial_ms),
    '-hmm', join(m, 'en-us'),
    '-lm', join(m, 'en-us.lm.bin'),
    '-dict', join(m, 'cmudict-en-us.dict'),
    ...(c.extra_dict ? ['-extra_dict', resolvePackagePath(c.extra_dict)] : []),
    '-vad_postspeech', String(c.vad_postspeech),
    '-logfn', '/dev/null',
    ...(narrowband ? ['-mllr', resolvePackagePath(c.narrowband.mllr), ...c.narrowband.decoder_args] : []),
    ...c.extra_args,
  ];
}

export class PocketsphinxEngine implements SttEngine {
  readonly name = 'pocketsphinx';
  private readonly dictFiles: string[];
  private readonly pool: DecoderPool;

  /** `maxIdle`: most decoders kept loaded while no stream uses them (stt.max_streams). */
  constructor(cfg: PsConfig, maxIdle: number, log: Logger) {
    this.dictFiles = [join(cfg.model_dir, 'cmudict-en-us.dict'), ...(cfg.extra_dict ? [resolvePackagePath(cfg.extra_dict)] : [])];
    this.pool = new DecoderPool(
      { helper: resolvePackagePath(cfg.helper), args: (nb) => helperArgs(cfg, nb), warmSpares: cfg.warm_spares, maxIdle },
      log,
    );
  }

  /** Why this engine cannot run here, or undefined when it can. */
  static unavailableReason(cfg: PsConfig): string | undefined {
    const helper = resolvePackagePath(cfg.helper);
    if (!existsSync(helper)) return `helper ${cfg.helper} is not built (run: npm run build -w local-ai-server)`;
    for (const f of ['en-us/mdef', 'en-us.lm.bin', 'cmudict-en-us.dict']) {
      if (!existsSync(join(cfg.model_dir, f))) return `model file ${join(cfg.model_dir, f)} is missing (apt-get install pocketsphinx-en-us)`;
    }
    if (!existsSync(resolvePackagePath(cfg.narrowband.mllr))) return `MLLR matrix ${cfg.narrowband.mllr} is missing`;
    if (cfg.extra_dict && !existsSync(resolvePackagePath(cfg.extra_dict))) return `dictionary ${cfg.extra_dict} is missing`;
    return undefined;
  }

  /** Loads spare decoders now so the first call does not wait for a model load. */
  warmUp(): void {
    for (const f of this.dictFiles) dictionaryWords(f); // read once now rather than on a call's first phrase grammar
    this.pool.fill(true);
    this.pool.fill(false);
  }

  open(options: SttOptions, events: SttEvents): SttSession {
    const { narrowband } = options;
    const decoder = this.pool.take(narrowband);
    // open: audio flows; ending: 'n' sent, waiting for the last final; detached: aborted, events dropped
    // while the decoder resets; done: closed() delivered (or aborted).
    let state: 'open' | 'ending' | 'detached' | 'done' = 'open';
    let samples = 0;

    const finish = (): void => {
      if (state === 'done') return;
      const notify = state !== 'detached';
      state = 'done';
      if (notify) events.closed();
    };
    decoder.attach({
      start: () => events.speechStart(),
      partial: (text) => {
        if (options.partials) events.partial(text);
      },
      final: (text, grammar) => events.final(text, grammar),
      error: (message) => events.error(new Error(`recognizer: ${message}`)),
      exited: (reason) => {
        // Between streams a helper never exits on its own: any exit here is a failure.
        if (state === 'open' || state === 'ending') events.error(new Error(reason));
        finish();
      },
    });
    const resetTimeout = (): number => RESET_MARGIN_MS + (2 * samples * 1000) / STT_RATE;
    const handBack = (): void => {
      decoder.reset(resetTimeout(), (ok) => {
        finish();
        this.pool.release(decoder, narrowband, ok);
      });
    };

    const setGrammar = (grammar: Grammar): void => {
      if (state !== 'open') return;
      if (grammar === null) {
        decoder.send('l');
        return;
      }
      if ('phrases' in grammar) {
        const known = this.dictFiles.map((f) => dictionaryWords(f));
        const phrases = grammar.phrases
          .map((p) => p.toLowerCase().trim().split(/\s+/))
          .filter((words) => words.every((w) => known.some((k) => k.has(w))))
          .map((words) => words.join(' '));
        if (phrases.length === 0) {
          events.error(new Error('no grammar phrase uses only dictionary words'));
          return;
        }
        grammar = { phrases };
      }
      decoder.send('g', Buffer.from(grammarToJsgf(grammar), 'utf8'));
    };
    if (options.grammar) setGrammar(options.grammar);

    return {
      write(pcm) {
        if (state !== 'open') return;
        samples += pcm.length;
        decoder.send('a', new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength));
      },
      setGrammar,
      end() {
        if (state !== 'open') return;
        state = 'ending';
        handBack();
      },
      abort() {
        if (state === 'done' || state === 'detached') return;
        const wasOpen = state === 'open';
        state = 'detached';
        decoder.attach(undefined);
        // An 'ending' stream already asked for the reset; its callback returns the decoder.
        if (wasOpen) handBack();
      },
    };
  }

  close(): void {
    this.pool.close();
  }
}
