// The call-level half both kinds of conversation (pipeline and speech-to-speech agent) share: the state
// machine, the media subscription, DTMF, the watchdogs and tools, and every way a call ends (finish, provider
// failure, hangup, close). Subclasses supply how their agent speaks, stops and is interrupted.
import { EventEmitter } from 'node:events';
import type { ContextConfig, Logger } from '@ai-agent/common';
import type { CallOutcome, ConversationState, InboundFrame, MediaStream } from '../call/index.ts';
import { CallStateMachine } from './call-state.ts';
import { CallWatchdogs } from './call-watchdogs.ts';
import { Playout } from './playout.ts';
import { fillVariables, type VariablesLookup } from './context-variables.ts';
import { ToolRunner, type ToolHost } from './tool-runner.ts';
import type { ConversationEvents, ConversationHooks } from './types.ts';

/** What both conversations' options carry about the call they serve. */
export interface CallHost extends ToolHost {
  media: MediaStream;
  hooks?: ConversationHooks;
  /** Values for the context's {{variables}} (the pre-call lookup), asked for before the agent first speaks. */
  variables?: VariablesLookup;
  /** Take DTMF from the media stream (default); ARI calls feed `dtmf()` instead, so no digit counts twice. */
  dtmfFromMedia?: boolean;
}

/** The counters the shared half keeps; each conversation's stats add its own. */
export interface CallStats {
  toolCalls: number;
  noInputPrompts: number;
}

export abstract class CallConversation<S extends CallStats = CallStats> extends EventEmitter<ConversationEvents> {
  protected readonly ctx: ContextConfig;
  protected readonly machine: CallStateMachine;
  protected readonly playout: Playout;
  protected readonly watchdogs: CallWatchdogs;
  protected readonly tools: ToolRunner;
  /** Aborted when the call closes: every provider request of the call listens to it. */
  protected readonly callAbort = new AbortController();
  protected outcome: CallOutcome | null = null;
  protected closed = false;
  /** The context's system prompt and greeting with this call's {{variables}} filled in (see personalise). */
  protected prompts: { system: string; greeting: string };

  protected constructor(
    protected readonly host: CallHost,
    protected readonly log: Logger,
    readonly stats: S,
  ) {
    super();
    this.ctx = host.context;
    this.prompts = { system: this.ctx.system_prompt, greeting: this.ctx.greeting };
    this.machine = new CallStateMachine((to, from) => this.onState(to, from));
    this.playout = new Playout(host.media, host.call.id);
    this.watchdogs = new CallWatchdogs(this.ctx.limits, host.sink, { noInput: () => this.noInput(), digits: (digits) => this.onDigits(digits) });
    this.tools = new ToolRunner(host, this.machine, stats, {
      say: (text) => this.toolSay(text),
      playedOut: () => this.toolPlayedOut(),
      ending: (outcome) => (this.outcome = outcome),
      holdOn: (text) => this.toolHoldOn(text),
      callSignal: this.callAbort.signal,
    });
  }

  get state(): ConversationState {
    return this.machine.state;
  }

  // ---- what each kind of conversation does its own way ----

  /** One inbound frame (hot path: every 20 ms per call). */
  protected abstract readonly onFrame: (frame: InboundFrame) => void;
  /** Releases what the subclass holds (called once, as the call closes, before the call's abort). */
  protected abstract release(): void;
  /** A keyed digit while the agent speaks: stop it if it may be interrupted. */
  protected abstract interruptForDigit(): void;
  /** Keyed digits are complete. */
  protected abstract onDigits(digits: string): void;
  /** The media ended while this conversation's own ending is under way: stop waiting for audio. */
  protected abstract stopWaitingForAudio(): void;
  /** Drops whatever the agent is saying, without counting a barge-in (the call is ending). */
  protected abstract stopSpeaking(): void;
  /** Says `text`, not interruptible; resolves once heard (or it could not be said). */
  protected abstract sayLast(text: string): Promise<void>;
  /** A tool's speech: `text` said once what the agent said so far was heard (see ToolContext.say). */
  protected abstract toolSay(text: string): Promise<void>;
  /** Resolves once what the agent said so far was heard (see ToolContext.playedOut). */
  protected abstract toolPlayedOut(): Promise<void>;
  /** A slow tool asks to fill the silence (see ToolContext.holdOn); an agent provider speaks for itself. */
  protected toolHoldOn(_text: string): void {}
  /** Re-prompts a silent caller. */
  protected abstract promptNoInput(): void;
  /** Extra work on a state change (the pipeline retunes its VAD). */
  protected stateChanged(_to: ConversationState): void {}

  // ---- lifecycle ----

  /**
   * Fills the prompts' {{variables}} from the host's lookup (the greeting waits for it); false when the call
   * closed meanwhile. Called only with a lookup, so a call without one starts without a pause.
   */
  protected async personalise(lookup: VariablesLookup): Promise<boolean> {
    const values = await lookup(this.callAbort.signal);
    if (this.closed) return false;
    this.prompts = { system: fillVariables(this.ctx.system_prompt, values), greeting: fillVariables(this.ctx.greeting, values) };
    return true;
  }

  /** Subscribes to the call's media; false (and the call closed) when the caller already left. */
  protected attachMedia(): boolean {
    const { media } = this.host;
    if (media.closed) {
      this.close('caller_hangup');
      return false;
    }
    media.on('frame', this.onFrame);
    if (this.host.dtmfFromMedia !== false) media.on('dtmf', this.onDtmf);
    media.on('close', this.onMediaClose);
    return true;
  }

  /** Ends the conversation and releases everything it holds. Idempotent. */
  close(outcome: CallOutcome = 'caller_hangup'): void {
    if (this.closed) return;
    this.closed = true;
    const final = this.outcome ?? outcome;
    this.outcome = final;
    this.release();
    this.callAbort.abort();
    const { media } = this.host;
    media.off('frame', this.onFrame);
    media.off('dtmf', this.onDtmf);
    media.off('close', this.onMediaClose);
    this.playout.dispose();
    this.machine.to('ended');
    this.emit('ended', final);
  }

  /** A DTMF digit reported by telephony (ARI), for transports whose media carries no DTMF. */
  dtmf(digit: string): void {
    this.onDtmf(digit);
  }

  /** Says `text` (not interruptible), hangs up, ends with `outcome`. Used by watchdogs, drain and operators. */
  finish(outcome: CallOutcome, text?: string): Promise<void> {
    return this.finishWith(outcome, text);
  }

  private readonly onDtmf = (digit: string): void => {
    if (this.closed || this.machine.is('ending', 'transferring')) return;
    this.watchdogs.resetSilence();
    this.interruptForDigit();
    this.watchdogs.digit(digit);
  };

  private readonly onMediaClose = (): void => {
    // The end this conversation started (hangup, transfer) is under way: let it finish its records.
    if (this.machine.is('ending', 'transferring')) this.stopWaitingForAudio();
    else this.close('caller_hangup');
  };

  protected async finishWith(outcome: CallOutcome, text?: string): Promise<void> {
    if (this.closed || this.machine.is('ending')) return;
    this.outcome = outcome;
    this.stopSpeaking();
    this.machine.to('ending');
    if (text) await this.sayLast(text);
    await this.hangup(outcome);
  }

  /**
   * A provider failed with no fallback left: record it, say `apologise()` if the agent still can, else have
   * Asterisk play its stock apology, then hang up. Ignored once the call is ending or moving away.
   */
  protected async failed(stage: 'stt' | 'llm' | 'tts' | 'agent', provider: string, err: Error, cause: unknown, apologise: () => Promise<boolean>): Promise<void> {
    if (this.closed || this.machine.is('ending', 'transferring')) return;
    this.log.warn({ stage, provider, err: cause }, 'provider failed');
    this.host.sink.event({ kind: 'provider_error', at: new Date().toISOString(), provider, stage, message: err.message });
    this.outcome = 'provider_failure';
    this.stopSpeaking();
    this.machine.to('ending');
    const spoken = await apologise();
    if (!spoken && !this.closed && this.host.hooks?.playStockPrompt) {
      try {
        await this.host.hooks.playStockPrompt('apology');
      } catch (promptErr) {
        this.log.warn({ err: promptErr }, 'stock apology could not be played');
      }
    }
    await this.hangup('provider_failure');
  }

  /** Asks telephony to hang up (a failure is logged: the caller may be gone), then closes. */
  protected async hangup(outcome: CallOutcome): Promise<void> {
    if (!this.closed) {
      try {
        await this.host.control.hangup(outcome);
      } catch (err) {
        this.log.warn({ err }, 'hangup failed');
      }
    }
    this.close(outcome);
  }

  private noInput(): void {
    if (this.stats.noInputPrompts >= this.ctx.limits.no_input_prompts) {
      void this.finishWith('no_input', this.ctx.farewell);
      return;
    }
    this.stats.noInputPrompts++;
    this.promptNoInput();
  }

  private onState(to: ConversationState, from: ConversationState): void {
    this.log.debug({ from, to }, 'conversation state');
    this.stateChanged(to);
    if (to === 'listening') this.watchdogs.resetSilence();
    this.emit('state', to, from);
  }
}

/** Resolves once everything queued on `media` so far has played (or was dropped). */
export function playedOut(media: MediaStream): Promise<void> {
  if (media.closed || media.queuedSamples === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const id = media.mark();
    const onMark = (markId: string): void => {
      if (markId !== id) return;
      media.off('mark', onMark);
      resolve();
    };
    media.on('mark', onMark);
  });
}
