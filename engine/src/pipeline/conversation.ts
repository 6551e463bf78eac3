// Size: over the ~300-line mark. Turn taking, barge-in, the reply runner and the watchdogs are still one
// class; splitting them into one part each is the next step of the call-core reshaping, not yet done.
import { sampleRateOf } from '../audio/codec.ts';
import { EventEmitter } from 'node:events';
import { SentenceChunker, type ContextConfig, type Logger } from '@ai-agent/common';
import type { ChatMessage, SttGrammar, SttStream, ToolCall } from '../providers/types.ts';
import {
  FRAME_MS,
  PIPELINE_SAMPLE_RATE,
  type CallOutcome,
  type ConversationState,
  type InboundFrame,
  type TurnLatency,
} from '../call/index.ts';
import { Toolbox } from '../tools/toolbox.ts';
import type { ToolContext } from '../tools/types.ts';
import { AsyncQueue } from '@ai-agent/common/async-queue';
import { meanAbs } from '../audio/level.ts';
import { BargeInPolicy } from './barge-in-policy.ts';
import { EchoGuard } from './echo-guard.ts';
import { LevelOnset } from './level-onset.ts';
import { CallStateMachine } from './call-state.ts';
import { LatencyObserver, type TurnMoment } from './latency-observer.ts';
import { playStockApology, requestHangup } from './call-ending.ts';
import { Playout } from './playout.ts';
import { expectsDigits, looksUnfinished } from './turn-end.ts';
import type { ConversationEvents, ConversationOptions, ConversationStats } from './types.ts';
import { SpeechDetector } from './vad/speech-detector.ts';
import { WINDOW_MS, type VadStream } from './vad/vad-service.ts';

const FRAMES_PER_SECOND = 1000 / FRAME_MS;
/** Model rounds per caller turn (each tool result starts another). */
const MAX_TOOL_ROUNDS = 4;
/** Frames after the last DTMF digit before the digits go to the model (no timers: frames count time). */
const DTMF_IDLE_FRAMES = FRAMES_PER_SECOND;

type Stage = 'stt' | 'llm' | 'tts';
type AssistantMessage = Extract<ChatMessage, { role: 'assistant' }>;

/** A provider failed; `stage` says which. */
class StageError extends Error {
  constructor(readonly stage: Stage, override readonly cause: unknown) {
    super(`${stage} failed: ${(cause as Error)?.message ?? String(cause)}`);
  }
}

/** One stretch of agent audio (a reply, the greeting, a prompt) from its first sentence to its last frame. */
interface Speech {
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
  /** Resolves true once played to the end, false when cut or the call ended. */
  played: Promise<boolean>;
  settle: (played: boolean) => void;
}

/**
 * One call's conversation: caller audio → VAD/endpointing and streaming STT → LLM (with tools) → sentence
 * chunks → TTS → the call's media, with barge-in. States: starting → greeting → listening ⇄ thinking ⇄
 * speaking → (transferring) → ending → ended. All timing that matters to the caller is counted in inbound
 * frames (they arrive every 20 ms even in silence), so the call owns no timers.
 *
 * Turn end: when the caller goes quiet the recogniser is finalized at once and the reply is prepared, but
 * its audio is held until the turn is over: `endpointing_ms` after the end of speech, or
 * `endpointing_unfinished_ms` when what was said so far sounds unfinished (digits expected, a trailing
 * "and", a filler). A caller who goes on before then is answered once, for everything they said.
 */
/** Longest wait for an STT final after the endpoint before silence counts as no input again (10 s). */
const FINAL_WAIT_FRAMES = 500;
/** Longest the end of a turn waits for the STT final it is judged on (2 s); then it ends without it. */
const TURN_FINAL_WAIT_FRAMES = 100;

export class Conversation extends EventEmitter<ConversationEvents> {
  /** Frames the no-input watchdog still waits for a pending STT final (counted down, never a timer). */
  private awaitingFinalFrames = 0;
  /** The STT runs with a grammar the responder asked for, for one caller answer. */
  private turnGrammar = false;
  readonly stats: ConversationStats = { turns: 0, bargeIns: 0, falseBargeIns: 0, pausesResumed: 0, unvoicedFinals: 0, toolCalls: 0, noInputPrompts: 0 };
  private readonly opts: ConversationOptions;
  private readonly log: Logger;
  private readonly ctx: ContextConfig;
  private readonly machine: CallStateMachine;
  private readonly callAbort = new AbortController();
  private readonly detector: SpeechDetector;
  private readonly policy: BargeInPolicy;
  private readonly echo: EchoGuard;
  private readonly onset = new LevelOnset();
  /** The VAD heard the caller since the last STT final: a final without it is echo or noise. */
  private speechSinceFinal = false;
  private readonly playout: Playout;
  private readonly toolbox: Toolbox;
  private readonly latency = new LatencyObserver();
  private readonly history: ChatMessage[] = [];
  private stt: SttStream | null = null;
  private vadStream: VadStream | null = null;
  private speech: Speech | null = null;
  private frames = 0;
  private silentFrames = 0;
  /** The caller has the floor: replies started now are held until the turn ends. */
  private turnOpen = false;
  /** Frame at which the caller's turn ends unless they speak again (-1: no end pending). */
  private turnEndDue = -1;
  private speechEndFrame = 0;
  /** Frame at which STT was last asked for its final (-1: never). */
  private finalRequestedFrame = -1;
  private turnEndExtended = false;
  /** What the responder expects next (digits, yes/no), for the turn-end judgement. */
  private expecting: SttGrammar = null;
  /** The caller's words of the current turn, recorded once the turn is over. */
  private callerTurn: { text: string; startedAt: string } | null = null;
  /** Replies waiting for the turn end before they may act (tools). */
  private turnEndWaiters: Array<() => void> = [];
  private dtmfDigits = '';
  private dtmfLastFrame = 0;
  private partial = '';
  /**
   * Caller speech over the agent being judged: when it began as the caller has it (`onsetAt`: the frame or
   * VAD window that showed it, less its length and the inbound jitter delay), whether the agent was paused
   * for it, and (while only a likely onset paused it) the audio-timeline ms of the last sign of it, -1 once
   * speech is confirmed.
   */
  private bargeIn: { onsetAt: number; paused: boolean; tentativeMs: number; stoppedAt: number } | null = null;
  /** A false barge-in was already recorded for the current caller utterance. */
  private falseRecorded = false;
  private outcome: CallOutcome | null = null;
  private closed = false;
  private readonly noInputFrames: number;
  private readonly maxFrames: number;
  private readonly endpointFrames: number;
  private readonly unfinishedFrames: number;

  constructor(options: ConversationOptions) {
    super();
    this.opts = options;
    this.ctx = options.context;
    this.log = options.log.child({ callId: options.call.id });
    this.machine = new CallStateMachine((to, from) => this.onState(to, from));
    this.detector = new SpeechDetector({ threshold: this.ctx.vad.threshold, minSilenceMs: this.ctx.vad.min_silence_ms, windowMs: WINDOW_MS });
    this.policy = new BargeInPolicy(this.ctx.barge_in);
    const b = this.ctx.barge_in;
    this.echo = new EchoGuard({ enabled: b.echo_margin_db > 0, marginDb: b.echo_margin_db, tailFrames: Math.ceil(b.echo_tail_ms / FRAME_MS) });
    this.playout = new Playout(options.media, options.call.id);
    this.toolbox = new Toolbox(this.ctx, options.control.actions);
    this.history.push({ role: 'system', content: this.ctx.system_prompt });
    this.noInputFrames = Math.round(this.ctx.limits.no_input_seconds * FRAMES_PER_SECOND);
    this.maxFrames = Math.round(this.ctx.limits.max_call_seconds * FRAMES_PER_SECOND);
    this.endpointFrames = Math.ceil(this.ctx.endpointing_ms / FRAME_MS);
    this.unfinishedFrames = Math.ceil(this.ctx.endpointing_unfinished_ms / FRAME_MS);
  }

  get state(): ConversationState {
    return this.machine.state;
  }

  /** The conversation so far, as the model sees it (a copy). */
  get messages(): ChatMessage[] {
    return this.history.map((m) => ({ ...m }));
  }

  /** Starts listening and greets; resolves once STT is open (the greeting is already playing by then). */
  async start(): Promise<void> {
    const { media, vad } = this.opts;
    if (media.closed) {
      this.close('caller_hangup');
      return;
    }
    media.on('frame', this.onFrame);
    if (this.opts.dtmfFromMedia !== false) media.on('dtmf', this.onDtmf);
    media.on('close', this.onMediaClose);
    this.vadStream = vad.open(this.onVad);
    if (this.ctx.greeting) void this.greet();
    else this.machine.to('listening');
    try {
      const stt = await this.opts.providers.stt.open({
        sampleRate: PIPELINE_SAMPLE_RATE,
        sourceSampleRate: sampleRateOf(media.wireFormat),
        language: this.ctx.language,
        signal: this.callAbort.signal,
      });
      if (this.closed) {
        stt.close();
        return;
      }
      this.stt = stt;
      stt.on('partial', this.onPartial);
      stt.on('final', this.onFinal);
      stt.on('error', this.onSttError);
    } catch (err) {
      void this.providerFailed(new StageError('stt', err));
    }
  }

  /** Ends the conversation and releases everything it holds. Idempotent. */
  close(outcome: CallOutcome = 'caller_hangup'): void {
    if (this.closed) return;
    this.closed = true;
    const final = this.outcome ?? outcome;
    this.outcome = final;
    this.commitCallerTurn();
    this.releaseTurnEndWaiters();
    const speech = this.speech;
    if (speech) {
      // A reply that had fully played (e.g. the goodbye before a hangup tool) was not interrupted.
      const fullyPlayed = !this.playout.active;
      const heard = this.playout.cut();
      this.speech = null;
      speech.abort.abort();
      if (speech.audible) this.recordAgentTurn(speech, heard, !fullyPlayed);
      speech.settle(fullyPlayed);
    }
    this.callAbort.abort();
    const { media } = this.opts;
    media.off('frame', this.onFrame);
    media.off('dtmf', this.onDtmf);
    media.off('close', this.onMediaClose);
    this.stt?.off('partial', this.onPartial).off('final', this.onFinal).off('error', this.onSttError);
    this.stt?.close();
    this.stt = null;
    this.vadStream?.close();
    this.vadStream = null;
    this.playout.dispose();
    this.machine.to('ended');
    this.emit('ended', final);
  }

  // ---- inbound audio (hot path: every 20 ms per call) ----

  private readonly onFrame = (frame: InboundFrame): void => {
    if (this.closed) return;
    this.stt?.write(frame.samples);
    this.vadStream?.push(frame.samples);
    const level = meanAbs(frame.samples);
    this.echo.frame(level, this.opts.media.outputLevel, this.bargeIn === null && !this.detector.speaking);
    const n = ++this.frames;
    const rise = this.onset.frame(level, this.echo.callerAudible(1));
    if (this.agentAudible()) this.levelOnset(rise);
    if (n === this.maxFrames) {
      void this.finishWith('max_duration', this.ctx.farewell);
      return;
    }
    if (this.turnEndDue >= 0 && n >= this.turnEndDue) this.turnEndReached();
    if (this.dtmfDigits && n - this.dtmfLastFrame >= DTMF_IDLE_FRAMES) this.flushDtmf();
    if (this.machine.state === 'listening' && !this.detector.speaking && this.turnEndDue < 0 && !this.dtmfDigits) {
      // While the recogniser still owes the final of words the caller said, the caller is not silent.
      if (this.awaitingFinalFrames > 0) this.awaitingFinalFrames--;
      else if (++this.silentFrames >= this.noInputFrames) this.noInput();
    }
  };

  private readonly onVad = (vadProbability: number, endMs: number, at: number): void => {
    if (this.closed) return;
    // Speech that is only the line's echo of the agent is not the caller's.
    const probability = this.echo.callerAudible() ? vadProbability : 0;
    const change = this.detector.update(probability, endMs, at);
    if (change === 'start') {
      this.speechSinceFinal = true;
      this.silentFrames = 0;
      this.turnOpen = true;
      this.turnEndDue = -1;
      this.partial = '';
      this.falseRecorded = false;
    }
    if (this.agentAudible()) {
      if (change === 'end') this.turnOpen = false;
      if (this.detector.speaking) this.judgeBargeIn();
      else if (change === 'end' && this.bargeIn) this.falseBargeIn('short speech');
      else this.likelyOnset(probability, endMs, at);
      return;
    }
    if (change === 'end') {
      // When the caller's last word left them: the frame carrying it waited in the jitter buffer first.
      this.metric('speech_end', this.detector.lastSpeechAt - this.inboundDelayMs);
      this.endpoint();
    }
  };

  /**
   * The caller went quiet: ask STT for the final now, so the reply is ready by the time the turn ends and
   * the turn is judged on the words themselves (a partial lags the audio by up to 200 ms). Digits are the
   * exception: the recogniser runs on, so a number read out with pauses is decoded as one utterance.
   */
  private endpoint(): void {
    // The wait is silence as the caller has it, so it counts from the last window that heard speech (the
    // VAD's own end decision comes `min_silence_ms` and a window later). Frames and VAD windows share the
    // stream's audio timeline.
    this.speechEndFrame = Math.min(this.frames, Math.ceil(this.detector.lastSpeechMs / FRAME_MS));
    this.turnEndExtended = this.unfinishedFrames > this.endpointFrames && expectsDigits(this.expecting);
    this.turnEndDue = this.speechEndFrame + (this.turnEndExtended ? this.unfinishedFrames : this.endpointFrames);
    if (!this.turnEndExtended) this.requestFinal();
  }

  private soundsUnfinished(): boolean {
    if (this.unfinishedFrames <= this.endpointFrames) return false;
    return looksUnfinished(`${this.callerTurn?.text ?? ''} ${this.partial}`, this.expecting, this.ctx.language);
  }

  private requestFinal(): void {
    this.finalRequestedFrame = this.frames;
    this.awaitingFinalFrames = FINAL_WAIT_FRAMES;
    this.metric('endpoint');
    if (this.stt && this.opts.providers.stt.capabilities.finalize) this.stt.finalize();
  }

  /** The wait after the caller's last word is over: end the turn once its words are in and sound finished. */
  private turnEndReached(): void {
    if (this.finalRequestedFrame < this.speechEndFrame && this.speechSinceFinal) {
      this.requestFinal();
      this.turnEndDue = this.frames + 1;
      return;
    }
    if (this.awaitingFinalFrames > 0 && this.frames - this.finalRequestedFrame < TURN_FINAL_WAIT_FRAMES) {
      // The words are not in yet: judge the turn once they are (checked again on the next frame).
      this.turnEndDue = this.frames + 1;
      return;
    }
    if (!this.turnEndExtended && this.soundsUnfinished()) {
      this.turnEndExtended = true;
      this.turnEndDue = this.speechEndFrame + this.unfinishedFrames;
      return;
    }
    this.endTurn();
  }

  /** The caller's turn is over: their words are recorded and a held reply starts playing. */
  private endTurn(): void {
    this.log.debug({ afterSpeechMs: (this.frames - this.speechEndFrame) * FRAME_MS, unfinished: this.turnEndExtended }, 'caller turn over');
    this.turnEndDue = -1;
    this.turnOpen = false;
    this.metric('turn_end');
    this.commitCallerTurn();
    this.releaseTurnEndWaiters();
    if (!this.playout.isHeld) return;
    this.playout.release();
    if (this.speech && this.playout.hasAudio) this.onFirstAudio(this.speech);
  }

  private releaseTurnEndWaiters(): void {
    const waiters = this.turnEndWaiters;
    this.turnEndWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves once the caller's turn is over and held replies play. */
  private turnEnded(): Promise<void> {
    return new Promise((resolve) => this.turnEndWaiters.push(resolve));
  }

  private readonly onPartial = (text: string): void => {
    this.partial = text;
    if (this.bargeIn && this.agentAudible()) this.judgeBargeIn();
  };

  private readonly onFinal = (text: string): void => {
    if (this.closed) return;
    const said = text.trim();
    this.partial = '';
    this.awaitingFinalFrames = 0;
    if (said) {
      const voiced = this.speechSinceFinal || this.detector.speaking;
      this.speechSinceFinal = this.detector.speaking;
      if (!voiced) {
        // Words the VAD never heard from the caller: the recogniser decoded the agent's echo (or noise).
        this.stats.unvoicedFinals++;
        this.log.debug({ words: said.split(/\s+/).length }, 'final without caller speech ignored');
        return;
      }
    }
    if (!said) {
      if (this.bargeIn && !this.detector.speaking) this.falseBargeIn('no words');
      return;
    }
    if (this.agentAudible()) {
      if (!this.policy.finalInterrupts(said)) {
        this.falseBargeIn('backchannel', said);
        return;
      }
      this.interrupt();
    }
    this.metric('stt_final');
    this.userSays(said);
  };

  private readonly onSttError = (err: Error): void => {
    void this.providerFailed(new StageError('stt', err));
  };

  private readonly onDtmf = (digit: string): void => {
    if (this.closed || this.machine.is('ending', 'transferring')) return;
    this.silentFrames = 0;
    if (this.agentAudible()) this.interrupt();
    this.dtmfDigits += digit;
    this.dtmfLastFrame = this.frames;
    if (digit === '#') this.flushDtmf();
  };

  private readonly onMediaClose = (): void => {
    if (this.machine.is('ending', 'transferring')) {
      // The end this conversation started (hangup, transfer) is under way: let it finish its records, but
      // stop waiting for audio that can no longer play.
      this.cancelSpeech();
      return;
    }
    this.close('caller_hangup');
  };

  private flushDtmf(): void {
    const digits = this.dtmfDigits;
    this.dtmfDigits = '';
    this.opts.sink.event({ kind: 'dtmf', at: new Date().toISOString(), digits });
    this.userSays(`[DTMF ${digits}]`);
    // Keyed digits end the caller's turn: nothing spoken is pending.
    if (!this.detector.speaking) this.endTurn();
  }

  // ---- barge-in ----

  private agentAudible(): boolean {
    const s = this.speech;
    return s !== null && s.interruptible && s.audible && this.machine.is('greeting', 'speaking') && this.policy.enabled;
  }

  private judgeBargeIn(): void {
    const ms = this.detector.speechMs;
    if (!this.bargeIn) {
      if (!this.policy.shouldPause(ms)) return;
      // Stop the agent's voice now; whether it resumes is decided once the speech can be judged.
      this.playout.pause();
      this.bargeIn = { onsetAt: this.detector.startAt - WINDOW_MS - this.inboundDelayMs, paused: true, tentativeMs: -1, stoppedAt: performance.now() };
    }
    this.bargeIn.tentativeMs = -1;
    if (this.policy.judge(ms, this.partial) === 'interrupt') this.interrupt();
  }

  /**
   * Caller sound over the agent, on the frame that carries it (LevelOnset: a rise well above the line's
   * background, and above the agent's echo): pause at once, 20 ms after it reached us, where the VAD needs
   * two to four windows more. While the caller keeps sounding like speech the pause holds; the VAD confirms
   * it, or the agent resumes once neither such sound nor likely speech came for resume_after_ms.
   */
  private levelOnset(rise: boolean): void {
    const b = this.bargeIn;
    const endMs = this.frames * FRAME_MS;
    if (b) {
      if (b.tentativeMs >= 0 && this.onset.holding) b.tentativeMs = Math.max(b.tentativeMs, endMs);
      return;
    }
    if (!rise) return;
    this.playout.pause();
    const now = performance.now();
    this.bargeIn = { onsetAt: now - FRAME_MS - this.inboundDelayMs, paused: true, tentativeMs: endMs, stoppedAt: now };
  }

  /**
   * A window below the speech threshold over the agent: a likely onset pauses the agent already (Silero's
   * probability climbs over a few windows); speech unconfirmed within resume_after_ms of the last likely
   * window (or caller sound) lets it go on.
   */
  private likelyOnset(probability: number, endMs: number, at: number): void {
    const b = this.bargeIn;
    const likely = probability >= this.ctx.barge_in.pause_threshold;
    if (!b) {
      if (!likely) return;
      this.playout.pause();
      this.bargeIn = { onsetAt: at - WINDOW_MS - this.inboundDelayMs, paused: true, tentativeMs: endMs, stoppedAt: performance.now() };
      return;
    }
    if (b.tentativeMs >= 0 && likely) b.tentativeMs = Math.max(b.tentativeMs, endMs);
    else if (b.tentativeMs >= 0 && endMs - b.tentativeMs >= this.ctx.barge_in.resume_after_ms) {
      this.playout.resume();
      this.bargeIn = null;
      this.stats.pausesResumed++;
    }
  }

  /** Caller speech over the agent was not an interruption: the agent carries on where it stopped. */
  private falseBargeIn(reason: string, transcript = ''): void {
    if (this.bargeIn?.paused) this.playout.resume();
    this.bargeIn = null;
    if (this.falseRecorded) return;
    this.falseRecorded = true;
    this.stats.falseBargeIns++;
    this.opts.sink.event({ kind: 'false_barge_in', at: new Date().toISOString(), reason, transcript, speechMs: Math.round(this.detector.speechMs) });
  }

  /** The caller took the floor: drop the agent's audio, abandon the reply, keep only what was heard. */
  private interrupt(): void {
    const speech = this.speech;
    if (!speech) return;
    const now = performance.now();
    const callerOnset = this.bargeIn?.onsetAt ?? now - WINDOW_MS - this.inboundDelayMs;
    const stoppedAt = this.bargeIn?.stoppedAt ?? now;
    const heard = this.playout.cut();
    this.speech = null;
    this.bargeIn = null;
    speech.abort.abort();
    this.truncateHistory(speech.messages, heard);
    this.recordAgentTurn(speech, heard, true);
    speech.settle(false);
    this.stats.bargeIns++;
    // As the caller has it: from their first sound (see `bargeIn`) to the last agent frame leaving; the
    // decision may come later.
    this.opts.sink.event({
      kind: 'barge_in',
      at: new Date().toISOString(),
      reactionMs: Math.round(stoppedAt - callerOnset),
      decisionMs: Math.round(now - callerOnset),
      heardText: heard,
    });
    this.machine.to('listening');
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

  // ---- turns ----

  private userSays(text: string): void {
    if (this.closed || this.machine.is('ending', 'transferring', 'starting')) return;
    if (this.callerTurn) this.callerTurn.text = `${this.callerTurn.text} ${text}`;
    else this.callerTurn = { text, startedAt: new Date().toISOString() };
    if (!this.turnOpen && this.turnEndDue < 0) this.commitCallerTurn();
    // A reply that leads into a tool ending or moving the call is heard out; the words are only recorded.
    if (this.speech?.kind === 'reply' && !this.speech.interruptible) return;
    this.silentFrames = 0;
    const pending = this.speech;
    const last = this.history[this.history.length - 1];
    if (pending && pending.kind === 'reply' && !pending.audible && last?.role === 'assistant') {
      // The caller went on before the reply was heard: answer both parts together.
      this.cancelSpeech();
    }
    const tail = this.history[this.history.length - 1];
    if (tail?.role === 'user' && this.machine.is('thinking')) tail.content = `${tail.content} ${text}`;
    else this.history.push({ role: 'user', content: text });
    void this.respond();
  }

  private commitCallerTurn(): void {
    const turn = this.callerTurn;
    if (!turn) return;
    this.callerTurn = null;
    if (this.turnGrammar) {
      // The answer the grammar was for is complete (it may have come as several finals).
      this.turnGrammar = false;
      this.stt?.setGrammar(null);
    }
    this.stats.turns++;
    this.opts.sink.turn({ speaker: 'caller', text: turn.text, startedAt: turn.startedAt, interrupted: false });
  }

  /**
   * A tool is about to end or move the call: the caller hears this speech to the end — audio a tentative
   * barge-in held back plays again, and caller speech no longer cuts it.
   */
  private lockSpeech(speech: Speech): void {
    speech.interruptible = false;
    if (this.bargeIn?.paused) this.playout.resume();
    this.bargeIn = null;
  }

  /**
   * A hint for the caller's next answer (digits, yes/no), applied once the question is heard, for the STT
   * and the turn-end judgement, until that answer's turn is over.
   */
  private expectAnswer(grammar: SttGrammar): void {
    this.stt?.setGrammar(grammar);
    this.turnGrammar = grammar !== null;
    this.expecting = grammar;
  }

  /** Resolves once the caller heard everything said so far (see ToolContext.playedOut). */
  private heardOut(): Promise<void> {
    if (this.speech) this.lockSpeech(this.speech);
    return this.playout.whenHeard();
  }

  /** Ends the current speech where it is: history and record keep what was heard of it. */
  private cancelSpeech(): void {
    const speech = this.speech;
    if (!speech) return;
    const full = this.playout.fullText();
    const heard = this.playout.cut();
    this.speech = null;
    this.bargeIn = null;
    speech.abort.abort();
    this.truncateHistory(speech.messages, heard);
    if (speech.audible) this.recordAgentTurn(speech, heard, heard.length < full.length);
    speech.settle(false);
  }

  private beginSpeech(kind: Speech['kind'], interruptible: boolean, messages: AssistantMessage[]): Speech {
    this.cancelSpeech();
    let settle!: (played: boolean) => void;
    const played = new Promise<boolean>((resolve) => (settle = resolve));
    const abort = new AbortController();
    const speech: Speech = { kind, interruptible, abort, messages, audible: false, startedAt: new Date().toISOString(), played, settle };
    this.speech = speech;
    this.playout.begin(() => this.onSpeechPlayed(speech));
    if (kind === 'reply' && this.turnOpen) this.playout.hold();
    return speech;
  }

  private onSpeechPlayed(speech: Speech): void {
    if (this.speech !== speech) return;
    this.speech = null;
    this.bargeIn = null;
    if (speech.audible) this.recordAgentTurn(speech, this.playout.fullText(), false);
    speech.settle(true);
    if (this.machine.is('greeting', 'speaking')) this.machine.to('listening');
  }

  private onFirstAudio(speech: Speech): void {
    if (speech.audible || this.playout.isHeld) return;
    speech.audible = true;
    if (speech.expect !== undefined) this.expectAnswer(speech.expect);
    else if (speech.kind === 'reply') this.expecting = null; // its hint, if any, is applied when it arrives
    if (speech.kind === 'reply') {
      this.metric('first_audio');
      speech.latency = this.latency.take();
    }
    if (this.machine.is('thinking', 'listening', 'speaking')) this.machine.to('speaking');
  }

  private recordAgentTurn(speech: Speech, text: string, interrupted: boolean): void {
    if (!text && !interrupted) return;
    this.opts.sink.turn({ speaker: 'agent', text, startedAt: speech.startedAt, endedAt: new Date().toISOString(), interrupted, latency: speech.latency });
  }

  private async greet(): Promise<void> {
    this.machine.to('greeting');
    const msg: AssistantMessage = { role: 'assistant', content: this.ctx.greeting };
    this.history.push(msg);
    try {
      await this.say(this.ctx.greeting, { interruptible: true, messages: [msg], cache: true });
    } catch (err) {
      await this.providerFailed(new StageError('tts', err));
    }
    if (this.machine.is('greeting')) this.machine.to('listening');
  }

  /**
   * Speaks a fixed text (greeting, prompt, farewell, apology) as its own speech; resolves true once heard
   * to the end. TTS failures throw.
   */
  private async say(text: string, options: { interruptible: boolean; messages?: AssistantMessage[]; cache?: boolean }): Promise<boolean> {
    const speech = this.beginSpeech('prompt', options.interruptible, options.messages ?? []);
    const { tts } = this.opts.providers;
    const { greetings } = this.opts;
    const voice = this.ctx.voice;
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

  /** Answers the caller: model rounds (with tools) streamed sentence by sentence into TTS. */
  private async respond(): Promise<void> {
    const speech = this.beginSpeech('reply', true, []);
    this.machine.to('thinking');
    const signal = speech.abort.signal;
    try {
      for (let round = 0; round < MAX_TOOL_ROUNDS && !signal.aborted; round++) {
        const { text, calls } = await this.replyRound(speech);
        if (signal.aborted || calls.length === 0) break;
        // A caller who goes on before their turn is over replaces this reply: its tools must not act yet.
        if (this.playout.isHeld) await this.turnEnded();
        if (signal.aborted) break;
        if (await this.runTools(calls, text, signal)) return;
      }
      if (signal.aborted) return;
      this.playout.finish();
      if (!speech.audible && !this.playout.hasAudio && this.speech === speech) {
        // Nothing to say (e.g. a silent tool round): back to listening at once.
        this.cancelSpeech();
        if (this.machine.is('thinking')) this.machine.to('listening');
      }
    } catch (err) {
      if (signal.aborted || this.closed) return;
      await this.providerFailed(err instanceof StageError ? err : new StageError('llm', err));
    }
  }

  private async replyRound(speech: Speech): Promise<{ text: string; calls: ToolCall[] }> {
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
        if (firstSentence) this.metric('first_sentence');
        firstSentence = false;
        sentences.push(piece);
      }
    };
    this.metric('llm_request');
    try {
      for await (const event of this.opts.providers.llm.chat(request, this.toolbox.schemas, signal)) {
        if (signal.aborted) break;
        if (event.type === 'text') {
          if (firstToken) this.metric('llm_first_token');
          firstToken = false;
          msg.content += event.text;
          enqueue(chunker.push(event.text));
        } else if (event.type === 'tool_call') {
          calls.push(event.call);
          if (this.toolbox.endsCall(event.call.name)) this.lockSpeech(speech);
        } else {
          speech.expect = event.grammar;
          if (speech.audible) this.expectAnswer(event.grammar);
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

  /** Synthesises sentences in order as they come; sentence n+1 is synthesised while n plays. */
  private async speakSentences(sentences: AsyncQueue<string>, speech: Speech): Promise<void> {
    const signal = speech.abort.signal;
    const { tts } = this.opts.providers;
    for await (const sentence of sentences) {
      if (signal.aborted) return;
      this.playout.sentence(sentence);
      this.metric('tts_request');
      let first = true;
      try {
        for await (const chunk of tts.synthesize(sentence, { voice: this.ctx.voice, signal })) {
          if (signal.aborted) return;
          if (first) this.metric('tts_first_audio');
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

  /** Runs the model's tool calls; true when one of them ended the call. */
  private async runTools(calls: ToolCall[], replyText: string, signal: AbortSignal): Promise<boolean> {
    const context: ToolContext = {
      call: this.opts.call,
      control: this.opts.control,
      context: this.ctx,
      replyText,
      signal,
      say: async (text) => {
        await this.heardOut();
        if (!this.closed) await this.say(text, { interruptible: false });
      },
      playedOut: () => this.heardOut(),
      end: (outcome) => {
        this.outcome = outcome;
        this.machine.to(outcome === 'transferred' ? 'transferring' : 'ending');
      },
    };
    for (const call of calls) {
      if (signal.aborted || this.closed) return true;
      this.stats.toolCalls++;
      const result = await this.toolbox.run(call, context);
      this.opts.sink.event({ kind: 'tool_call', at: new Date().toISOString(), name: call.name, arguments: call.arguments, result: result.content });
      this.history.push({ role: 'tool', toolCallId: call.id, name: call.name, content: result.content });
      if (result.ended || this.outcome) {
        this.close(this.outcome ?? 'completed');
        return true;
      }
    }
    return false;
  }


  // ---- no input, limits, failures ----

  private noInput(): void {
    this.silentFrames = 0;
    if (this.stats.noInputPrompts >= this.ctx.limits.no_input_prompts) {
      void this.finishWith('no_input', this.ctx.farewell);
      return;
    }
    this.stats.noInputPrompts++;
    const msg: AssistantMessage = { role: 'assistant', content: this.ctx.no_input_prompt };
    this.history.push(msg);
    this.say(this.ctx.no_input_prompt, { interruptible: true, messages: [msg] }).catch((err) => this.providerFailed(new StageError('tts', err)));
  }

  /** A DTMF digit reported by telephony (ARI), for transports whose media carries no DTMF. */
  dtmf(digit: string): void {
    this.onDtmf(digit);
  }

  /** Says `text` (not interruptible), hangs up, ends with `outcome`. Used by tools, drain and operators. */
  async finish(outcome: CallOutcome, text?: string): Promise<void> {
    return this.finishWith(outcome, text);
  }

  private async finishWith(outcome: CallOutcome, text?: string): Promise<void> {
    if (this.closed || this.machine.is('ending')) return;
    this.outcome = outcome;
    this.cancelSpeech();
    this.machine.to('ending');
    if (text) {
      try {
        await this.say(text, { interruptible: false });
      } catch (err) {
        this.log.warn({ err }, 'farewell could not be spoken');
      }
    }
    await this.hangup(outcome);
  }

  /** A provider failed with no fallback left: apologise (TTS, else a stock prompt), then hang up. */
  private async providerFailed(err: StageError): Promise<void> {
    if (this.closed || this.machine.is('ending')) return;
    const provider = this.opts.providers[err.stage].name;
    this.log.warn({ stage: err.stage, provider, err: err.cause }, 'provider failed');
    this.opts.sink.event({ kind: 'provider_error', at: new Date().toISOString(), provider, stage: err.stage, message: err.message });
    this.outcome = 'provider_failure';
    this.cancelSpeech();
    this.machine.to('ending');
    let spoken = false;
    if (err.stage !== 'tts') {
      try {
        spoken = await this.say(this.ctx.apology, { interruptible: false });
      } catch (ttsErr) {
        this.log.warn({ err: ttsErr }, 'apology could not be synthesised');
      }
    }
    if (!spoken && !this.closed) await playStockApology(this.opts.hooks, this.log);
    await this.hangup('provider_failure');
  }

  private async hangup(outcome: CallOutcome): Promise<void> {
    if (!this.closed) await requestHangup(this.opts.control, outcome, this.log);
    this.close(outcome);
  }

  // ---- plumbing ----

  /** How long caller audio waits in the engine before the pipeline sees it (the jitter buffer's delay). */
  private get inboundDelayMs(): number {
    return this.opts.media.counters.jitter.targetDelayMs;
  }

  private onState(to: ConversationState, from: ConversationState): void {
    this.log.debug({ from, to }, 'conversation state');
    const agentSpeaking = to === 'greeting' || to === 'speaking';
    this.detector.threshold = agentSpeaking ? this.ctx.barge_in.threshold_while_speaking : this.ctx.vad.threshold;
    if (to === 'listening') this.silentFrames = 0;
    this.emit('state', to, from);
  }

  private metric(moment: TurnMoment, at = performance.now()): void {
    const m = { moment, at };
    this.latency.observe(m);
    this.emit('metric', m);
  }
}
