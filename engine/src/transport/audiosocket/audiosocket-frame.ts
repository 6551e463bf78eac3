/**
 * AudioSocket framing (Asterisk res_audiosocket): 1 byte kind, 2 bytes big-endian payload length, payload.
 */
export const KIND_HANGUP = 0x00;
export const KIND_UUID = 0x01;
export const KIND_DTMF = 0x03;
export const KIND_ERROR = 0xff;

/** Audio kinds by sample rate: 0x10 is slin 8 kHz; newer Asterisk adds 0x11–0x18. */
export const AUDIO_KIND_BY_RATE: ReadonlyMap<number, number> = new Map([
  [8000, 0x10], [12000, 0x11], [16000, 0x12], [24000, 0x13], [32000, 0x14], [44100, 0x15], [48000, 0x16], [96000, 0x17], [192000, 0x18],
]);
export const AUDIO_RATE_BY_KIND: ReadonlyMap<number, number> = new Map([...AUDIO_KIND_BY_RATE].map(([rate, kind]) => [kind, rate]));

export const HEADER_BYTES = 3;
/** 20 ms at 192 kHz is 7680 bytes; anything beyond this is not a frame Asterisk would send. */
export const MAX_PAYLOAD_BYTES = 8192;

export type FrameError = 'unknown_kind' | 'oversize_frame';

export interface FrameSink {
  frame(kind: number, payload: Buffer): void;
  /** The stream is not AudioSocket (or is hostile): the connection must be closed. */
  invalid(reason: FrameError, kind: number, length: number): void;
}

function knownKind(kind: number): boolean {
  return kind === KIND_HANGUP || kind === KIND_UUID || kind === KIND_DTMF || kind === KIND_ERROR || AUDIO_RATE_BY_KIND.has(kind);
}

/**
 * Incremental parser: TCP delivers arbitrary slices, so a header or payload may be split across reads (or
 * several frames may share one). Validates kind and length from the header before buffering any payload.
 */
export class FrameParser {
  private pending: Buffer | null = null;
  private failed = false;
  /** While a frame is delivered: its read buffer and where the next frame starts in it (see takeRest). */
  private current: Buffer | null = null;
  private next = 0;

  constructor(private readonly sink: FrameSink) {}

  push(chunk: Buffer): void {
    if (this.failed) return;
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let offset = 0;
    while (buf.length - offset >= HEADER_BYTES) {
      const kind = buf[offset];
      const length = (buf[offset + 1] << 8) | buf[offset + 2];
      if (!knownKind(kind)) return this.fail('unknown_kind', kind, length);
      if (length > MAX_PAYLOAD_BYTES) return this.fail('oversize_frame', kind, length);
      if (buf.length - offset < HEADER_BYTES + length) break;
      const start = offset + HEADER_BYTES;
      this.current = buf;
      this.next = start + length;
      this.sink.frame(kind, buf.subarray(start, start + length));
      this.current = null;
      if (this.failed) return;
      offset = start + length;
    }
    if (offset < buf.length) {
      buf = buf.subarray(offset);
      // Copy the remainder so the socket's chunk can be released.
      this.pending = Buffer.from(buf);
    }
  }

  private fail(reason: FrameError, kind: number, length: number): void {
    this.failed = true;
    this.pending = null;
    this.sink.invalid(reason, kind, length);
  }

  /**
   * Called from `frame`: stops parsing and returns a copy of the bytes read after that frame, for whoever reads
   * the connection from here on (another engine process).
   */
  takeRest(): Buffer {
    const rest = this.current ? Buffer.from(this.current.subarray(this.next)) : Buffer.alloc(0);
    this.stop();
    return rest;
  }

  /** Stops parsing (the connection is closing). */
  stop(): void {
    this.failed = true;
    this.pending = null;
  }
}

export function encodeHeader(buf: Uint8Array, kind: number, length: number): void {
  buf[0] = kind;
  buf[1] = (length >> 8) & 0xff;
  buf[2] = length & 0xff;
}

/** 16 raw UUID bytes as the canonical lower-case string. */
export function uuidFromBytes(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
