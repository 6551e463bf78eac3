import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw, Resampler } from '@ai-agent/common/audio';
import { PIPELINE_SAMPLE_RATE } from '../../call/index.ts';
import type { TtsChunk, WireAudio } from '../types.ts';

/**
 * Caller audio an agent's socket may hold unsent (beyond what the kernel took). A speech-to-speech vendor that
 * far behind hears the caller late and answers late: it is failing, so the session is given up, not fed.
 */
export const MAX_SEND_BACKLOG_MS = 3000;

/** What a session fails with when its socket holds more than `MAX_SEND_BACKLOG_MS` of caller audio. */
export function sendBacklogError(label: string, bufferedBytes: number): Error {
  return new Error(`${label} is not reading the caller's audio: ${Math.round(bufferedBytes / 1024)} KiB (over ${MAX_SEND_BACKLOG_MS / 1000} s of audio) wait unsent`);
}

/** How a session's audio crosses to its vendor, both ways. */
export interface AgentAudio {
  /** The encoding and rate the vendor is told it gets and gives. */
  readonly vendor: WireAudio;
  /** The vendor gets the wire's own audio: `toVendor`'s `wire` alone is used. */
  readonly passthrough: boolean;
  /**
   * One caller frame (16 kHz `pcm`, and `wire` the same 20 ms at the wire's rate when the call has it) as the
   * vendor's bytes, in a Buffer of its own: the socket may hold it after this returns, the frames are reused.
   */
  toVendor(pcm: Int16Array, wire?: Int16Array): Buffer;
  /** Vendor audio bytes as a chunk the caller may keep. */
  fromVendor(bytes: Uint8Array): TtsChunk;
  /** Milliseconds of audio in `bytes` of the vendor's encoding. */
  msOf(bytes: number): number;
  destroy(): void;
}

/**
 * The audio a session speaks with its vendor: the wire's own G.711 when the vendor takes it (no conversion
 * at all), else linear PCM16 at `pcmRate`.
 */
export function agentAudioFor(wire: WireAudio | undefined, pcmRate: number): AgentAudio {
  if (wire && wire.sampleRate === G711_RATE && (wire.encoding === 'mulaw' || wire.encoding === 'alaw')) return new G711Passthrough(wire.encoding);
  return new PcmBridge(pcmRate);
}

/**
 * Converts between the pipeline's 16 kHz PCM16 and the linear PCM16 rate a vendor wants, both ways, with the
 * speex resampler (one state per direction, so consecutive chunks join without clicks). Equal rates pass
 * through without resampling.
 */
class PcmBridge implements AgentAudio {
  readonly vendor: WireAudio;
  readonly passthrough = false;
  private readonly up: Resampler | null;
  private readonly down: Resampler | null;

  constructor(rate: number) {
    this.vendor = { encoding: 'linear16', sampleRate: rate };
    this.up = rate === PIPELINE_SAMPLE_RATE ? null : new Resampler(PIPELINE_SAMPLE_RATE, rate);
    this.down = rate === PIPELINE_SAMPLE_RATE ? null : new Resampler(rate, PIPELINE_SAMPLE_RATE);
  }

  toVendor(pcm: Int16Array): Buffer {
    const samples = this.up ? this.up.process(pcm) : pcm;
    const out = Buffer.allocUnsafe(samples.byteLength);
    out.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
    return out;
  }

  fromVendor(bytes: Uint8Array): TtsChunk {
    const n = bytes.byteLength >> 1;
    // The vendor's bytes need not be 2-aligned; copying them also makes the samples ours.
    const samples = new Int16Array(n);
    new Uint8Array(samples.buffer).set(bytes.subarray(0, n * 2));
    return { pcm: this.down ? this.down.process(samples).slice() : samples, sampleRate: PIPELINE_SAMPLE_RATE };
  }

  msOf(bytes: number): number {
    return (bytes / 2 / this.vendor.sampleRate) * 1000;
  }

  destroy(): void {
    this.up?.destroy();
    this.down?.destroy();
  }
}

const G711_RATE = 8000;

/**
 * The call's G.711 both ways: caller frames go out as the wire's own samples encoded back (which gives exactly
 * the bytes received), and the vendor's bytes come back decoded at 8 kHz, which the media stream encodes to
 * the same bytes again. Nothing is resampled.
 */
class G711Passthrough implements AgentAudio {
  readonly vendor: WireAudio;
  readonly passthrough = true;
  private readonly encode: typeof encodeUlaw;
  private readonly decode: typeof decodeUlaw;
  /** Only for a frame that comes without its wire samples: pipeline PCM brought down to 8 kHz. */
  private fallback: Resampler | null = null;

  constructor(encoding: 'mulaw' | 'alaw') {
    this.vendor = { encoding, sampleRate: G711_RATE };
    this.encode = encoding === 'mulaw' ? encodeUlaw : encodeAlaw;
    this.decode = encoding === 'mulaw' ? decodeUlaw : decodeAlaw;
  }

  toVendor(pcm: Int16Array, wire?: Int16Array): Buffer {
    let samples = wire;
    if (!samples) {
      this.fallback ??= new Resampler(PIPELINE_SAMPLE_RATE, G711_RATE);
      samples = this.fallback.process(pcm);
    }
    const out = Buffer.allocUnsafe(samples.length);
    this.encode(samples, out);
    return out;
  }

  fromVendor(bytes: Uint8Array): TtsChunk {
    const pcm = new Int16Array(bytes.byteLength);
    this.decode(bytes, pcm);
    return { pcm, sampleRate: G711_RATE };
  }

  msOf(bytes: number): number {
    return bytes / (G711_RATE / 1000);
  }

  destroy(): void {
    this.fallback?.destroy();
  }
}
