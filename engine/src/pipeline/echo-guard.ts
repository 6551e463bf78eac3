// Tells the caller's voice from the line's echo of the agent's own voice.
//
// A telephone line returns the agent's audio attenuated (hybrid echo: 6 dB or more of return loss) and a few
// tens of ms late. Silero rightly calls that echo speech, so without a guard the agent would barge in on
// itself. The guard models the echo path on frame levels: for every delay of the tail it keeps a
// least-squares gain from the agent's sent level to the inbound level (exponentially forgotten, learned only
// while the caller is not heard). The expected echo is the largest gain × sent level over the delays; inbound
// audio counts as the caller's only when it stands `marginDb` above that. On a line without echo the gains
// fall towards zero within a second of agent speech and every caller sound passes. Until then a prior
// assumes the worst hybrid (6 dB return loss at every delay). Per frame: a few multiply-adds per delay.

/** Gain assumed before the line is measured (6 dB echo return loss). */
const PRIOR_GAIN = 0.5;
/** Weight of that assumption: as much as this many frames of a loud agent. */
const PRIOR_FRAMES = 4;
const LOUD_LEVEL = 4000;
/** Forgetting per frame (≈ 2 s memory): the echo path changes slowly, a transfer or a new hybrid at most. */
const FORGET = 1 - 1 / 100;
/** Inbound level (mean |sample|, ≈ −60 dBFS) that always counts as quiet. */
const NOISE_FLOOR = 30;

export interface EchoGuardOptions {
  enabled: boolean;
  /** How far above the expected echo inbound audio must be to count as the caller. */
  marginDb: number;
  /** Longest echo delay covered, in frames. */
  tailFrames: number;
}

export class EchoGuard {
  /** Sent levels, most recent at `pos - 1`. */
  private readonly far: Float32Array;
  /** Per delay d (frames): Σ near·far(t−d) and Σ far(t−d)², forgotten exponentially. */
  private readonly num: Float64Array;
  private readonly den: Float64Array;
  private readonly margin: number;
  private pos = 0;
  private frameNo = 0;
  private lastCallerFrame = 0;
  private lastExpected = 0;

  constructor(private readonly options: EchoGuardOptions) {
    const n = Math.max(1, options.tailFrames);
    this.far = new Float32Array(n);
    const prior = PRIOR_FRAMES * LOUD_LEVEL * LOUD_LEVEL;
    this.den = new Float64Array(n).fill(prior);
    this.num = new Float64Array(n).fill(prior * PRIOR_GAIN);
    this.margin = 10 ** (options.marginDb / 20);
  }

  /** Inbound level the line's echo would explain on the last frame. */
  get expectedEcho(): number {
    return this.lastExpected;
  }

  /**
   * One tick: the inbound frame's level and the level of the frame sent on the same tick. `learn` is false
   * while the caller may be talking (their voice must not be learned as echo).
   */
  frame(nearLevel: number, farLevel: number, learn: boolean): void {
    const { far, num, den } = this;
    const n = far.length;
    far[this.pos] = farLevel;
    this.pos = this.pos + 1 === n ? 0 : this.pos + 1;
    const frame = ++this.frameNo;
    if (!this.options.enabled) {
      this.lastCallerFrame = frame;
      return;
    }
    let expected = 0;
    for (let d = 0, i = this.pos - 1; d < n; d++, i--) {
      const f = far[i < 0 ? i + n : i];
      const e = (num[d] / den[d]) * f;
      if (e > expected) expected = e;
    }
    this.lastExpected = expected;
    const caller = nearLevel > NOISE_FLOOR && nearLevel > expected * this.margin;
    if (caller) this.lastCallerFrame = frame;
    if (!learn || caller) return;
    for (let d = 0, i = this.pos - 1; d < n; d++, i--) {
      const f = far[i < 0 ? i + n : i];
      num[d] = num[d] * FORGET + nearLevel * f;
      den[d] = den[d] * FORGET + f * f;
    }
  }

  /** Inbound audio of the last `frames` ticks held more than the echo of the agent. */
  callerAudible(frames = 2): boolean {
    return this.frameNo - this.lastCallerFrame < frames;
  }
}
