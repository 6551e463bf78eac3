// Size: over 300 lines because one agent session's event wiring (start) and the reply bookkeeping it drives
// share the session's and the current reply's state; watchdogs, DTMF, tools and endings are CallConversation's.
import type { Logger } from '@ai-agent/common';
import type { AgentProvider, AgentSession, TtsChunk, ToolCall } from '../providers/types.ts';
import { FRAME_MS, NO_PCM, PIPELINE_SAMPLE_RATE, type InboundFrame } from '../call/index.ts';
import { CallConversation, playedOut, type CallHost } from './call-conversation.ts';
import { heardPrefix } from './heard-text.ts';
import { wireAudioOf } from '../providers/wire-audio.ts';
import type { AgentWarmStart, WarmSession } from './agent-warm-start.ts';
import { AgentPacketFeed } from './agent-packet-feed.ts';

const FRAMES_PER_SECOND = 1000 / FRAME_MS;
const SAMPLES_PER_MS = PIPELINE_SAMPLE_RATE / 1000;
/** Longest wait for the agent to start a reply it was asked to say (farewell) before going on without it. */
const SAY_START_FRAMES = 5 * FRAMES_PER_SECOND;
/** Caller speech the agent reported but never answered stops holding off the no-input watchdog after this. */
const CALLER_TURN_FRAMES = 10 * FRAMES_PER_SECOND;

export interface AgentConversationOptions extends CallHost {
  agent: AgentProvider;
  log: Logger;
  /** The session opened for this call while its media was set up (its prompts already personalised). */
  warm?: AgentWarmStart;
}

/** One stretch of agent audio (a vendor reply), from its first chunk until it has played or was cut. */
interface Reply {
  startedAt: string;
  /** Stream position (16 kHz samples) of its first sample, and of the end of what was written. */
  start: number;
  end: number;
  /** The vendor said no more audio will come for it; `text` is then its full transcript. */
  done: boolean;
  text: string;
  interruptible: boolean;
  /** Called once it has played to the end (or was cut, or the call ended). */
  onPlayed: (() => void) | null;
}

/**
 * A call whose conversation is a speech-to-speech agent (OpenAI Realtime, Deepgram Voice Agent): caller audio
 * streams to the agent, its audio plays into the call paced by the media stream, its server-side VAD drives
 * barge-in (we flush our playout at once and tell it what was heard), its function calls run through the same
 * Toolbox as the pipeline's. States: starting → greeting → listening ⇄ speaking → (transferring) → ending →
 * ended. Time is counted in inbound frames (they arrive every 20 ms, also in silence): the call owns no timers.
 */
export class AgentConversation extends CallConversation<{ turns: number; bargeIns: number; toolCalls: number; noInputPrompts: number }> {
  private readonly opts: AgentConversationOptions;
  private session: AgentSession | null = null;
  private reply: Reply | null = null;
  /** The agent's transcript of the reply under way (it may arrive before that reply's audio). */
  private agentText = '';
  /** A `say()` waiting for the agent to start speaking, until frame `deadline`. */
  private pendingSay: { deadline: number; played: () => void } | null = null;
  /** Tool calls run one after another, in the order the agent made them. */
  private toolQueue: Promise<void> = Promise.resolve();
  /** Frames left during which reported caller speech holds off the no-input watchdog. */
  private callerTurnFrames = 0;
  /** Set when the session takes the wire's own audio: it hears the caller's packets as they arrive. */
  private feed: AgentPacketFeed | null = null;

  constructor(options: AgentConversationOptions) {
    super(options, options.log.child({ callId: options.call.id, agent: options.agent.name }), { turns: 0, bargeIns: 0, toolCalls: 0, noInputPrompts: 0 });
    this.opts = options;
  }

  /**
   * Takes the session opened ahead, or connects the agent; the agent greets at once. Resolves when the session
   * is up or the failure was handled.
   */
  async start(): Promise<void> {
    const { variables } = this.host;
    const { warm } = this.opts;
    if (!warm && variables && !(await this.personalise(variables))) return;
    if (!this.attachMedia()) return;
    let session: AgentSession;
    let taken: WarmSession | null = null;
    try {
      taken = warm ? await warm.take(this.callAbort.signal) : null;
      if (this.closed) {
        taken?.session?.close();
        return;
      }
      if (taken) this.prompts = taken.prompts;
      this.machine.to(this.prompts.greeting ? 'greeting' : 'listening');
      session = taken?.session ?? await this.opts.agent.connect({
        instructions: this.prompts.system,
        greeting: this.prompts.greeting,
        voice: this.ctx.voice,
        language: this.ctx.language,
        tools: this.tools.toolbox.schemas,
        wire: wireAudioOf(this.opts.media.wireFormat),
        signal: this.callAbort.signal,
      });
    } catch (err) {
      await this.agentFailed(err as Error);
      return;
    }
    if (this.closed) {
      session.close();
      return;
    }
    this.session = session;
    if (session.wireAudio) {
      this.feed = new AgentPacketFeed((wire) => this.session?.writeAudio(NO_PCM, wire));
      this.opts.media.on('packet', this.onPacket);
    }
    session.on('audio', this.onAudio).on('replyDone', this.onReplyDone).on('transcript', this.onTranscript);
    session.on('callerSpeech', this.onCallerSpeech).on('toolCall', this.onToolCall).on('error', this.onSessionError).on('close', this.onSessionClose);
    // A session opened ahead was configured without the greeting (nobody listened yet): it is asked for now.
    if (taken?.session && this.prompts.greeting) session.say(this.prompts.greeting);
  }

  protected release(): void {
    if (this.reply) this.endReply(!this.playout.active);
    this.pendingSay?.played();
    this.pendingSay = null;
    const session = this.session;
    this.session = null;
    this.opts.media.off('packet', this.onPacket);
    if (session) {
      session.off('audio', this.onAudio).off('replyDone', this.onReplyDone).off('transcript', this.onTranscript);
      session.off('callerSpeech', this.onCallerSpeech).off('toolCall', this.onToolCall).off('error', this.onSessionError).off('close', this.onSessionClose);
      session.close();
    }
  }

  // ---- caller audio (hot path: every 20 ms per call) ----

  protected readonly onFrame = (frame: InboundFrame): void => {
    if (this.closed) return;
    // The session reads the frame synchronously (the array is refilled on the next tick).
    if (this.feed && frame.wireSamples) this.feed.tick(frame.wireSamples.length);
    else this.session?.writeAudio(frame.samples, frame.wireSamples);
    const watchdogs = this.watchdogs;
    watchdogs.countFrame();
    if (watchdogs.atMaxDuration) {
      void this.finishWith('max_duration', this.ctx.farewell);
      return;
    }
    if (this.pendingSay && watchdogs.frames >= this.pendingSay.deadline) this.sayDone();
    watchdogs.flushIdleDigits();
    if (this.callerTurnFrames > 0) this.callerTurnFrames--;
    else if (this.machine.is('listening') && this.session && !watchdogs.collectingDigits) watchdogs.countSilence();
  };

  private readonly onPacket = (samples: Int16Array): void => {
    if (!this.closed) this.feed?.packet(samples);
  };

  protected interruptForDigit(): void {
    if (this.reply?.interruptible) this.interrupt();
  }

  protected onDigits(digits: string): void {
    this.callerSays(`[DTMF ${digits}]`);
    this.session?.sendText(`[DTMF ${digits}]`);
  }

  protected stopWaitingForAudio(): void {
    if (this.reply) this.endReply(false);
    this.sayDone();
  }

  // ---- the agent's events ----

  private readonly onAudio = (chunk: TtsChunk): void => {
    if (this.closed || this.machine.is('transferring')) return;
    let reply = this.reply;
    if (!reply || reply.done) reply = this.beginReply();
    if (reply.start < 0) reply.start = this.opts.media.writtenSamples;
    reply.end = this.playout.write(chunk);
    this.watchdogs.resetSilence();
    this.callerTurnFrames = 0;
  };

  private readonly onReplyDone = (): void => {
    const reply = this.reply;
    if (!reply || reply.done) {
      // A reply without audio (e.g. only a function call), or a greeting that never came: the caller's turn.
      if (!reply && this.machine.is('greeting')) this.machine.to('listening');
      return;
    }
    reply.done = true;
    reply.text = this.agentText;
    this.agentText = '';
    this.playout.finish();
  };

  private readonly onTranscript = (speaker: 'caller' | 'agent', text: string, final: boolean): void => {
    if (this.closed) return;
    if (speaker === 'agent') {
      this.agentText = text;
      return;
    }
    if (!final) return;
    this.callerTurnFrames = 0;
    this.callerSays(text);
  };

  private readonly onCallerSpeech = (): void => {
    if (this.closed) return;
    this.watchdogs.resetSilence();
    this.callerTurnFrames = CALLER_TURN_FRAMES;
    if (this.reply?.interruptible && this.playout.active && this.ctx.barge_in.enabled) this.interrupt();
  };

  private readonly onToolCall = (call: ToolCall): void => {
    this.toolQueue = this.toolQueue.then(() => this.runTool(call));
  };

  private readonly onSessionError = (err: Error): void => {
    void this.agentFailed(err);
  };

  private readonly onSessionClose = (): void => {
    void this.agentFailed(new Error('the agent closed the session'));
  };

  // ---- replies and barge-in ----

  private beginReply(): Reply {
    // A reply still playing when the next starts (the agent answered again) plays to its end as it is.
    if (this.reply) this.recordReply(this.reply, this.reply.text, false);
    const say = this.pendingSay;
    this.pendingSay = null;
    const reply: Reply = { startedAt: new Date().toISOString(), start: -1, end: -1, done: false, text: '', interruptible: !say && !this.machine.is('ending'), onPlayed: say?.played ?? null };
    this.reply = reply;
    this.playout.begin(() => this.onReplyPlayed(reply));
    this.playout.sentence('');
    if (this.machine.is('listening', 'greeting', 'speaking', 'thinking')) this.machine.to(this.machine.is('greeting') ? 'greeting' : 'speaking');
    return reply;
  }

  private onReplyPlayed(reply: Reply): void {
    if (this.reply !== reply) return;
    this.endReply(true);
    if (this.machine.is('greeting', 'speaking')) this.machine.to('listening');
  }

  /** The current reply is over: recorded as heard in full (`played`) or up to the cut. */
  private endReply(played: boolean): string {
    const reply = this.reply!;
    this.reply = null;
    const text = reply.done ? reply.text : this.agentText;
    const heard = played ? text : heardPrefix(text, this.heardMs(reply) / Math.max(1, (reply.end - reply.start) / SAMPLES_PER_MS));
    // Cutting flushes the media queue: only for a reply still playing (a played one left nothing queued).
    if (!played) this.playout.cut();
    if (!reply.done) this.agentText = '';
    this.recordReply(reply, heard, !played);
    reply.onPlayed?.();
    return heard;
  }

  /** Milliseconds of the reply the caller has heard (the media stream's played position). */
  private heardMs(reply: Reply): number {
    if (reply.start < 0) return 0;
    const played = Math.min(this.opts.media.playedSamples, reply.end) - reply.start;
    return Math.max(0, played) / SAMPLES_PER_MS;
  }

  /** The caller took the floor: drop the agent's audio at once and keep only what was heard, here and there. */
  private interrupt(): void {
    const reply = this.reply;
    if (!reply) return;
    const heardMs = this.heardMs(reply);
    const heard = this.endReply(false);
    this.session?.truncate(heardMs);
    this.stats.bargeIns++;
    this.opts.sink.event({ kind: 'barge_in', at: new Date().toISOString(), heardText: heard });
    if (this.machine.is('greeting', 'speaking')) this.machine.to('listening');
  }

  private recordReply(reply: Reply, text: string, interrupted: boolean): void {
    if (!text && !interrupted) return;
    this.opts.sink.turn({ speaker: 'agent', text, startedAt: reply.startedAt, endedAt: new Date().toISOString(), interrupted });
  }

  private callerSays(text: string): void {
    this.watchdogs.resetSilence();
    this.stats.turns++;
    this.opts.sink.turn({ speaker: 'caller', text, startedAt: new Date().toISOString(), interrupted: false });
  }

  /** Has the agent say `text` as it is; resolves once heard (or the agent did not start within 5 s). */
  private say(text: string): Promise<void> {
    if (!this.session || this.closed) return Promise.resolve();
    this.sayDone();
    return new Promise((resolve) => {
      this.pendingSay = { deadline: this.watchdogs.frames + SAY_START_FRAMES, played: resolve };
      this.session!.say(text);
    });
  }

  private sayDone(): void {
    const say = this.pendingSay;
    this.pendingSay = null;
    say?.played();
  }

  // ---- tools ----

  private async runTool(call: ToolCall): Promise<void> {
    if (this.closed || this.machine.is('ending', 'transferring')) return;
    const context = this.tools.context(this.reply?.done ? this.reply.text : this.agentText, this.callAbort.signal);
    const result = await this.tools.run(call, context);
    if (result.ended || this.outcome) {
      this.close(this.outcome ?? 'completed');
      return;
    }
    this.session?.sendToolResult(call.id, result.content);
  }

  // ---- how this conversation speaks, stops and fails ----

  protected promptNoInput(): void {
    this.session?.say(this.ctx.no_input_prompt);
  }

  protected sayLast(text: string): Promise<void> {
    return this.say(text);
  }

  protected async toolSay(text: string): Promise<void> {
    await playedOut(this.opts.media);
    await this.say(text);
  }

  protected toolPlayedOut(): Promise<void> {
    return playedOut(this.opts.media);
  }

  /** Stops the agent's current reply without counting a barge-in (the call is ending). */
  protected stopSpeaking(): void {
    if (!this.reply) return;
    const heardMs = this.heardMs(this.reply);
    this.endReply(false);
    this.session?.truncate(heardMs);
  }

  /** The agent failed at start or mid-call: it cannot speak, so Asterisk plays a stock apology. */
  private agentFailed(err: Error): Promise<void> {
    return this.failed('agent', this.opts.agent.name, err, { message: err.message }, async () => {
      this.session?.close();
      return false;
    });
  }
}
