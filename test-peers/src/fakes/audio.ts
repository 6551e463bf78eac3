// Audio the fakes send and inspect. Independent of the engine's codecs on purpose: a test peer that
// shared the engine's code could not catch the engine's mistakes. G.711 comes from the peer's own codec.
import { alawDecode, alawEncode, ulawDecode, ulawEncode } from '../audio/g711.ts';

export type Encoding = 'linear16' | 'mulaw' | 'alaw';

/** Audio a fake should answer with. Defaults to a tone whose length follows the text. */
export type AudioSource =
  | { toneHz?: number; ms?: number }
  | { pcm: Buffer; rate: number }
  | { wav: Buffer };

export function bytesPerSample(encoding: Encoding): number {
  return encoding === 'linear16' ? 2 : 1;
}

/** A sine tone, PCM16 little-endian mono. */
export function tone(opts: { hz?: number; ms: number; rate: number; amplitude?: number }): Buffer {
  const samples = Math.round((opts.ms * opts.rate) / 1000);
  const out = Buffer.alloc(samples * 2);
  const amp = Math.round((opts.amplitude ?? 0.3) * 32767);
  const step = (2 * Math.PI * (opts.hz ?? 440)) / opts.rate;
  for (let i = 0; i < samples; i++) out.writeInt16LE(Math.round(amp * Math.sin(step * i)), i * 2);
  return out;
}

export function silence(ms: number, rate: number): Buffer {
  return Buffer.alloc(Math.round((ms * rate) / 1000) * 2);
}

const WAV_FORMAT: Record<Encoding, number> = { linear16: 1, alaw: 6, mulaw: 7 };

/** RIFF/WAVE file around already-encoded mono samples. */
export function wav(data: Buffer, rate: number, encoding: Encoding = 'linear16'): Buffer {
  return Buffer.concat([wavHeader(data.length, rate, encoding), data]);
}

/** The 44-byte header of a mono WAV holding `dataBytes` of samples (sent ahead of streamed samples). */
export function wavHeader(dataBytes: number, rate: number, encoding: Encoding = 'linear16'): Buffer {
  const bps = bytesPerSample(encoding);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(WAV_FORMAT[encoding], 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * bps, 28);
  header.writeUInt16LE(bps, 32);
  header.writeUInt16LE(bps * 8, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

export interface ParsedWav {
  rate: number;
  channels: number;
  encoding: Encoding;
  data: Buffer;
}

/**
 * Reads a PCM16 / A-law / mu-law WAV (the peer's own reader takes PCM16 only, but vendors send G.711 WAVs);
 * walks the chunk list so extra chunks (LIST, fact) are skipped.
 */
export function parseWav(file: Buffer): ParsedWav {
  if (file.length < 12 || file.toString('ascii', 0, 4) !== 'RIFF' || file.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let offset = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  while (offset + 8 <= file.length) {
    const id = file.toString('ascii', offset, offset + 4);
    const size = file.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      fmt = {
        format: file.readUInt16LE(body),
        channels: file.readUInt16LE(body + 2),
        rate: file.readUInt32LE(body + 4),
        bits: file.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAV data chunk before fmt chunk');
      const encoding = fmt.format === 1 && fmt.bits === 16 ? 'linear16' : fmt.format === 6 ? 'alaw' : fmt.format === 7 ? 'mulaw' : undefined;
      if (!encoding) throw new Error(`unsupported WAV format ${fmt.format}/${fmt.bits} bit`);
      // Streamed WAVs may carry a placeholder size; take what is there.
      return { rate: fmt.rate, channels: fmt.channels, encoding, data: file.subarray(body, Math.min(file.length, body + size)) };
    }
    offset = body + size + (size & 1);
  }
  throw new Error('WAV without data chunk');
}

/** A PCM16 LE buffer as samples (a view when aligned, else a copy). */
function samplesOf(pcm: Buffer): Int16Array {
  const count = pcm.length >> 1;
  if (pcm.byteOffset % 2 === 0) return new Int16Array(pcm.buffer, pcm.byteOffset, count);
  return new Int16Array(Uint8Array.prototype.slice.call(pcm, 0, count * 2).buffer);
}

/** PCM16 LE → the given encoding. */
export function encodePcm16(pcm: Buffer, encoding: Encoding): Buffer {
  if (encoding === 'linear16') return pcm;
  const out = Buffer.alloc(pcm.length >> 1);
  (encoding === 'mulaw' ? ulawEncode : alawEncode)(samplesOf(pcm), out);
  return out;
}

/** Encoded samples → PCM16 LE. */
export function decodeToPcm16(data: Buffer, encoding: Encoding): Buffer {
  if (encoding === 'linear16') return data;
  const samples = new Int16Array(data.length);
  (encoding === 'mulaw' ? ulawDecode : alawDecode)(data, samples);
  return Buffer.from(samples.buffer);
}

/** Nearest-sample rate change: enough for a fake answering with a test's PCM at another rate. */
export function changeRate(pcm: Buffer, from: number, to: number): Buffer {
  if (from === to) return pcm;
  const inSamples = pcm.length >> 1;
  const outSamples = Math.floor((inSamples * to) / from);
  const out = Buffer.alloc(outSamples * 2);
  for (let i = 0; i < outSamples; i++) {
    out.writeInt16LE(pcm.readInt16LE(Math.min(inSamples - 1, Math.floor((i * from) / to)) * 2), i * 2);
  }
  return out;
}

/** Default reply length: roughly speaking pace, never shorter than 200 ms. */
export function speechMsFor(text: string): number {
  return Math.max(200, text.length * 40);
}

/** Renders an AudioSource as PCM16 at `rate`. */
export function renderPcm16(source: AudioSource | undefined, text: string, rate: number): Buffer {
  if (source && 'pcm' in source) return changeRate(source.pcm, source.rate, rate);
  if (source && 'wav' in source) {
    const parsed = parseWav(source.wav);
    return changeRate(decodeToPcm16(parsed.data, parsed.encoding), parsed.rate, rate);
  }
  return tone({ hz: source?.toneHz ?? 440, ms: source?.ms ?? speechMsFor(text), rate });
}

/** Splits `data` into pieces of `chunkMs` of audio. */
export function chunkAudio(data: Buffer, bytesPerMs: number, chunkMs: number): Buffer[] {
  const size = Math.max(1, Math.round(bytesPerMs * chunkMs));
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, Math.min(data.length, i + size)));
  return chunks;
}

/**
 * Energy-based speech detector over 20 ms windows, fed with arbitrary-sized PCM16 pieces.
 * A fake's VAD only has to react to the real speech and silence tests feed it, not to be good.
 */
export class EnergyVad {
  readonly #windowSamples: number;
  readonly #threshold: number;
  #sumSquares = 0;
  #count = 0;
  #processedMs = 0;

  constructor(rate: number, rmsThreshold = 0.02) {
    this.#windowSamples = Math.round(rate / 50);
    this.#threshold = rmsThreshold * 32768;
  }

  /** Calls `onWindow(endMs, isSpeech)` for each completed 20 ms window, in order. */
  feed(pcm: Buffer, onWindow: (endMs: number, isSpeech: boolean) => void): void {
    for (let i = 0; i + 1 < pcm.length; i += 2) {
      const s = pcm.readInt16LE(i);
      this.#sumSquares += s * s;
      this.#count += 1;
      if (this.#count === this.#windowSamples) {
        const rms = Math.sqrt(this.#sumSquares / this.#count);
        this.#processedMs += 20;
        this.#sumSquares = 0;
        this.#count = 0;
        onWindow(this.#processedMs, rms >= this.#threshold);
      }
    }
  }
}
