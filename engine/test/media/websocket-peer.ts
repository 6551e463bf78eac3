import { WebSocket, WebSocketServer } from 'ws';
import { randomUUID } from 'node:crypto';
import { decodeUlaw, encodeUlaw } from '@ai-agent/common/audio';
import { readSlinLE, writeSlinLE } from '../../src/audio/pcm.ts';
import { paced } from './helpers.ts';

export type WsPeerFormat = 'ulaw' | 'slin16';

/**
 * Plays chan_websocket's side, as read from Asterisk's source: MEDIA_START first, 20 ms frames of
 * `optimal_frame_size`, a frame queue drained by its own 20 ms timer (silence when empty), MARK_MEDIA as an
 * entry in that queue, FLUSH_MEDIA clearing it, XOFF/XON at 900/800 frames.
 */
export class AsteriskWsSide {
  readonly channelId = `${Date.now()}.${Math.floor(Math.random() * 1000)}`;
  readonly connectionId = randomUUID();
  readonly played: Array<{ at: number; bytes: Buffer; silence: boolean }> = [];
  readonly events: string[] = [];
  readonly commands: string[] = [];
  ws: WebSocket | null = null;
  private queue: Array<Buffer | string> = [];
  private timer: NodeJS.Timeout | null = null;
  private xoff = false;
  readonly frameBytes: number;

  constructor(readonly format: WsPeerFormat, readonly json = false) {
    this.frameBytes = format === 'ulaw' ? 160 : 640;
  }

  attach(ws: WebSocket): void {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      const buf = data as Buffer;
      if (isBinary) {
        // Outside bulk mode a message is cut into optimal-size frames; a remainder is dropped.
        for (let o = 0; o + this.frameBytes <= buf.length; o += this.frameBytes) {
          if (this.queue.length < 1000) this.queue.push(Buffer.from(buf.subarray(o, o + this.frameBytes)));
        }
        const frames = this.queue.filter((q) => typeof q !== 'string').length;
        if (!this.xoff && frames >= 900) {
          this.xoff = true;
          this.send('MEDIA_XOFF');
        }
        return;
      }
      const text = buf.toString();
      this.commands.push(text);
      const cmd = this.json ? (JSON.parse(text) as { command: string; correlation_id?: string }) : { command: text.split(' ')[0], correlation_id: text.split(' ')[1] };
      if (cmd.command === 'MARK_MEDIA') {
        this.queue.push(this.json ? JSON.stringify({ event: 'MEDIA_MARK_PROCESSED', channel_id: this.channelId, correlation_id: cmd.correlation_id }) : `MEDIA_MARK_PROCESSED ${cmd.correlation_id}`);
      } else if (cmd.command === 'FLUSH_MEDIA') {
        this.queue = [];
      }
    });
    const start = this.json
      ? JSON.stringify({ event: 'MEDIA_START', connection_id: this.connectionId, channel: `WebSocket/test/0x1`, channel_id: this.channelId, format: this.format, optimal_frame_size: this.frameBytes, ptime: 20 })
      : `MEDIA_START connection_id:${this.connectionId} channel:WebSocket/INCOMING/0x1 channel_id:${this.channelId} format:${this.format} optimal_frame_size:${this.frameBytes} ptime:20`;
    ws.send(start);
    // Asterisk's channel timer: one frame out of the queue every 20 ms.
    const t0 = performance.now();
    let n = 0;
    const tick = (): void => {
      n++;
      let item = this.queue.shift();
      while (typeof item === 'string') {
        this.send(item);
        item = this.queue.shift();
      }
      if (this.xoff && this.queue.length < 800) {
        this.xoff = false;
        this.send('MEDIA_XON');
      }
      const at = performance.now();
      this.played.push(item ? { at, bytes: item, silence: false } : { at, bytes: Buffer.alloc(0), silence: true });
      this.timer = setTimeout(tick, Math.max(0, t0 + (n + 1) * 20 - performance.now()));
    };
    this.timer = setTimeout(tick, 20);
    ws.on('close', () => this.stop());
  }

  send(event: string): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(this.json && !event.startsWith('{') ? JSON.stringify({ event, channel_id: this.channelId }) : event);
  }

  async play(pcm: Int16Array): Promise<void> {
    const n = this.format === 'ulaw' ? 160 : 320;
    await paced(Math.ceil(pcm.length / n), (i) => {
      const chunk = pcm.subarray(i * n, Math.min(pcm.length, (i + 1) * n));
      const bytes = new Uint8Array(this.format === 'ulaw' ? chunk.length : chunk.length * 2);
      if (this.format === 'ulaw') encodeUlaw(chunk, bytes);
      else writeSlinLE(chunk, bytes);
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(bytes, { binary: true });
    });
  }

  /** What the caller heard (silence slots omitted). */
  heard(): Int16Array {
    const frames = this.played.filter((p) => !p.silence);
    const per = this.format === 'ulaw' ? 160 : 320;
    const out = new Int16Array(frames.length * per);
    frames.forEach((f, i) => {
      if (this.format === 'ulaw') decodeUlaw(f.bytes, out.subarray(i * per));
      else readSlinLE(f.bytes, out.subarray(i * per));
    });
    return out;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  close(): void {
    this.stop();
    this.ws?.close(1000);
  }
}

/** Asterisk in server mode: serves `/media/<connection_id>` with subprotocol `media`. */
export async function startAsteriskWsServer(peer: AsteriskWsSide): Promise<{ url: string; close: () => Promise<void> }> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (p) => (p.has('media') ? 'media' : false),
  });
  await new Promise<void>((r) => wss.once('listening', r));
  wss.on('connection', (ws, req) => {
    if (req.url !== `/media/${peer.connectionId}`) {
      ws.close(1008);
      return;
    }
    peer.attach(ws);
  });
  const port = (wss.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}/media/${peer.connectionId}`,
    close: () => {
      peer.stop();
      for (const c of wss.clients) c.terminate();
      return new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

/** Asterisk in client mode: connects to the engine's listener. */
export async function connectAsteriskWsClient(peer: AsteriskWsSide, port: number, protocol = 'media'): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, protocol);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  peer.attach(ws);
  return ws;
}
