// A sudden rise of the caller's level: the first sign of a barge-in, on the frame that carries it.
//
// Silero's speech probability climbs over two to four 32 ms windows at an onset, even a loud one. Measured
// through the Asterisk test peer (RTP, AudioSocket and WebSocket alike), a pause that waited for it left the
// agent talking 80–160 ms after the caller's first audible frame, 300 ms and more when the probability
// hovered below the confirmation threshold; everything after the pause (flush → last frame → caller) took
// under 5 ms. A frame that stands well above the line's background level is caller sound 20 ms after it
// reaches the pipeline: the conversation pauses the agent on it (if it is not the agent's echo) and lets
// the VAD confirm the speech or the agent resume. Per frame: two comparisons and one update.

/** Quietest frame that can start a barge-in (mean |sample| ≈ −44 dBFS): well above line noise and G.711 idle codes. */
const MIN_LEVEL = 160;
/** A rise must stand this far above the background level (12 dB). */
const RISE = 4;
/** The background follows falls at once, rises slowly (≈ 10 s to climb to a new steady level). */
const FLOOR_RISE_PER_FRAME = 1 / 500;
/**
 * Sound holds a pause for this long without a break. Speech dips between words and syllables; a sound that
 * never dips (a car, a fan switched on) stops holding the agent after this, and only the VAD can.
 */
const HOLD_FRAMES = 30;

export class LevelOnset {
  /** The line's background level (mean |sample|) without the caller's speech. */
  private floor = 0;
  private loud = false;
  private loudFrames = 0;

  /** The level above which a frame counts as caller sound now. */
  get onsetLevel(): number {
    return Math.max(MIN_LEVEL, this.floor * RISE);
  }

  /** Whether the last frame was caller sound. */
  get sounding(): boolean {
    return this.loud;
  }

  /** Caller sound that still holds a pause: sounding, and not one unbroken stretch longer than HOLD_FRAMES. */
  get holding(): boolean {
    return this.loud && this.loudFrames <= HOLD_FRAMES;
  }

  /**
   * One inbound frame's level (mean |sample|), and whether it stands above the agent's echo (EchoGuard);
   * true on the frame where caller sound begins.
   */
  frame(level: number, aboveEcho: boolean): boolean {
    const wasLoud = this.loud;
    this.loud = aboveEcho && level >= this.onsetLevel;
    this.loudFrames = this.loud ? this.loudFrames + 1 : 0;
    if (level < this.floor) this.floor = level;
    else this.floor += (level - this.floor) * FLOOR_RISE_PER_FRAME;
    return this.loud && !wasLoud;
  }
}
