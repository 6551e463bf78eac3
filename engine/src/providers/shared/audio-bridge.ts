import { Resampler } from '@ai-agent/common/audio';
import { PIPELINE_SAMPLE_RATE } from '../../call/index.ts';

/**
 * Caller audio an agent's socket may hold unsent (beyond what the kernel took). A speech-to-speech vendor that
 * far behind hears the caller late and answers late: it is failing, so the session is given up, not fed.
 */
export const MAX_SEND_BACKLOG_MS = 3000;

/** What a session fails with when its socket holds more than `MAX_SEND_BACKLOG_MS` of caller audio. */
export function sendBacklogError(label: string, bufferedBytes: number): Error {
  return new Error(`${label} is not reading the caller's audio: ${Math.round(bufferedBytes / 1024)} KiB (over ${MAX_SEND_BACKLOG_MS / 1000} s of audio) wait unsent`);
}

/**
 * Converts between the pipeline's 16 kHz PCM16 and the linear PCM16 rate a vendor wants, both ways, with the
 * speex resampler (one state per direction, so consecutive chunks join without clicks). Equal rates pass
 * through without resampling.
 */
export class AgentAudioBridge {
  private readonly up: Resampler | null;
  private readonly down: Resampler | null;

  constructor(readonly vendorRate: number) {
    this.up = vendorRate === PIPELINE_SAMPLE_RATE ? null : new Resampler(PIPELINE_SAMPLE_RATE, vendorRate);
    this.down = vendorRate === PIPELINE_SAMPLE_RATE ? null : new Resampler(vendorRate, PIPELINE_SAMPLE_RATE);
  }

  /**
   * Caller audio (16 kHz) as little-endian bytes at the vendor rate, in a Buffer of its own: the socket may
   * hold it after this returns, while the frame array and the resampler's output view are reused.
   */
  toVendor(pcm: Int16Array): Buffer {
    const samples = this.up ? this.up.process(pcm) : pcm;
    const out = Buffer.allocUnsafe(samples.byteLength);
    out.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
    return out;
  }

  /** Vendor audio (little-endian PCM16 bytes at the vendor rate) as 16 kHz samples the caller may keep. */
  fromVendor(bytes: Uint8Array): Int16Array {
    const n = bytes.byteLength >> 1;
    // The vendor's bytes need not be 2-aligned; copying them also makes the samples ours.
    const samples = new Int16Array(n);
    new Uint8Array(samples.buffer).set(bytes.subarray(0, n * 2));
    return this.down ? this.down.process(samples).slice() : samples;
  }

  /** Vendor-rate samples in `bytes` as milliseconds of audio. */
  msOf(bytes: number): number {
    return (bytes / 2 / this.vendorRate) * 1000;
  }

  destroy(): void {
    this.up?.destroy();
    this.down?.destroy();
  }
}
