// Size: over the ~300-line mark. Its parts (turn taking, barge-in, replies, watchdogs, tools, the ways a
// call ends) are their own files; what stays is the orchestration that wires them: the STT/VAD/frame
// handlers and the reply rounds with tools, which share the call's closed/outcome state.
import { sampleRateOf } from '../audio/codec.ts';
import type { ChatMessage, SttStream, ToolCall } from '../providers/types.ts';
import { wireAudioOf } from '../providers/wire-audio.ts';
import { FRAME_MS, NO_PCM, PIPELINE_SAMPLE_RATE, type ConversationState, type InboundFrame } from '../call/index.ts';
import { meanAbs } from '../audio/level.ts';
import { BargeIn } from './barge-in.ts';
import { addToolAnswer, holdOpenToolCalls } from './tool-answers.ts';
import { EchoGuard } from './echo-guard.ts';
import { CallConversation } from './call-conversation.ts';
import { LatencyObserver, type TurnMoment } from './latency-observer.ts';
import { ReplyRunner, StageError, type AssistantMessage } from './reply-runner.ts';
import { TurnTaking } from './turn-taking.ts';
import type { ConversationOptions, ConversationStats } from './types.ts';
import type { VadStream } from './vad/vad-service.ts';

/** Model rounds per caller turn (each tool result starts another). */
const MAX_TOOL_ROUNDS = 4;
/** Busy-recogniser turns in a row answered with `busy_prompt`; the next one ends the call with the apology. */
const BUSY_TURNS_ASKED_AGAIN = 2;

/**
 * One call's conversation: caller audio → VAD/endpointing and streaming STT → LLM (with tools) → sentence
 * chunks → TTS → the call's media, with barge-in. States: starting → greeting → listening ⇄ thinking ⇄
 * speaking → (transferring) → ending → ended. All timing that matters to the caller is counted in inbound
 * frames (they arrive every 20 ms even in silence), so the call owns no timers. The parts: TurnTaking
 * (whose turn it is), BargeIn (caller speech over the agent), ReplyRunner (the agent's speech), and the
 * call-level half shared with agent calls (CallConversation: watchdogs, tools, ending).
 */
export class Conversation extends CallConversation<ConversationStats> {
  private readonly opts: ConversationOptions;
  private readonly turns: TurnTaking;
  private readonly bargeIn: BargeIn;
  private readonly echo: EchoGuard;
  private readonly latency = new LatencyObserver();
  private readonly history: ChatMessage[] = [];
  private readonly replies: ReplyRunner;
  private stt: SttStream | null = null;
  /** Caller turns in a row lost to a busy recogniser (a turn heard starts the count again). */
  private busyTurns = 0;
  private vadStream: VadStream | null = null;
  /** The VAD and the level meters hear the wire's own 8 kHz audio (`frame.wireSamples`), not the pipeline's 16 kHz. */
  private vadNarrow = false;

  constructor(options: ConversationOptions) {
    super(options, options.log.child({ callId: options.call.id }), {
      turns: 0, bargeIns: 0, falseBargeIns: 0, pausesResumed: 0, unvoicedFinals: 0, toolCalls: 0, noInputPrompts: 0, busyPrompts: 0,
    });
    this.opts = options;
    const b = this.ctx.barge_in;
    this.echo = new EchoGuard({ enabled: b.echo_margin_db > 0, marginDb: b.echo_margin_db, tailFrames: Math.ceil(b.echo_tail_ms / FRAME_MS) });
    this.turns = new TurnTaking({
      context: this.ctx,
      log: this.log,
      stats: this.stats,
      clock: this.watchdogs,
      metric: (moment, at) => this.metric(moment, at),
      requestFinal: () => {
        if (this.stt && this.opts.providers.stt.capabilities.finalize) this.stt.finalize();
      },
      setGrammar: (grammar) => this.stt?.setGrammar(grammar),
      commitCallerTurn: (turn) => {
        this.stats.turns++;
        this.opts.sink.turn({ speaker: 'caller', text: turn.text, startedAt: turn.startedAt, interrupted: false });
      },
      turnEnded: () => this.releaseHeldReply(),
    });
    this.bargeIn = new BargeIn({
      config: b,
      detector: this.turns.detector,
      playout: this.playout,
      stats: this.stats,
      sink: options.sink,
      inboundDelayMs: () => this.inboundDelayMs,
      interrupt: () => this.interrupt(),
    });
    this.replies = new ReplyRunner({
      context: this.ctx,
      providers: options.providers,
      greetings: options.greetings,
      sink: options.sink,
      playout: this.playout,
      machine: this.machine,
      history: this.history,
      toolbox: this.tools.toolbox,
      latency: this.latency,
      metric: (moment) => this.metric(moment),
      turns: this.turns,
      bargeIn: this.bargeIn,
    });
  }

  /** The conversation so far, as the model sees it (a copy). */
  get messages(): ChatMessage[] {
    return this.history.map((m) => ({ ...m }));
  }

  /** Starts listening and greets; resolves once STT is open (the greeting is already playing by then). */
  async start(): Promise<void> {
    const { media, vad } = this.opts;
    const { variables } = this.host;
    if (variables && !(await this.personalise(variables))) return;
    this.history.push({ role: 'system', content: this.prompts.system });
    if (!this.attachMedia()) return;
    // A telephone line is scored as received, at 8 kHz (see VadRate); anything wider at the pipeline's rate.
    this.vadNarrow = sampleRateOf(media.wireFormat) === 8000;
    this.vadStream = vad.open(this.onVad, this.vadNarrow ? 8000 : PIPELINE_SAMPLE_RATE);
    // Warm start: the model's and the voice's connections open while the greeting plays (the STT's below).
    this.warmProviders();
    if (this.prompts.greeting) void this.greet();
    else this.machine.to('listening');
    try {
      const stt = await this.opts.providers.stt.open({
        sampleRate: PIPELINE_SAMPLE_RATE,
        sourceSampleRate: sampleRateOf(media.wireFormat),
        wire: wireAudioOf(media.wireFormat),
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
      stt.on('error', this.onSttError).on('turnLost', this.onTurnLost);
    } catch (err) {
      void this.providerFailed(new StageError('stt', err));
    }
  }

  protected release(): void {
    this.recordUsage();
    this.turns.close();
    this.replies.close();
    this.stt?.off('partial', this.onPartial).off('final', this.onFinal).off('error', this.onSttError).off('turnLost', this.onTurnLost);
    this.stt?.close();
    this.stt = null;
    this.vadStream?.close();
    this.vadStream = null;
  }

  // ---- inbound audio (hot path: every 20 ms per call) ----

  protected readonly onFrame = (frame: InboundFrame): void => {
    if (this.closed) return;
    // Each reads the wire's own audio where it can: then an 8 kHz call's frame is never resampled to 16 kHz.
    const stt = this.stt;
    if (stt) stt.write(stt.wireOnly === true ? NO_PCM : frame.samples, frame.wireSamples);
    const narrow = this.vadNarrow ? frame.wireSamples : null;
    this.vadStream?.push(narrow ?? frame.samples);
    const level = meanAbs(narrow ?? frame.samples);
    const turns = this.turns;
    this.echo.frame(level, this.opts.media.outputLevel, !this.bargeIn.judging && !turns.detector.speaking);
    const watchdogs = this.watchdogs;
    watchdogs.countFrame();
    this.bargeIn.levelFrame(level, this.echo.callerAudible(1), this.agentAudible(), watchdogs.frames);
    if (watchdogs.atMaxDuration) {
      void this.finishWith('max_duration', this.ctx.farewell);
      return;
    }
    turns.checkTurnEnd();
    watchdogs.flushIdleDigits();
    if (this.machine.state === 'listening' && !turns.detector.speaking && !turns.endPending && !watchdogs.collectingDigits) {
      // While the recogniser still owes the final of words the caller said, the caller is not silent.
      if (!turns.countFinalWait()) watchdogs.countSilence();
    }
  };

  private readonly onVad = (vadProbability: number, endMs: number, at: number): void => {
    if (this.closed) return;
    // Speech that is only the line's echo of the agent is not the caller's.
    const probability = this.echo.callerAudible() ? vadProbability : 0;
    const turns = this.turns;
    const change = turns.speechWindow(probability, endMs, at);
    if (change === 'start') {
      this.watchdogs.resetSilence();
      this.bargeIn.utteranceStarted();
      // The reply to this speech is a second or two away: an HTTP connection idle since the greeting may be gone.
      this.warmProviders();
    }
    if (this.agentAudible()) {
      if (change === 'end') turns.speechOverAgentEnded();
      if (turns.detector.speaking) this.bargeIn.speechOver(turns.partial);
      else if (change === 'end' && this.bargeIn.judging) this.bargeIn.falseBargeIn('short speech');
      else this.bargeIn.likelyOnset(probability, endMs, at);
      return;
    }
    if (change === 'end') turns.speechEnded(this.inboundDelayMs);
  };

  /** The caller's turn is over: a reply held for it starts playing. */
  private releaseHeldReply(): void {
    if (!this.playout.isHeld) return;
    this.playout.release();
    const speech = this.replies.current;
    if (speech && this.playout.hasAudio) this.replies.onFirstAudio(speech);
  }

  private readonly onPartial = (text: string): void => {
    this.turns.partial = text;
    if (this.bargeIn.judging && this.agentAudible()) this.bargeIn.speechOver(text);
  };

  private readonly onFinal = (text: string): void => {
    if (this.closed) return;
    const said = text.trim();
    if (!this.turns.finalArrived(said)) return;
    if (!said) {
      if (this.bargeIn.judging && !this.turns.detector.speaking) this.bargeIn.falseBargeIn('no words');
      return;
    }
    if (this.agentAudible()) {
      if (!this.bargeIn.finalInterrupts(said)) {
        this.bargeIn.falseBargeIn('backchannel', said);
        return;
      }
      this.interrupt();
    }
    this.metric('stt_final');
    this.busyTurns = 0;
    this.userSays(said);
  };

  private readonly onSttError = (err: Error): void => {
    void this.providerFailed(new StageError('stt', err));
  };

  private readonly onTurnLost = (err: Error): void => {
    if (this.busyTurns < BUSY_TURNS_ASKED_AGAIN) void this.askAgain(err);
    else void this.providerFailed(new StageError('stt', err));
  };

  /**
   * Every recogniser stayed busy through the caller's turn (a saturated server): its words are lost, not the
   * call. Once the turn is over the caller is asked to say it again; a reply already under way goes on instead.
   */
  private async askAgain(err: Error): Promise<void> {
    if (this.closed || this.machine.is('ending', 'transferring')) return;
    this.busyTurns++;
    this.log.warn({ err, inARow: this.busyTurns }, 'recogniser busy: the caller is asked to say it again');
    this.host.sink.event({ kind: 'provider_error', at: new Date().toISOString(), provider: this.opts.providers.stt.name, stage: 'stt', message: err.message, recovered: true });
    if (this.turns.callerHasFloor) await this.turns.ended();
    if (this.closed || !this.machine.is('listening')) return;
    this.stats.busyPrompts++;
    this.prompt(this.ctx.busy_prompt);
  }

  protected interruptForDigit(): void {
    if (this.agentAudible()) this.interrupt();
  }

  protected stopWaitingForAudio(): void {
    this.replies.cancelSpeech();
  }

  protected onDigits(digits: string): void {
    this.userSays(`[DTMF ${digits}]`);
    // Keyed digits end the caller's turn: nothing spoken is pending.
    if (!this.turns.detector.speaking) this.turns.endTurn();
  }

  // ---- barge-in ----

  private agentAudible(): boolean {
    const s = this.replies.current;
    return s !== null && s.interruptible && s.audible && this.machine.is('greeting', 'speaking') && this.bargeIn.enabled;
  }

  /** The caller took the floor: drop the agent's audio, abandon the reply, keep only what was heard. */
  private interrupt(): void {
    const speech = this.replies.current;
    if (!speech) return;
    const interruption = this.bargeIn.interruption();
    const heard = this.replies.interrupt(speech);
    this.bargeIn.recordInterruption(interruption, heard);
    this.machine.to('listening');
  }

  // ---- turns ----

  private userSays(text: string): void {
    if (this.closed || this.machine.is('ending', 'transferring', 'starting')) return;
    this.turns.callerSaid(text);
    // A reply that leads into a tool ending or moving the call is heard out; the words are only recorded.
    const pending = this.replies.current;
    if (pending?.kind === 'reply' && !pending.interruptible) return;
    this.watchdogs.resetSilence();
    const last = this.history[this.history.length - 1];
    if (pending && pending.kind === 'reply' && !pending.audible && last?.role === 'assistant') {
      // The caller went on before the reply was heard: answer both parts together.
      this.replies.cancelSpeech();
    }
    // Tools still running for the reply the caller talked over answer later, into these stand-ins.
    holdOpenToolCalls(this.history);
    const tail = this.history[this.history.length - 1];
    if (tail?.role === 'user' && this.machine.is('thinking')) tail.content = `${tail.content} ${text}`;
    else this.history.push({ role: 'user', content: text });
    void this.respond();
  }

  private async greet(): Promise<void> {
    this.machine.to('greeting');
    const { greeting } = this.prompts;
    const msg: AssistantMessage = { role: 'assistant', content: greeting };
    this.history.push(msg);
    try {
      // A greeting made for one caller is not kept: it would push the contexts' own out of the cache.
      await this.replies.say(greeting, { interruptible: true, messages: [msg], cache: greeting === this.ctx.greeting });
    } catch (err) {
      await this.providerFailed(new StageError('tts', err));
    }
    if (this.machine.is('greeting')) this.machine.to('listening');
  }

  /** Answers the caller: model rounds (with tools) streamed sentence by sentence into TTS. */
  private async respond(): Promise<void> {
    const speech = this.replies.beginSpeech('reply', true, []);
    this.machine.to('thinking');
    const signal = speech.abort.signal;
    try {
      for (let round = 0; round < MAX_TOOL_ROUNDS && !signal.aborted; round++) {
        const { text, calls } = await this.replies.replyRound(speech);
        if (signal.aborted || calls.length === 0) break;
        // A caller who goes on before their turn is over replaces this reply: its tools must not act yet.
        if (this.playout.isHeld) await this.turns.ended();
        if (signal.aborted) break;
        if (await this.runTools(calls, text, signal)) return;
      }
      if (signal.aborted) return;
      this.playout.finish();
      if (!speech.audible && !this.playout.hasAudio && this.replies.current === speech) {
        // Nothing to say (e.g. a silent tool round): back to listening at once.
        this.replies.cancelSpeech();
        if (this.machine.is('thinking')) this.machine.to('listening');
      }
    } catch (err) {
      if (signal.aborted || this.closed) return;
      await this.providerFailed(err instanceof StageError ? err : new StageError('llm', err));
    }
  }

  /** Runs the model's tool calls; true when one of them ended the call. */
  private async runTools(calls: ToolCall[], replyText: string, signal: AbortSignal): Promise<boolean> {
    const context = this.tools.context(replyText, signal);
    for (const [i, call] of calls.entries()) {
      if (signal.aborted || this.closed) {
        for (const skipped of calls.slice(i)) addToolAnswer(this.history, skipped, 'not run: the caller spoke before it started');
        return true;
      }
      const result = await this.tools.run(call, context);
      addToolAnswer(this.history, call, result.content);
      if (result.ended || this.outcome) {
        this.close(this.outcome ?? 'completed');
        return true;
      }
    }
    return false;
  }

  // ---- how this conversation speaks, stops and fails ----

  protected promptNoInput(): void {
    this.prompt(this.ctx.no_input_prompt);
  }

  /** Speaks a prompt the caller may interrupt, kept in the model's history as the agent's words. */
  private prompt(text: string): void {
    const msg: AssistantMessage = { role: 'assistant', content: text };
    this.history.push(msg);
    this.replies.say(text, { interruptible: true, messages: [msg] }).catch((err) => this.providerFailed(new StageError('tts', err)));
  }

  protected stopSpeaking(): void {
    this.replies.cancelSpeech();
  }

  protected async sayLast(text: string): Promise<void> {
    try {
      await this.replies.say(text, { interruptible: false });
    } catch (err) {
      this.log.warn({ err }, 'farewell could not be spoken');
    }
  }

  protected async toolSay(text: string): Promise<void> {
    await this.replies.heardOut();
    if (!this.closed) await this.replies.say(text, { interruptible: false });
  }

  protected toolPlayedOut(): Promise<void> {
    return this.replies.heardOut();
  }

  protected override toolHoldOn(text: string): void {
    this.replies.holdOn(text).catch((err: unknown) => this.log.warn({ err }, 'filler could not be spoken'));
  }

  /** A provider failed with no fallback left: apologise with our own voice unless that is what failed. */
  private providerFailed(err: StageError): Promise<void> {
    return this.failed(err.stage, this.opts.providers[err.stage].name, err, err.cause, async () => {
      if (err.stage === 'tts') return false;
      try {
        return await this.replies.say(this.ctx.apology, { interruptible: false });
      } catch (ttsErr) {
        this.log.warn({ err: ttsErr }, 'apology could not be synthesised');
        return false;
      }
    });
  }

  // ---- plumbing ----

  private warmProviders(): void {
    this.opts.providers.llm.warm?.();
    this.opts.providers.tts.warm?.();
  }

  /** What the call used of each provider, into its record (once, as it ends), when anything was used. */
  private recordUsage(): void {
    const usage = this.opts.providers.usage?.snapshot();
    if (!usage || Object.keys(usage.stt).length + Object.keys(usage.tts).length + Object.keys(usage.llm).length === 0) return;
    this.host.sink.event({ kind: 'usage', at: new Date().toISOString(), usage });
  }

  /** How long caller audio waits in the engine before the pipeline sees it (the jitter buffer's delay). */
  private get inboundDelayMs(): number {
    return this.opts.media.counters.jitter.targetDelayMs;
  }

  protected override stateChanged(to: ConversationState): void {
    const agentSpeaking = to === 'greeting' || to === 'speaking';
    this.turns.detector.threshold = agentSpeaking ? this.ctx.barge_in.threshold_while_speaking : this.ctx.vad.threshold;
  }

  private metric(moment: TurnMoment, at = performance.now()): void {
    const m = { moment, at };
    this.latency.observe(m);
    this.emit('metric', m);
  }
}
