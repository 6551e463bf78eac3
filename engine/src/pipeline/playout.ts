// Size: one queue of the agent's audio; its write, feed, pause, cut and heard-mark paths move the same stream
// positions and must agree on them, so they stay in one class.
import { PIPELINE_SAMPLE_RATE as RATE, type MediaStream } from '../call/index.ts';
import type { TtsChunk } from '../providers/types.ts';
import { heardPrefix } from './heard-text.ts';

interface PlayChunk {
  pcm: Int16Array;
  sampleRate: number;
  /** Stream positions (16 kHz) of the queued audio; start −1 while it waits to be (re)written. */
  start: number;
  end: number;
}

/**
 * Audio kept in the media queue ahead of the caller: enough to ride out a stalled event loop, little enough
 * that the queue's cap is never reached (writes beyond it would be dropped) and a flush throws away little.
 * The rest of a reply waits here and is fed in as the queue plays down to half of it.
 */
const MEDIA_WINDOW_SAMPLES = 4 * RATE;
/** Longest piece fed into the media queue at once (1 s): a long TTS chunk goes in as the window frees up. */
const MAX_PIECE_SAMPLES = RATE;
/** Audio of one reply this playout keeps (written, not yet heard): the media queue's default cap (300 s). */
const MAX_HELD_SAMPLES = 300 * RATE;

interface Segment {
  text: string;
  /** Audio not yet confirmed heard. */
  chunks: PlayChunk[];
  /** 16 kHz samples synthesised for this text so far, and how many of them the caller heard. */
  total: number;
  heard: number;
  complete: boolean;
}

/**
 * The agent's speech on its way to the caller: what was written, where each sentence sits in the media
 * queue, and therefore what was heard when it is cut. `pause()` stops the audio at once but keeps what
 * was not heard, so `resume()` continues exactly where the caller stopped hearing it; `cut()` abandons it.
 * `hold()` keeps a reply from starting until the caller's turn is over (`release()`); a hold and a pause
 * are independent, and audio flows only when neither is on.
 */
export class Playout {
  private segments: Segment[] = [];
  private paused = false;
  private held = false;
  private finished = false;
  /** `whenHeard()` callers waiting for audio that is paused or held, and those waiting on a media mark. */
  private heardWaiters: Array<() => void> = [];
  private readonly heardMarks = new Map<string, () => void>();
  private markId: string | null = null;
  private markSeq = 0;
  private onDrained: (() => void) | null = null;
  /** The mark at which more of the reply is fed into the media queue. */
  private feedMarkId: string | null = null;
  /** Written audio not yet heard, at 16 kHz. */
  private heldSamples = 0;
  /** `whenHeard()` callers waiting for audio still to be fed into the media queue. */
  private unfedWaiters: Array<() => void> = [];
  /** Audio refused because a reply held more than MAX_HELD_SAMPLES (a runaway TTS). */
  droppedSamples = 0;

  constructor(private readonly media: MediaStream, private readonly callId: string) {
    media.on('mark', this.onMark);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Some audio of this reply was written (whether or not it reached the line yet). */
  get hasAudio(): boolean {
    return this.segments.some((s) => s.total > 0);
  }

  /** Audio is queued, paused, held, or still expected. */
  get active(): boolean {
    return this.segments.length > 0 && (!this.finished || this.blocked || this.media.queuedSamples > 0 || this.markId !== null);
  }

  private get blocked(): boolean {
    return this.paused || this.held;
  }

  /** Starts a new reply; `drained` fires once all of it has played. */
  begin(drained: () => void): void {
    this.segments = [];
    this.paused = false;
    this.held = false;
    this.finished = false;
    this.markId = null;
    this.feedMarkId = null;
    this.heldSamples = 0;
    this.onDrained = drained;
  }

  /** Opens the next sentence. */
  sentence(text: string): void {
    this.segments.push({ text, chunks: [], total: 0, heard: 0, complete: false });
  }

  /** Queues audio of the current sentence; returns the media stream's written position. */
  write(chunk: TtsChunk): number {
    const seg = this.segments[this.segments.length - 1];
    if (!seg) throw new Error('playout: write() before sentence()');
    const samples = Math.round((chunk.pcm.length * RATE) / chunk.sampleRate);
    if (this.heldSamples + samples > MAX_HELD_SAMPLES) {
      this.droppedSamples += samples;
      return this.media.writtenSamples;
    }
    this.heldSamples += samples;
    const piece = Math.round(chunk.sampleRate * (MAX_PIECE_SAMPLES / RATE));
    for (let at = 0; at < chunk.pcm.length; at += piece) {
      seg.chunks.push({ pcm: chunk.pcm.subarray(at, at + piece), sampleRate: chunk.sampleRate, start: -1, end: -1 });
    }
    seg.total += samples;
    this.feed();
    return this.media.writtenSamples;
  }

  sentenceDone(): void {
    const seg = this.segments[this.segments.length - 1];
    if (seg) seg.complete = true;
  }

  /** No more audio will come for this reply; `drained` fires when the last of it has played. */
  finish(): void {
    this.finished = true;
    this.feed();
  }

  /** Stops the audio at once, remembering what was heard and keeping the rest. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    if (!this.held) this.settle();
  }

  /** Continues the reply from where the caller stopped hearing it. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.held) this.unblocked();
  }

  /** Keeps this reply's audio off the line until `release()` (nothing of it has played yet). */
  hold(): void {
    this.held = true;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    if (!this.paused) this.unblocked();
  }

  /**
   * Resolves once every audio written so far has played, waiting through a pause or a hold; also when the
   * reply is cut or the stream closes (nothing more of it can be heard).
   */
  whenHeard(): Promise<void> {
    if (this.segments.length === 0 || this.media.closed) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.blocked) this.heardWaiters.push(resolve);
      else if (this.hasUnfed()) this.unfedWaiters.push(resolve);
      else this.markHeard(resolve);
    });
  }

  /** Abandons the reply; returns the text the caller heard. */
  cut(): string {
    if (!this.blocked) this.settle();
    const heard = this.heardText();
    this.segments = [];
    this.paused = false;
    this.held = false;
    this.finished = false;
    this.markId = null;
    this.feedMarkId = null;
    this.heldSamples = 0;
    this.onDrained = null;
    this.resolveHeard();
    return heard;
  }

  /** The reply as heard so far (whole sentences played, and the heard part of a cut one). */
  heardText(): string {
    const parts: string[] = [];
    for (const seg of this.segments) {
      if (seg.heard <= 0) break;
      const fraction = seg.complete ? seg.heard / seg.total : Math.min(1, seg.heard / Math.max(seg.total, 1));
      const part = heardPrefix(seg.text, seg.heard >= seg.total && seg.complete ? 1 : fraction);
      if (part) parts.push(part);
      if (seg.heard < seg.total) break;
    }
    return parts.join(' ');
  }

  /** The text of the whole reply (what will be heard if nothing cuts it). */
  fullText(): string {
    return this.segments.map((s) => s.text).join(' ');
  }

  dispose(): void {
    this.media.off('mark', this.onMark);
    this.onDrained = null;
    this.resolveHeard();
  }

  private unblocked(): void {
    const waiters = this.heardWaiters;
    this.heardWaiters = [];
    this.unfedWaiters.push(...waiters);
    this.feed();
  }

  private hasUnfed(): boolean {
    return this.segments.some((seg) => seg.chunks.some((c) => c.start < 0));
  }

  /**
   * Moves waiting audio into the media queue up to the window; a mark at half the window brings the rest
   * later. Once everything is in, the end-of-reply mark and the heard-waiters follow it.
   */
  private feed(): void {
    if (this.blocked) return;
    for (const seg of this.segments) {
      for (const c of seg.chunks) {
        if (c.start >= 0) continue;
        const queued = this.media.queuedSamples;
        const length = (c.pcm.length * RATE) / c.sampleRate;
        if (queued > 0 && queued + length > MEDIA_WINDOW_SAMPLES) return this.armFeed();
        // The mark goes where the queue holds about half the window, before the piece that crosses it (the
        // stream may already have sent a frame of what was written, so "after" could be a piece too late).
        if (queued + length >= MEDIA_WINDOW_SAMPLES / 2) this.armFeed();
        this.put(c);
      }
    }
    if (this.finished && this.markId === null) this.placeMark();
    const waiters = this.unfedWaiters;
    this.unfedWaiters = [];
    for (const resolve of waiters) this.markHeard(resolve);
  }

  private armFeed(): void {
    if (this.feedMarkId === null) this.feedMarkId = this.media.mark(`${this.callId}-feed-${++this.markSeq}`);
  }

  private markHeard(resolve: () => void): void {
    if (this.media.queuedSamples === 0) resolve();
    else this.heardMarks.set(this.media.mark(), resolve);
  }

  private resolveHeard(): void {
    const waiting = [...this.heardWaiters, ...this.unfedWaiters, ...this.heardMarks.values()];
    this.heardWaiters = [];
    this.unfedWaiters = [];
    this.heardMarks.clear();
    for (const resolve of waiting) resolve();
  }

  private put(c: PlayChunk): void {
    c.start = this.media.writtenSamples;
    c.end = this.media.write(c.pcm, c.sampleRate);
  }

  /** Flushes the media queue and books what was heard; unheard audio is kept for `resume()`. */
  private settle(): void {
    const played = this.media.playedSamples;
    this.media.flush();
    this.markId = null;
    this.feedMarkId = null;
    for (const seg of this.segments) {
      const kept: PlayChunk[] = [];
      for (const c of seg.chunks) {
        if (c.start < 0) {
          kept.push(c);
          continue;
        }
        const heard = Math.max(0, Math.min(played - c.start, c.end - c.start));
        seg.heard += heard;
        this.heldSamples -= heard;
        if (heard < c.end - c.start) {
          const offset = Math.round((heard * c.sampleRate) / RATE);
          kept.push({ pcm: c.pcm.subarray(offset), sampleRate: c.sampleRate, start: -1, end: -1 });
        }
      }
      seg.chunks = kept;
    }
  }

  private placeMark(): void {
    this.markId = this.media.mark(`${this.callId}-reply-${++this.markSeq}`);
  }

  private readonly onMark = (id: string, reached: boolean): void => {
    if (id === this.feedMarkId) {
      this.feedMarkId = null;
      if (reached) this.feed();
      return;
    }
    const waiter = this.heardMarks.get(id);
    if (waiter) {
      this.heardMarks.delete(id);
      // Dropped by a pause's flush: wait again until the rest is back on the line.
      if (reached || this.media.closed) waiter();
      else this.heardWaiters.push(waiter);
      return;
    }
    if (id !== this.markId) return;
    this.markId = null;
    if (!reached) return;
    for (const seg of this.segments) {
      seg.heard = seg.total;
      seg.chunks = [];
    }
    this.heldSamples = 0;
    const done = this.onDrained;
    this.onDrained = null;
    done?.();
  };
}
