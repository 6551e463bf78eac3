// Deterministic providers implementing the real interfaces, recording what the pipeline asked of them.
import { EventEmitter } from 'node:events';
import type {
  ChatMessage, LlmEvent, LlmProvider, SttCapabilities, SttGrammar, SttOpenOptions, SttProvider, SttStream,
  SttStreamEvents, ToolSchema, TtsChunk, TtsOptions, TtsProvider,
} from '../../../src/providers/types.ts';
import { sleep } from './rtp-caller.ts';

/** Mean absolute amplitude of a 20 ms frame that counts as caller speech. */
const SPEECH_LEVEL = 400;

/**
 * STT that recognises utterances by energy and reports the next scripted transcript for each: one more
 * word per 200 ms of speech as partials, the whole text as the final on finalize() (or after 800 ms of
 * silence).
 */
export class ScriptedStt implements SttProvider {
  readonly name: string;
  readonly capabilities: SttCapabilities = { partials: true, grammar: false, finalize: true };
  readonly streams: ScriptedSttStream[] = [];
  failOpen = false;
  constructor(readonly script: string[], name = 'scripted-stt') {
    this.name = name;
  }
  async open(_options: SttOpenOptions): Promise<SttStream> {
    if (this.failOpen) throw new Error('stt unavailable');
    const s = new ScriptedSttStream(this.script);
    this.streams.push(s);
    return s;
  }
}

export class ScriptedSttStream extends EventEmitter implements SttStream {
  finalizeCalls = 0;
  closed = false;
  framesWritten = 0;
  private speechFrames = 0;
  private silentFrames = 0;
  private inUtterance = false;
  private revealed = 0;
  constructor(private readonly script: string[]) {
    super();
  }
  override on<K extends keyof SttStreamEvents>(event: K, listener: (...args: SttStreamEvents[K]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }
  override off<K extends keyof SttStreamEvents>(event: K, listener: (...args: SttStreamEvents[K]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }
  write(pcm: Int16Array): void {
    if (this.closed) return;
    this.framesWritten++;
    let sum = 0;
    for (let i = 0; i < pcm.length; i++) sum += Math.abs(pcm[i]);
    const speech = sum / pcm.length >= SPEECH_LEVEL;
    if (speech) {
      this.inUtterance = true;
      this.silentFrames = 0;
      this.speechFrames++;
      const words = Math.floor(this.speechFrames / 10);
      const text = this.script[0] ?? '';
      if (words > this.revealed && text) {
        this.revealed = words;
        this.emit('partial', text.split(' ').slice(0, words).join(' '));
      }
    } else if (this.inUtterance && ++this.silentFrames >= 40) {
      this.finalize();
    }
  }
  finalize(): void {
    this.finalizeCalls++;
    if (!this.inUtterance) return;
    this.inUtterance = false;
    this.speechFrames = 0;
    this.revealed = 0;
    this.emit('final', this.script.shift() ?? '');
  }
  setGrammar(_g: SttGrammar): void {}
  fail(message: string): void {
    this.emit('error', new Error(message));
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

export type Responder = (messages: readonly ChatMessage[]) => LlmEvent[];

/** LLM whose replies come from a function; text is streamed word by word. */
export class ScriptedLlm implements LlmProvider {
  readonly requests: ChatMessage[][] = [];
  readonly tools: ToolSchema[][] = [];
  readonly signals: AbortSignal[] = [];
  failWith: Error | null = null;
  constructor(private readonly responder: Responder, readonly name = 'scripted-llm', private readonly tokenDelayMs = 5) {}
  async *chat(messages: readonly ChatMessage[], tools: readonly ToolSchema[], signal: AbortSignal): AsyncIterable<LlmEvent> {
    this.requests.push(structuredClone([...messages]) as ChatMessage[]);
    this.tools.push([...tools]);
    this.signals.push(signal);
    if (this.failWith) throw this.failWith;
    for (const event of this.responder(messages)) {
      if (event.type !== 'text') {
        yield event;
        continue;
      }
      for (const token of event.text.split(/(?<= )/)) {
        await sleep(this.tokenDelayMs);
        if (signal.aborted) return;
        yield { type: 'text', text: token };
      }
    }
  }
}

/** Milliseconds of synthetic speech per character. */
export const TTS_MS_PER_CHAR = 60;

/** TTS producing a voiced, speech-level signal whose length is proportional to the text. */
export class ScriptedTts implements TtsProvider {
  readonly texts: string[] = [];
  failWith: Error | null = null;
  /**
   * Speaks a two-tone signal, or with `voice` (8 kHz speech, e.g. an Asterisk prompt) that recording on a
   * loop: echo tests need speech, which a VAD rightly calls speech.
   */
  constructor(readonly name = 'scripted-tts', private readonly delayMs = 10, private readonly voice?: Int16Array) {}
  async *synthesize(text: string, options: TtsOptions): AsyncIterable<TtsChunk> {
    this.texts.push(text);
    await sleep(this.delayMs);
    if (this.failWith) throw this.failWith;
    const rate = this.voice ? 8000 : 16000;
    const total = Math.round((text.length * TTS_MS_PER_CHAR * rate) / 1000);
    const chunk = rate / 10;
    for (let off = 0; off < total; off += chunk) {
      if (options.signal.aborted) return;
      const n = Math.min(chunk, total - off);
      const pcm = new Int16Array(n);
      for (let i = 0; i < n; i++) {
        const t = (off + i) / rate;
        pcm[i] = this.voice
          ? this.voice[(off + i) % this.voice.length]
          : Math.round(6000 * Math.sin(2 * Math.PI * 180 * t) + 3000 * Math.sin(2 * Math.PI * 540 * t));
      }
      yield { pcm, sampleRate: rate };
      await sleep(1);
    }
  }
}

