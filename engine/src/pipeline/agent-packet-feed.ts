/** Frame times without a packet after which the caller's side counts as quiet rather than late (jitter). */
const QUIET_TICKS = 3;

/**
 * Feeds a speech-to-speech session the caller's packets as they arrive: a vendor buffers for itself, so the
 * jitter buffer's playout delay (which grows after every late packet) would only make it hear the caller late.
 * A sender may go quiet (Asterisk forwards nothing while nobody in the bridge speaks), and the vendor's VAD
 * ends a turn by the silence it hears: once QUIET_TICKS frame times pass without a packet, the silence since
 * the last one is sent at once, then a frame of it per tick, so the vendor counts it from when it began.
 */
export class AgentPacketFeed {
  private ticksSincePacket = 0;
  private silence = new Int16Array(0);

  constructor(private readonly write: (wire: Int16Array) => void) {}

  /** A received packet's audio at the wire rate (read synchronously). */
  packet(samples: Int16Array): void {
    this.ticksSincePacket = 0;
    this.write(samples);
  }

  /** One 20 ms tick of the call's clock; `frameSamples` is a frame's length at the wire rate. */
  tick(frameSamples: number): void {
    const missed = ++this.ticksSincePacket;
    if (missed < QUIET_TICKS) return;
    if (this.silence.length !== frameSamples) this.silence = new Int16Array(frameSamples);
    for (let i = missed === QUIET_TICKS ? QUIET_TICKS : 1; i > 0; i--) this.write(this.silence);
  }
}
