// Judges caller sound over the agent: pauses the agent's voice at the first sign of speech, lets it go on
// when that was not speech (or not an interruption), and asks for the interruption when it was.
import type { ContextConfig } from '@ai-agent/common';
import { FRAME_MS } from '../call/index.ts';
import { BargeInPolicy } from './barge-in-policy.ts';
import { LevelOnset } from './level-onset.ts';
import type { Playout } from './playout.ts';
import type { ConversationSink, ConversationStats } from './types.ts';
import type { SpeechDetector } from './vad/speech-detector.ts';
import { WINDOW_MS } from './vad/vad-service.ts';

export interface BargeInOptions {
  config: ContextConfig['barge_in'];
  detector: SpeechDetector;
  playout: Playout;
  stats: ConversationStats;
  sink: ConversationSink;
  /** How long caller audio waits in the engine before the pipeline sees it (the jitter buffer's delay). */
  inboundDelayMs(): number;
  /** The caller's speech is an interruption: the agent's speech is to be cut. */
  interrupt(): void;
}

/** When an interruption was heard and acted on (performance.now() ms). */
export interface Interruption {
  callerOnset: number;
  stoppedAt: number;
  decidedAt: number;
}

export class BargeIn {
  private readonly policy: BargeInPolicy;
  private readonly onset = new LevelOnset();
  /**
   * Caller speech over the agent being judged: when it began as the caller has it (`onsetAt`: the frame or
   * VAD window that showed it, less its length and the inbound jitter delay), whether the agent was paused
   * for it, and (while only a likely onset paused it) the audio-timeline ms of the last sign of it, -1 once
   * speech is confirmed.
   */
  private judged: { onsetAt: number; paused: boolean; tentativeMs: number; stoppedAt: number } | null = null;
  /** A false barge-in was already recorded for the current caller utterance. */
  private falseRecorded = false;

  constructor(private readonly opts: BargeInOptions) {
    this.policy = new BargeInPolicy(opts.config);
  }

  get enabled(): boolean {
    return this.policy.enabled;
  }

  /** Caller sound over the agent is being judged. */
  get judging(): boolean {
    return this.judged !== null;
  }

  /** An STT final heard over the agent interrupts it (a backchannel does not). */
  finalInterrupts(transcript: string): boolean {
    return this.policy.finalInterrupts(transcript);
  }

  /** The caller began a new utterance. */
  utteranceStarted(): void {
    this.falseRecorded = false;
  }

  /** The agent's speech is over (played, cut or cancelled): nothing is judged any more. */
  speechEnded(): void {
    this.judged = null;
  }

  /** The agent's speech is to be heard whole: audio a tentative barge-in held back plays again. */
  release(): void {
    if (this.judged?.paused) this.opts.playout.resume();
    this.judged = null;
  }

  /** One inbound frame's level; `agentAudible` when caller sound now would be over the agent. */
  levelFrame(level: number, callerAudible: boolean, agentAudible: boolean, frames: number): void {
    const rise = this.onset.frame(level, callerAudible);
    if (agentAudible) this.levelOnset(rise, frames);
  }

  /** The VAD hears the caller speaking over the agent. */
  speechOver(partial: string): void {
    const { detector, playout } = this.opts;
    const ms = detector.speechMs;
    if (!this.judged) {
      if (!this.policy.shouldPause(ms)) return;
      // Stop the agent's voice now; whether it resumes is decided once the speech can be judged.
      playout.pause();
      this.judged = { onsetAt: detector.startAt - WINDOW_MS - this.opts.inboundDelayMs(), paused: true, tentativeMs: -1, stoppedAt: performance.now() };
    }
    this.judged.tentativeMs = -1;
    if (this.policy.judge(ms, partial) === 'interrupt') this.opts.interrupt();
  }

  /**
   * Caller sound over the agent, on the frame that carries it (LevelOnset: a rise well above the line's
   * background, and above the agent's echo): pause at once, 20 ms after it reached us, where the VAD needs
   * two to four windows more. While the caller keeps sounding like speech the pause holds; the VAD confirms
   * it, or the agent resumes once neither such sound nor likely speech came for resume_after_ms.
   */
  private levelOnset(rise: boolean, frames: number): void {
    const b = this.judged;
    const endMs = frames * FRAME_MS;
    if (b) {
      if (b.tentativeMs >= 0 && this.onset.holding) b.tentativeMs = Math.max(b.tentativeMs, endMs);
      return;
    }
    if (!rise) return;
    this.opts.playout.pause();
    const now = performance.now();
    this.judged = { onsetAt: now - FRAME_MS - this.opts.inboundDelayMs(), paused: true, tentativeMs: endMs, stoppedAt: now };
  }

  /**
   * A window below the speech threshold over the agent: a likely onset pauses the agent already (Silero's
   * probability climbs over a few windows); speech unconfirmed within resume_after_ms of the last likely
   * window (or caller sound) lets it go on.
   */
  likelyOnset(probability: number, endMs: number, at: number): void {
    const b = this.judged;
    const { config, playout } = this.opts;
    const likely = probability >= config.pause_threshold;
    if (!b) {
      if (!likely) return;
      playout.pause();
      this.judged = { onsetAt: at - WINDOW_MS - this.opts.inboundDelayMs(), paused: true, tentativeMs: endMs, stoppedAt: performance.now() };
      return;
    }
    if (b.tentativeMs >= 0 && likely) b.tentativeMs = Math.max(b.tentativeMs, endMs);
    else if (b.tentativeMs >= 0 && endMs - b.tentativeMs >= config.resume_after_ms) {
      playout.resume();
      this.judged = null;
      this.opts.stats.pausesResumed++;
    }
  }

  /** Caller speech over the agent was not an interruption: the agent carries on where it stopped. */
  falseBargeIn(reason: string, transcript = ''): void {
    if (this.judged?.paused) this.opts.playout.resume();
    this.judged = null;
    if (this.falseRecorded) return;
    this.falseRecorded = true;
    this.opts.stats.falseBargeIns++;
    this.opts.sink.event({ kind: 'false_barge_in', at: new Date().toISOString(), reason, transcript, speechMs: Math.round(this.opts.detector.speechMs) });
  }

  /** The caller took the floor: when they began and when the agent stopped; judging is over. */
  interruption(): Interruption {
    const now = performance.now();
    const callerOnset = this.judged?.onsetAt ?? now - WINDOW_MS - this.opts.inboundDelayMs();
    const stoppedAt = this.judged?.stoppedAt ?? now;
    this.judged = null;
    return { callerOnset, stoppedAt, decidedAt: now };
  }

  /** Counts and records an interruption once the agent's speech was cut after `heardText`. */
  recordInterruption(moment: Interruption, heardText: string): void {
    this.opts.stats.bargeIns++;
    // As the caller has it: from their first sound (see `judged`) to the last agent frame leaving; the
    // decision may come later.
    this.opts.sink.event({
      kind: 'barge_in',
      at: new Date().toISOString(),
      reactionMs: Math.round(moment.stoppedAt - moment.callerOnset),
      decisionMs: Math.round(moment.decidedAt - moment.callerOnset),
      heardText,
    });
  }
}
