// Runs the agent's speech: a reply (LLM → SentenceChunker → TTS → Playout, under one AbortSignal) or a
// fixed text, from its first sentence until it has played, was cut or cancelled; history and the call
// record keep what the caller heard of it.
// Size: the reply's stages share one AbortSignal and the history cut; split, each part would need the others' state.
import { SentenceChunker, type ContextConfig } from '@ai-agent/common';
import { AsyncQueue } from '@ai-agent/common/async-queue';
import type { ChatMessage, PipelineProviders, SttGrammar, ToolCall } from '../providers/types.ts';
import type { TurnLatency } from '../call/index.ts';
import type { Toolbox } from '../tools/toolbox.ts';
import type { BargeIn } from './barge-in.ts';
import type { CallStateMachine } from './call-state.ts';
import type { GreetingCache } from './greeting-cache.ts';
import type { LatencyObserver, TurnMoment } from './latency-observer.ts';
import type { Playout } from './playout.ts';
import type { TurnTaking } from './turn-taking.ts';
import type { ConversationSink } from './types.ts';

type Stage = 'stt' | 'llm' | 'tts';
export type AssistantMessage = Extract<ChatMessage, { role: 'assistant' }>;

/** A provider failed; `stage` says which. */
export class StageError extends Error {
  constructor(readonly stage: Stage, override readonly cause: unknown) {
    super(`${stage} failed: ${(cause as Error)?.message ?? String(cause)}`);
  }
}

/** One stretch of agent audio (a reply, the greeting, a prompt) from its first sentence to its last frame. */
export interface Speech {
  kind: 'reply' | 'prompt';
  interruptible: boolean;
  abort: AbortController;
  /** History entries holding this speech's text; cut to the heard words on a barge-in. */
  messages: AssistantMessage[];
  audible: boolean;
  /** What the responder expects the caller's answer to be, applied once this speech is heard. */
  expect?: SttGrammar;
  latency?: TurnLatency;
  startedAt: string;
  /** A slow tool's filler was spoken in this speech (see ReplyRunner.holdOn). */
  heldOn?: boolean;
  /** Resolves true once played to the end, false when cut or the call ended. */
  played: Promise<boolean>;
  settle: (played: boolean) => void;
}

export interface ReplyRunnerOptions {
  context: ContextConfig;
  providers: PipelineProviders;
  greetings?: GreetingCache;
  sink: ConversationSink;
  playout: Playout;
  machine: CallStateMachine;
  /** The conversation as the model sees it; replies add to it and are cut to what was heard. */
  history: ChatMessage[];
  toolbox: Toolbox;
  latency: LatencyObserver;
  metric(moment: TurnMoment): void;
  turns: Pick<TurnTaking, 'callerHasFloor' | 'expectAnswer' | 'expectAnything'>;
  bargeIn: Pick<BargeIn, 'speechEnded' | 'release'>;
}

export class ReplyRunner {
  private speech: Speech | null = null;
  private readonly playout: Playout;
  private readonly machine: CallStateMachine;
  private readonly history: ChatMessage[];

  constructor(private readonly opts: ReplyRunnerOptions) {
    this.playout = opts.playout;
    this.machine = opts.machine;
    this.history = opts.history;
  }

  /** The speech under way (being prepared, held or playing). */
  get current(): Speech | null {
    return this.speech;
  }

  /** The caller took the floor: drops the current speech's audio, abandons it; returns what was heard. */
  interrupt(speech: Speech): string {
    const heard = this.playout.cut();
    this.speech = null;
    speech.abort.abort();
    this.truncateHistory(speech.messages, heard);
    this.recordAgentTurn(speech, heard, true);
    speech.settle(false);
    return heard;
  }

  /** The call ended: the current speech stops where it is. */
  close(): void {
    const speech = this.speech;
    if (!speech) return;
    // A reply that had fully played (e.g. the goodbye before a hangup tool) was not interrupted.
    const fullyPlayed = !this.playout.active;
    const heard = this.playout.cut();
    this.speech = null;
    speech.abort.abort();
    if (speech.audible) this.recordAgentTurn(speech, heard, !fullyPlayed);
    speech.settle(fullyPlayed);
  }

  /** Cuts the assistant messages of an interrupted speech to the words the caller heard. */
  private truncateHistory(messages: AssistantMessage[], heard: string): void {
    let left = heard.split(/\s+/).filter(Boolean).length;
    for (const msg of messages) {
      const words = msg.content.split(/\s+/).filter(Boolean);
      msg.content = words.slice(0, left).join(' ');
      left = Math.max(0, left - words.length);
      if (!msg.content && !msg.toolCalls?.length) {
        const i = this.history.indexOf(msg);
        if (i >= 0) this.history.splice(i, 1);
      }
    }
  }

  /**
   * A tool is about to end or move the call: the caller hears this speech to the end — audio a tentative
   * barge-in held back plays again, and caller speech no longer cuts it.
   */
  private lockSpeech(speech: Speech): void {
    speech.interruptible = false;
    this.opts.bargeIn.release();
  }

  /** Resolves once the caller heard everything said so far (see ToolContext.playedOut). */
  heardOut(): Promise<void> {
    if (this.speech) this.lockSpeech(this.speech);
    return this.playout.whenHeard();
  }

  /** Ends the current speech where it is: history and record keep what was heard of it. */
  cancelSpeech(): void {
    const speech = this.speech;
    if (!speech) return;
    const full = this.playout.fullText();
    const heard = this.playout.cut();
    this.speech = null;
    this.opts.bargeIn.speechEnded();
    speech.abort.abort();
    this.truncateHistory(speech.messages, heard);
    if (speech.audible) this.recordAgentTurn(speech, heard, heard.length < full.length);
    speech.settle(false);
  }

  /** Starts a speech (the current one is cancelled); a reply begun while the caller has the floor is held. */
  beginSpeech(kind: Speech['kind'], interruptible: boolean, messages: AssistantMessage[]): Speech {
    this.cancelSpeech();
    let settle!: (played: boolean) => void;
    const played = new Promise<boolean>((resolve) => (settle = resolve));
    const abort = new AbortController();
    const speech: Speech = { kind, interruptible, abort, messages, audible: false, startedAt: new Date().toISOString(), played, settle };
    this.speech = speech;
    this.playout.begin(() => this.onSpeechPlayed(speech));
    if (kind === 'reply' && this.opts.turns.callerHasFloor) this.playout.hold();
    return speech;
  }

  private onSpeechPlayed(speech: Speech): void {
    if (this.speech !== speech) return;
    this.speech = null;
    this.opts.bargeIn.speechEnded();
    if (speech.audible) this.recordAgentTurn(speech, this.playout.fullText(), false);
    speech.settle(true);
    if (this.machine.is('greeting', 'speaking')) this.machine.to('listening');
  }

  /** Audio of `speech` reached the line (it is not held): the caller hears it from now on. */
  onFirstAudio(speech: Speech): void {
    if (speech.audible || this.playout.isHeld) return;
    speech.audible = true;
    if (speech.expect !== undefined) this.opts.turns.expectAnswer(speech.expect);
    else if (speech.kind === 'reply') this.opts.turns.expectAnything(); // its hint, if any, is applied when it arrives
    if (speech.kind === 'reply') {
      this.opts.metric('first_audio');
      speech.latency = this.opts.latency.take();
    }
    if (this.machine.is('thinking', 'listening', 'speaking')) this.machine.to('speaking');
  }

  private recordAgentTurn(speech: Speech, text: string, interrupted: boolean): void {
    if (!text && !interrupted) return;
    this.opts.sink.turn({ speaker: 'agent', text, startedAt: speech.startedAt, endedAt: new Date().toISOString(), interrupted, latency: speech.latency });
  }

  /**
   * Speaks a fixed text (greeting, prompt, farewell, apology) as its own speech; resolves true once heard
   * to the end. TTS failures throw.
   */
  async say(text: string, options: { interruptible: boolean; messages?: AssistantMessage[]; cache?: boolean }): Promise<boolean> {
    const speech = this.beginSpeech('prompt', options.interruptible, options.messages ?? []);
    const { tts } = this.opts.providers;
    const { greetings } = this.opts;
    const voice = this.opts.context.voice;
    this.playout.sentence(text);
    const cached = options.cache ? greetings?.get(tts, text, voice) : undefined;
    if (cached) {
      for (const chunk of cached) this.playout.write(chunk);
      this.onFirstAudio(speech);
    } else {
      const chunks = [];
      for await (const chunk of tts.synthesize(text, { voice, signal: speech.abort.signal })) {
        if (speech.abort.signal.aborted) return false;
        chunks.push(chunk);
        this.playout.write(chunk);
        this.onFirstAudio(speech);
      }
      if (speech.abort.signal.aborted) return false;
      if (options.cache) greetings?.put(tts, text, voice, chunks);
    }
    this.playout.sentenceDone();
    this.playout.finish();
    return speech.played;
  }

  /** One model round of a reply, its text streamed sentence by sentence into TTS; returns text and tool calls. */
  async replyRound(speech: Speech): Promise<{ text: string; calls: ToolCall[] }> {
    const signal = speech.abort.signal;
    const request = this.history.slice();
    const msg: AssistantMessage = { role: 'assistant', content: '' };
    this.history.push(msg);
    speech.messages.push(msg);
    const sentences = new AsyncQueue<string>();
    const spoken = this.speakSentences(sentences, speech);
    const chunker = new SentenceChunker();
    const calls: ToolCall[] = [];
    let firstToken = true;
    let firstSentence = true;
    const enqueue = (pieces: string[]): void => {
      for (const piece of pieces) {
        if (firstSentence) this.opts.metric('first_sentence');
        firstSentence = false;
        sentences.push(piece);
      }
    };
    this.opts.metric('llm_request');
    try {
      for await (const event of this.opts.providers.llm.chat(request, this.opts.toolbox.schemas, signal)) {
        if (signal.aborted) break;
        switch (event.type) {
          case 'text':
            if (firstToken) this.opts.metric('llm_first_token');
            firstToken = false;
            msg.content += event.text;
            enqueue(chunker.push(event.text));
            break;
          case 'tool_call':
            calls.push(event.call);
            if (this.opts.toolbox.endsCall(event.call.name)) this.lockSpeech(speech);
            break;
          case 'expect':
            speech.expect = event.grammar;
            if (speech.audible) this.opts.turns.expectAnswer(event.grammar);
            break;
          default:
            // A new kind of LLM event must be handled here: tsc fails until it is.
            event satisfies never;
        }
      }
    } catch (err) {
      sentences.end();
      await spoken.catch(() => undefined);
      throw new StageError('llm', err);
    }
    enqueue(chunker.flush());
    sentences.end();
    await spoken;
    msg.content = msg.content.trim();
    if (calls.length > 0) msg.toolCalls = calls;
    if (!msg.content && calls.length === 0) this.history.splice(this.history.indexOf(msg), 1);
    return { text: msg.content, calls };
  }

  /**
   * A slow tool's filler ("one moment…"), spoken as part of the current reply (once per reply) so a barge-in
   * cuts it like the rest and history keeps what was heard of it. Nothing when the reply is gone.
   */
  async holdOn(text: string): Promise<void> {
    const speech = this.speech;
    if (!speech || speech.kind !== 'reply' || speech.heldOn || speech.abort.signal.aborted) return;
    speech.heldOn = true;
    const msg = speech.messages[speech.messages.length - 1];
    if (msg) msg.content = msg.content ? `${msg.content} ${text}` : text;
    const sentences = new AsyncQueue<string>();
    sentences.push(text);
    sentences.end();
    await this.speakSentences(sentences, speech);
  }

  /** Synthesises sentences in order as they come; sentence n+1 is synthesised while n plays. */
  private async speakSentences(sentences: AsyncQueue<string>, speech: Speech): Promise<void> {
    const signal = speech.abort.signal;
    const { tts } = this.opts.providers;
    for await (const sentence of sentences) {
      if (signal.aborted) return;
      this.playout.sentence(sentence);
      this.opts.metric('tts_request');
      let first = true;
      try {
        for await (const chunk of tts.synthesize(sentence, { voice: this.opts.context.voice, signal })) {
          if (signal.aborted) return;
          if (first) this.opts.metric('tts_first_audio');
          first = false;
          this.playout.write(chunk);
          this.onFirstAudio(speech);
        }
      } catch (err) {
        if (signal.aborted) return;
        throw new StageError('tts', err);
      }
      this.playout.sentenceDone();
    }
  }
}
