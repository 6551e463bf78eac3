// The call-level watchdogs both kinds of conversation keep: the longest call, the no-input countdown and the
// DTMF collector. Time is counted in inbound frames (they arrive every 20 ms, also in silence), so the call
// owns no timers; `countFrame` runs on the per-frame hot path and allocates nothing.
import type { ContextConfig } from '@ai-agent/common';
import { FRAME_MS } from '../call/index.ts';
import type { ConversationSink } from './types.ts';

const FRAMES_PER_SECOND = 1000 / FRAME_MS;
/** Frames after the last DTMF digit before the digits are handed on. */
const DTMF_IDLE_FRAMES = FRAMES_PER_SECOND;

export interface WatchdogEvents {
  /** The caller was silent for `no_input_seconds` (the countdown starts over). */
  noInput(): void;
  /** Keyed digits are complete ('#', or no further digit for a second); the `dtmf` event is recorded. */
  digits(digits: string): void;
}

export class CallWatchdogs {
  private frameCount = 0;
  private silentFrames = 0;
  private digitBuffer = '';
  private lastDigitFrame = 0;
  private readonly noInputFrames: number;
  private readonly maxFrames: number;

  constructor(limits: ContextConfig['limits'], private readonly sink: ConversationSink, private readonly on: WatchdogEvents) {
    this.noInputFrames = Math.round(limits.no_input_seconds * FRAMES_PER_SECOND);
    this.maxFrames = Math.round(limits.max_call_seconds * FRAMES_PER_SECOND);
  }

  /** Inbound frames so far: the call's clock. */
  get frames(): number {
    return this.frameCount;
  }

  /** Counts one inbound frame. */
  countFrame(): void {
    this.frameCount++;
  }

  /** This frame is the one at which the call has lasted `max_call_seconds`. */
  get atMaxDuration(): boolean {
    return this.frames === this.maxFrames;
  }

  /** Digits were keyed and not yet handed on. */
  get collectingDigits(): boolean {
    return this.digitBuffer !== '';
  }

  /** Hands on keyed digits once no further digit came for DTMF_IDLE_FRAMES. */
  flushIdleDigits(): void {
    if (this.digitBuffer && this.frames - this.lastDigitFrame >= DTMF_IDLE_FRAMES) this.flushDigits();
  }

  /** One more frame of caller silence that counts towards no input. */
  countSilence(): void {
    if (++this.silentFrames < this.noInputFrames) return;
    this.silentFrames = 0;
    this.on.noInput();
  }

  /** The caller (or the agent) was heard: the no-input countdown starts over. */
  resetSilence(): void {
    this.silentFrames = 0;
  }

  /** A keyed digit; '#' hands the digits on at once. */
  digit(digit: string): void {
    this.digitBuffer += digit;
    this.lastDigitFrame = this.frames;
    if (digit === '#') this.flushDigits();
  }

  private flushDigits(): void {
    const digits = this.digitBuffer;
    this.digitBuffer = '';
    this.sink.event({ kind: 'dtmf', at: new Date().toISOString(), digits });
    this.on.digits(digits);
  }
}
