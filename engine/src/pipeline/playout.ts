import type { MediaStream } from '../transport/media-stream.ts';
import type { TtsChunk } from '../providers/types.ts';
import { heardPrefix } from './heard-text.ts';

const RATE = 16000;

interface PlayChunk {
  pcm: Int16Array;
  sampleRate: number;
  /** Stream positions (16 kHz) of the queued audio; start −1 while it waits to be (re)written. */
  start: number;
  end: number;
}

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
 */
export class Playout {
  private segments: Segment[] = [];
  private paused = false;
  private finished = false;
  private markId: string | null = null;
  private markSeq = 0;
  private onDrained: (() => void) | null = null;

  constructor(private readonly media: MediaStream, private readonly callId: string) {
    media.on('mark', this.onMark);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Audio is queued, paused, or still expected. */
  get active(): boolean {
    return this.segments.length > 0 && (!this.finished || this.paused || this.media.queuedSamples > 0 || this.markId !== null);
  }

  /** Starts a new reply; `drained` fires once all of it has played. */
  begin(drained: () => void): void {
    this.segments = [];
    this.paused = false;
    this.finished = false;
    this.markId = null;
    this.onDrained = drained;
  }

  /** Opens the next sentence. */
  sentence(text: string): void {
    this.segments.push({ text, chunks: [], total: 0, heard: 0, complete: false });
  }

  /** Queues audio of the current sentence; returns the stream position where it ends. */
  write(chunk: TtsChunk): number {
    const seg = this.segments[this.segments.length - 1];
    if (!seg) throw new Error('playout: write() before sentence()');
    const c: PlayChunk = { pcm: chunk.pcm, sampleRate: chunk.sampleRate, start: -1, end: -1 };
    seg.chunks.push(c);
    seg.total += Math.round((chunk.pcm.length * RATE) / chunk.sampleRate);
    if (!this.paused) this.put(c);
    return this.media.writtenSamples;
  }

  sentenceDone(): void {
    const seg = this.segments[this.segments.length - 1];
    if (seg) seg.complete = true;
  }

  /** No more audio will come for this reply; `drained` fires when the last of it has played. */
  finish(): void {
    this.finished = true;
    if (!this.paused) this.placeMark();
  }

  /** Stops the audio at once, remembering what was heard and keeping the rest. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.settle();
  }

  /** Continues the reply from where the caller stopped hearing it. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const seg of this.segments) for (const c of seg.chunks) if (c.start < 0) this.put(c);
    if (this.finished) this.placeMark();
  }

  /** Abandons the reply; returns the text the caller heard. */
  cut(): string {
    if (!this.paused) this.settle();
    const heard = this.heardText();
    this.segments = [];
    this.paused = false;
    this.finished = false;
    this.markId = null;
    this.onDrained = null;
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
    for (const seg of this.segments) {
      const kept: PlayChunk[] = [];
      for (const c of seg.chunks) {
        if (c.start < 0) {
          kept.push(c);
          continue;
        }
        const heard = Math.max(0, Math.min(played - c.start, c.end - c.start));
        seg.heard += heard;
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
    if (id !== this.markId) return;
    this.markId = null;
    if (!reached) return;
    for (const seg of this.segments) {
      seg.heard = seg.total;
      seg.chunks = [];
    }
    const done = this.onDrained;
    this.onDrained = null;
    done?.();
  };
}
