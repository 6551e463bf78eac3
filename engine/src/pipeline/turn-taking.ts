// Whose turn it is: the caller's speech as the VAD hears it, the end of their turn (endpointing) and their
// words, gathered over the turn and recorded once it is over. Time is counted in inbound frames.
//
// Turn end: when the caller goes quiet the recogniser is finalized at once and the reply is prepared, but
// its audio is held until the turn is over: `endpointing_ms` after the end of speech, or
// `endpointing_unfinished_ms` when what was said so far sounds unfinished (digits expected, a trailing
// "and", a filler). A caller who goes on before then is answered once, for everything they said.
import type { ContextConfig, Logger } from '@ai-agent/common';
import { FRAME_MS } from '../call/index.ts';
import type { SttGrammar } from '../providers/types.ts';
import type { TurnMoment } from './latency-observer.ts';
import { expectsDigits, looksUnfinished } from './turn-end.ts';
import type { ConversationStats } from './types.ts';
import { SpeechDetector, type SpeechChange } from './vad/speech-detector.ts';
import { WINDOW_MS } from './vad/vad-service.ts';

/** Longest wait for an STT final after the endpoint before silence counts as no input again (10 s). */
const FINAL_WAIT_FRAMES = 500;
/** Longest the end of a turn waits for the STT final it is judged on (2 s); then it ends without it. */
const TURN_FINAL_WAIT_FRAMES = 100;

/** The caller's words of one turn. */
export interface CallerTurn {
  text: string;
  startedAt: string;
}

export interface TurnTakingOptions {
  context: ContextConfig;
  log: Logger;
  stats: ConversationStats;
  /** The call's frame count. */
  clock: { readonly frames: number };
  metric(moment: TurnMoment, at?: number): void;
  /** Asks the recogniser for the final of what the caller said so far. */
  requestFinal(): void;
  /** Sets the recogniser's grammar (null: none). */
  setGrammar(grammar: SttGrammar): void;
  /** The caller's words of a turn are complete. */
  commitCallerTurn(turn: CallerTurn): void;
  /** The caller's turn is over (its words are committed): a held reply may play. */
  turnEnded(): void;
}

export class TurnTaking {
  readonly detector: SpeechDetector;
  /** The recogniser's latest partial of the caller's current utterance. */
  partial = '';
  /** Frames the no-input watchdog still waits for a pending STT final (counted down, never a timer). */
  private awaitingFinalFrames = 0;
  /** The VAD heard the caller since the last STT final: a final without it is echo or noise. */
  private speechSinceFinal = false;
  /** The STT runs with a grammar the responder asked for, for one caller answer. */
  private turnGrammar = false;
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
  private callerTurn: CallerTurn | null = null;
  /** Replies waiting for the turn end before they may act (tools). */
  private turnEndWaiters: Array<() => void> = [];
  private readonly endpointFrames: number;
  private readonly unfinishedFrames: number;

  constructor(private readonly opts: TurnTakingOptions) {
    const ctx = opts.context;
    this.detector = new SpeechDetector({ threshold: ctx.vad.threshold, minSilenceMs: ctx.vad.min_silence_ms, windowMs: WINDOW_MS });
    this.endpointFrames = Math.ceil(ctx.endpointing_ms / FRAME_MS);
    this.unfinishedFrames = Math.ceil(ctx.endpointing_unfinished_ms / FRAME_MS);
  }

  /** The caller has the floor: a reply started now is held until their turn ends. */
  get callerHasFloor(): boolean {
    return this.turnOpen;
  }

  /** The caller went quiet and the end of their turn is pending. */
  get endPending(): boolean {
    return this.turnEndDue >= 0;
  }

  /** One VAD window of caller speech probability. */
  speechWindow(probability: number, endMs: number, at: number): SpeechChange {
    const change = this.detector.update(probability, endMs, at);
    if (change === 'start') {
      this.speechSinceFinal = true;
      this.turnOpen = true;
      this.turnEndDue = -1;
      this.partial = '';
    }
    return change;
  }

  /** Caller speech over the agent ended: it did not take the floor (by itself). */
  speechOverAgentEnded(): void {
    this.turnOpen = false;
  }

  /** The caller's speech ended (the agent was not speaking): the end of their turn is judged. */
  speechEnded(inboundDelayMs: number): void {
    // When the caller's last word left them: the frame carrying it waited in the jitter buffer first.
    this.opts.metric('speech_end', this.detector.lastSpeechAt - inboundDelayMs);
    this.endpoint();
  }

  /** Ends the caller's turn once its due frame is reached. */
  checkTurnEnd(): void {
    if (this.turnEndDue >= 0 && this.opts.clock.frames >= this.turnEndDue) this.turnEndReached();
  }

  /** Counts one frame of the wait for a pending STT final; true while it waits (the caller is not silent). */
  countFinalWait(): boolean {
    if (this.awaitingFinalFrames <= 0) return false;
    this.awaitingFinalFrames--;
    return true;
  }

  /** The recogniser's final arrived (`said`: its trimmed text); false when it is to be ignored. */
  finalArrived(said: string): boolean {
    this.partial = '';
    this.awaitingFinalFrames = 0;
    if (!said) return true;
    const voiced = this.speechSinceFinal || this.detector.speaking;
    this.speechSinceFinal = this.detector.speaking;
    if (voiced) return true;
    // Words the VAD never heard from the caller: the recogniser decoded the agent's echo (or noise).
    this.opts.stats.unvoicedFinals++;
    this.opts.log.debug({ words: said.split(/\s+/).length }, 'final without caller speech ignored');
    return false;
  }

  /** Words of the caller's current turn (recorded at once when the turn is already over). */
  callerSaid(text: string): void {
    if (this.callerTurn) this.callerTurn.text = `${this.callerTurn.text} ${text}`;
    else this.callerTurn = { text, startedAt: new Date().toISOString() };
    if (!this.turnOpen && this.turnEndDue < 0) this.commitCallerTurn();
  }

  /**
   * A hint for the caller's next answer (digits, yes/no), applied once the question is heard, for the STT
   * and the turn-end judgement, until that answer's turn is over.
   */
  expectAnswer(grammar: SttGrammar): void {
    this.opts.setGrammar(grammar);
    this.turnGrammar = grammar !== null;
    this.expecting = grammar;
  }

  /** A reply without a hint was heard: the caller's next answer is open. */
  expectAnything(): void {
    this.expecting = null;
  }

  /** Resolves once the caller's turn is over and held replies play. */
  ended(): Promise<void> {
    return new Promise((resolve) => this.turnEndWaiters.push(resolve));
  }

  /** The caller's turn is over: their words are recorded and a held reply starts playing. */
  endTurn(): void {
    this.opts.log.debug({ afterSpeechMs: (this.opts.clock.frames - this.speechEndFrame) * FRAME_MS, unfinished: this.turnEndExtended }, 'caller turn over');
    this.turnEndDue = -1;
    this.turnOpen = false;
    this.opts.metric('turn_end');
    this.commitCallerTurn();
    this.releaseTurnEndWaiters();
    this.opts.turnEnded();
  }

  /** The call is over: the words so far are recorded and nothing waits for the turn end any more. */
  close(): void {
    this.commitCallerTurn();
    this.releaseTurnEndWaiters();
  }

  /**
   * The caller went quiet: ask STT for the final now, so the reply is ready by the time the turn ends and
   * the turn is judged on the words themselves (a partial lags the audio by up to 200 ms). Digits are the
   * exception: the recogniser runs on, so a number read out with pauses is decoded as one utterance.
   */
  private endpoint(): void {
    // The wait is silence as the caller has it, so it counts from the last window that heard speech (the
    // VAD's own end decision comes `min_silence_ms` and a window later). Frames and VAD windows share the
    // stream's audio timeline.
    this.speechEndFrame = Math.min(this.opts.clock.frames, Math.ceil(this.detector.lastSpeechMs / FRAME_MS));
    this.turnEndExtended = this.unfinishedFrames > this.endpointFrames && expectsDigits(this.expecting);
    this.turnEndDue = this.speechEndFrame + (this.turnEndExtended ? this.unfinishedFrames : this.endpointFrames);
    if (!this.turnEndExtended) this.requestFinal();
  }

  private soundsUnfinished(): boolean {
    if (this.unfinishedFrames <= this.endpointFrames) return false;
    return looksUnfinished(`${this.callerTurn?.text ?? ''} ${this.partial}`, this.expecting, this.opts.context.language);
  }

  private requestFinal(): void {
    this.finalRequestedFrame = this.opts.clock.frames;
    this.awaitingFinalFrames = FINAL_WAIT_FRAMES;
    this.opts.metric('endpoint');
    this.opts.requestFinal();
  }

  /** The wait after the caller's last word is over: end the turn once its words are in and sound finished. */
  private turnEndReached(): void {
    const frames = this.opts.clock.frames;
    if (this.finalRequestedFrame < this.speechEndFrame && this.speechSinceFinal) {
      this.requestFinal();
      this.turnEndDue = frames + 1;
      return;
    }
    if (this.awaitingFinalFrames > 0 && frames - this.finalRequestedFrame < TURN_FINAL_WAIT_FRAMES) {
      // The words are not in yet: judge the turn once they are (checked again on the next frame).
      this.turnEndDue = frames + 1;
      return;
    }
    if (!this.turnEndExtended && this.soundsUnfinished()) {
      this.turnEndExtended = true;
      this.turnEndDue = this.speechEndFrame + this.unfinishedFrames;
      return;
    }
    this.endTurn();
  }

  private releaseTurnEndWaiters(): void {
    const waiters = this.turnEndWaiters;
    this.turnEndWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private commitCallerTurn(): void {
    const turn = this.callerTurn;
    if (!turn) return;
    this.callerTurn = null;
    if (this.turnGrammar) {
      // The answer the grammar was for is complete (it may have come as several finals).
      this.turnGrammar = false;
      this.opts.setGrammar(null);
    }
    this.opts.commitCallerTurn(turn);
  }
}
