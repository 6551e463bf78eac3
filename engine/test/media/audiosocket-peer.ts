import { connect, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { readSlinLE, writeSlinLE } from '../../src/audio/pcm.ts';
import { paced } from './helpers.ts';

export interface ReceivedFrame {
  at: number;
  kind: number;
  payload: Buffer;
}

/** Plays Asterisk's side of AudioSocket: connects, sends the UUID frame, streams slin frames at 20 ms. */
export class AsteriskAudioSocketSide {
  readonly uuid: string;
  readonly socket: Socket;
  readonly received: ReceivedFrame[] = [];
  closed = false;
  private pending = Buffer.alloc(0);

  private constructor(socket: Socket, uuid: string) {
    this.socket = socket;
    this.uuid = uuid;
    socket.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 3) {
        const len = this.pending.readUInt16BE(1);
        if (this.pending.length < 3 + len) break;
        this.received.push({ at: performance.now(), kind: this.pending[0], payload: Buffer.from(this.pending.subarray(3, 3 + len)) });
        this.pending = this.pending.subarray(3 + len);
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }

  /** `halfOpen`: keep our side open after the engine's FIN (a peer that never closes). */
  static async connect(port: number, opts: { uuid?: string; sendUuid?: boolean; halfOpen?: boolean } = {}): Promise<AsteriskAudioSocketSide> {
    const uuid = opts.uuid ?? randomUUID();
    const socket = connect({ port, host: '127.0.0.1', noDelay: true, allowHalfOpen: opts.halfOpen ?? false });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const side = new AsteriskAudioSocketSide(socket, uuid);
    if (opts.sendUuid !== false) socket.write(Buffer.concat([Buffer.from([0x01, 0x00, 0x10]), Buffer.from(uuid.replace(/-/g, ''), 'hex')]));
    return side;
  }

  frame(kind: number, payload: Uint8Array): Buffer {
    const buf = Buffer.alloc(3 + payload.length);
    buf[0] = kind;
    buf.writeUInt16BE(payload.length, 1);
    buf.set(payload, 3);
    return buf;
  }

  /** Streams `pcm` as slin frames of 20 ms (kind 0x10 at 8 kHz, 0x12 at 16 kHz). */
  async play(pcm: Int16Array, rate: 8000 | 16000): Promise<void> {
    const n = rate / 50;
    const count = Math.ceil(pcm.length / n);
    await paced(count, (i) => {
      if (this.socket.destroyed) return;
      const chunk = pcm.subarray(i * n, Math.min(pcm.length, (i + 1) * n));
      const payload = new Uint8Array(chunk.length * 2);
      writeSlinLE(chunk, payload);
      this.socket.write(this.frame(rate === 8000 ? 0x10 : 0x12, payload));
    });
  }

  audio(kind = 0x10): Int16Array {
    const frames = this.received.filter((f) => f.kind === kind);
    const out = new Int16Array(frames.reduce((n, f) => n + f.payload.length / 2, 0));
    let o = 0;
    for (const f of frames) o += readSlinLE(f.payload, out.subarray(o));
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}
