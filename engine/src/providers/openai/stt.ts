import { EventEmitter } from 'node:events';
import { toFile, type OpenAI } from 'openai';
import { RequestWatch } from '../shared/request-watch.ts';
import { wavFile } from '../shared/pcm.ts';
import { UtteranceBuffer } from '../shared/utterance-buffer.ts';
import type { SttCapabilities, SttGrammar, SttOpenOptions, SttProvider, SttStream, SttStreamEvents } from '../types.ts';
import { openAiFailure, type OpenAiConfig } from './client.ts';

/**
 * OpenAI transcription, one request per caller turn: the turn's audio is kept while the caller talks and sent
 * as a WAV when the pipeline ends the turn (`finalize()`), whose answer is the final. No partials: the API
 * has no live stream outside a Realtime session. Closing the stream cancels a request in flight.
 */
export class OpenAiStt implements SttProvider {
  readonly capabilities: SttCapabilities = {
    partials: false,
    grammar: false,
    finalize: true,
    streaming: false,
    keyterms: true,
    audio: { encodings: ['linear16'], sampleRates: [8000, 16000, 24000, 48000] },
  };

  constructor(readonly name: string, private readonly client: OpenAI, private readonly config: OpenAiConfig) {}

  async open(options: SttOpenOptions): Promise<SttStream> {
    return new OpenAiUtteranceStream(this.name, this.client, this.config, options);
  }
}

class OpenAiUtteranceStream extends EventEmitter<SttStreamEvents> implements SttStream {
  private readonly utterance: UtteranceBuffer;
  /** Cancels every request of the stream at close (and with the call). */
  private readonly abort = new AbortController();
  /** Finals are emitted in turn order even if a later request answers first. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly provider: string,
    private readonly client: OpenAI,
    private readonly config: OpenAiConfig,
    private readonly options: SttOpenOptions,
  ) {
    super();
    this.utterance = new UtteranceBuffer(options.sampleRate);
  }

  write(pcm: Int16Array): void {
    if (!this.closed) this.utterance.push(pcm);
  }

  finalize(): void {
    if (this.closed) return;
    const audio = this.utterance.take();
    const text = audio ? this.transcribe(audio) : Promise.resolve('');
    this.queue = this.queue.then(async () => {
      try {
        const final = await text;
        if (!this.closed && final !== null) this.emit('final', final);
      } catch (err) {
        if (!this.closed && this.listenerCount('error') > 0) this.emit('error', err as Error);
      }
    });
  }

  /** Grammars are not supported: the provider declares `grammar: false`. */
  setGrammar(_grammar: SttGrammar): void {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    this.emit('close');
  }

  /** The text of one utterance; null when cancelled. */
  private async transcribe(audio: Int16Array): Promise<string | null> {
    const { stt, connect_timeout_ms: connect, idle_timeout_ms: idle } = this.config;
    const signal = AbortSignal.any([this.abort.signal, this.options.signal]);
    // Not streamed: the whole answer comes at once, after the server has transcribed the turn.
    const watch = new RequestWatch(this.provider, signal, { connectMs: connect + idle, idleMs: idle });
    try {
      const prompt = [stt.prompt, this.options.keyterms?.length ? this.options.keyterms.join(', ') : undefined].filter(Boolean).join(' ');
      const result = await this.client.audio.transcriptions.create(
        {
          file: await toFile(wavFile(audio, this.options.sampleRate), 'turn.wav', { type: 'audio/wav' }),
          model: stt.model,
          language: this.options.language.slice(0, 2),
          ...(prompt ? { prompt } : {}),
          response_format: 'json',
        },
        { signal: watch.signal },
      );
      return result.text.trim();
    } catch (err) {
      const failure = openAiFailure(this.provider, err, watch);
      if (failure) throw failure;
      return null;
    } finally {
      watch.done();
    }
  }
}
