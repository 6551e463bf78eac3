// A call's media with both ends in this process: the engine's own simulated caller (telephony/simulation) on
// the far side. Everything else is the shared paced stream (queue, marks, flush, jitter buffer, pacer), and the
// audio is encoded in the call's wire format (µ-law, say) both ways, so the conversation, its recogniser
// included, runs exactly as on a phone line; only the wire is a function call.
import { codecFor, type WireFormat } from '../audio/codec.ts';
import { PacedMediaStream, type PacedStreamOptions } from './paced-media-stream.ts';

export interface InProcessStreamOptions extends Omit<PacedStreamOptions, 'codec' | 'transport' | 'idlePolicy'> {
  format: WireFormat;
  /** Receives each 20 ms frame the engine plays, decoded at the wire's rate (valid only during the call: copy to keep). */
  farEnd: (frame: Int16Array) => void;
}

export class InProcessMediaStream extends PacedMediaStream {
  private readonly farEnd: (frame: Int16Array) => void;
  private readonly inBytes: Uint8Array;
  private readonly heard: Int16Array;
  private seq = 0;

  constructor(options: InProcessStreamOptions) {
    // Sent only while the agent speaks: the far end hears silence as no frames.
    super({ ...options, transport: 'browser', codec: codecFor(options.format, 'le'), idlePolicy: 'none' });
    this.farEnd = options.farEnd;
    this.inBytes = new Uint8Array(this.inFrameSamples * this.codec.bytesPerSample);
    this.heard = new Int16Array(this.outFrameSamples);
    this.startPacing();
  }

  get sampleRate(): number {
    return this.codec.sampleRate;
  }

  /** Samples in one 20 ms frame at the wire's rate. */
  get frameSamples(): number {
    return this.inFrameSamples;
  }

  /** One 20 ms frame (`frameSamples` at `sampleRate`) from the far end, received as a packet would be. */
  receive(frame: Int16Array): void {
    if (this.closed) return;
    this.codec.encode(frame, this.inBytes);
    this.receivePayload(this.inBytes, this.seq & 0xffff, (this.seq * this.inFrameSamples) >>> 0);
    this.seq++;
  }

  /** A key pressed at the far end. */
  pressKey(digit: string): void {
    if (this.closed) return;
    this.counters.eventsIn++;
    this.emitDtmf(digit);
  }

  protected sendFrame(payload: Uint8Array): void {
    this.counters.packetsOut++;
    this.counters.bytesOut += payload.length;
    const n = this.outCodec.decode(payload, this.heard);
    this.farEnd(this.heard.subarray(0, n));
  }

  protected closeTransport(): void {
    // Nothing to release: the far end learns of the close from the 'close' event.
  }
}
