import type { WebSocket } from 'ws';
import type { Logger } from '@ai-agent/common';
import { FRAME_SAMPLES, WireCodec, frameBytes, type MediaFormat } from '../audio/formats.ts';
import { isAudible } from '../audio/level.ts';
import type { InboundObserver, MediaEndpoint } from '../media-endpoint.ts';

/** Queue levels hard-coded in channels/chan_websocket.c. */
export const QUEUE_LENGTH_MAX = 1000;
export const QUEUE_LENGTH_XOFF_LEVEL = 900;
export const QUEUE_LENGTH_XON_LEVEL = 800;
/** MAX_TEXT_MESSAGE_LEN in chan_websocket.c: longer commands are ignored. */
const MAX_TEXT_MESSAGE_LEN = 128;

export type ControlMessageFormat = 'plain-text' | 'json';

export interface WsMediaLegOptions {
  connectionId: string;
  channelName: string;
  channelId: string;
  format: MediaFormat;
  controlFormat: ControlMessageFormat;
  /** Channel variables, sent in MEDIA_START only in JSON mode. */
  channelVariables?: () => Record<string, string>;
  log: Logger;
}

export interface WsMediaStats {
  framesSent: number;
  binaryReceived: number;
  framesQueued: number;
  droppedQueueFull: number;
  droppedLeftover: number;
  commands: Record<string, number>;
}

type Queued = { audio: Buffer } | { text: string };

/**
 * Asterisk's side of a media WebSocket (channels/chan_websocket.c). Audio to the app goes out as binary
 * messages of one frame; audio from the app is cut into optimal_frame_size frames into a queue that one
 * 20 ms timer drains (silence when empty), with the driver's commands and notifications:
 * START/STOP_MEDIA_BUFFERING (partial frames kept across messages, the rest padded on STOP, then
 * MEDIA_BUFFERING_COMPLETED when played out), MARK_MEDIA → MEDIA_MARK_PROCESSED when playback reaches it,
 * FLUSH_MEDIA, PAUSE_MEDIA/CONTINUE_MEDIA, GET_STATUS → STATUS, REPORT_QUEUE_DRAINED → QUEUE_DRAINED,
 * MEDIA_XOFF at 900 queued frames and MEDIA_XON below 800, drops at 1000, ANSWER, HANGUP; DTMF to the
 * app as DTMF_END. Control messages are plain text or, with f(json), JSON objects.
 * Agent audio is observed when the queue plays it out, which is when the caller hears it.
 */
export class WsMediaLeg implements MediaEndpoint {
  readonly stats: WsMediaStats = { framesSent: 0, binaryReceived: 0, framesQueued: 0, droppedQueueFull: 0, droppedLeftover: 0, commands: {} };
  onInbound: InboundObserver | null = null;
  onAnswer: (() => void) | null = null;
  /** The app sent HANGUP or closed the socket. */
  onEnd: ((why: 'engine-hangup' | 'engine-closed') => void) | null = null;
  readonly optimalFrameSize: number;
  private readonly queue: Queued[] = [];
  private queueLength = 0;
  private queueFull = false;
  private paused = false;
  private bulk = false;
  private reportDrained = false;
  private readonly leftover: Buffer;
  private leftoverLength = 0;
  private readonly codec: WireCodec;
  private readonly padded = new Int16Array(FRAME_SAMPLES);
  private ended = false;

  constructor(private readonly ws: WebSocket, private readonly opts: WsMediaLegOptions) {
    this.optimalFrameSize = frameBytes(opts.format);
    this.leftover = Buffer.alloc(this.optimalFrameSize);
    this.codec = new WireCodec(opts.format);
    ws.on('message', (data, isBinary) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      if (isBinary) this.onBinary(buf);
      else this.onText(buf.toString('utf8'));
    });
    ws.on('close', () => this.finish('engine-closed'));
    ws.on('error', (err) => opts.log.debug({ err }, 'media websocket error'));
  }

  /** Sends MEDIA_START, as websocket_handoff_to_channel does right after the connection is up. */
  start(): void {
    const o = this.opts;
    if (o.controlFormat === 'json') {
      this.sendText(JSON.stringify({
        event: 'MEDIA_START', connection_id: o.connectionId, channel: o.channelName, channel_id: o.channelId,
        format: o.format, optimal_frame_size: this.optimalFrameSize, ptime: 20,
        channel_variables: o.channelVariables?.() ?? {},
      }));
    } else {
      this.sendText(
        `MEDIA_START connection_id:${o.connectionId} channel:${o.channelName} channel_id:${o.channelId} ` +
          `format:${o.format} optimal_frame_size:${this.optimalFrameSize} ptime:20`,
      );
    }
  }

  pull(now: number): Int16Array | null {
    if (this.paused || this.ended) return null;
    if (this.queueFull && this.queueLength < QUEUE_LENGTH_XON_LEVEL) {
      this.queueFull = false;
      this.sendEvent('MEDIA_XON');
    }
    let head = this.queue.shift();
    if (!head) {
      if (this.reportDrained) {
        this.reportDrained = false;
        this.sendEvent('QUEUE_DRAINED');
      }
      return null;
    }
    // Control entries never use a media timeslot: all consecutive ones go out now.
    while (head && 'text' in head) {
      this.sendText(head.text);
      head = this.queue.shift();
    }
    if (!head) return null;
    this.queueLength--;
    const samples = this.codec.decode(head.audio);
    let frame = samples;
    if (samples.length !== FRAME_SAMPLES) {
      // A short frame is padded with silence, as webchan_read does.
      this.padded.fill(0);
      this.padded.set(samples.subarray(0, FRAME_SAMPLES));
      frame = this.padded;
    }
    this.onInbound?.(isAudible(frame), now);
    return frame;
  }

  push(frame: Int16Array | null): void {
    if (!frame || this.ended || this.ws.readyState !== this.ws.OPEN) return;
    this.stats.framesSent++;
    this.ws.send(this.codec.encode(frame), { binary: true });
  }

  sendDtmf(digit: string): void {
    const d = digit.slice(0, 1);
    if (this.opts.controlFormat === 'json') {
      this.sendText(JSON.stringify({ event: 'DTMF_END', channel_id: this.opts.channelId, digit: d }));
    } else {
      this.sendText(`DTMF_END digit:${d} channel_id:${this.opts.channelId}`);
    }
  }

  /** Channel hangup: chan_websocket closes the socket with code 1000 (or the tech cause). */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(1000);
  }

  private finish(why: 'engine-hangup' | 'engine-closed'): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd?.(why);
  }

  private onBinary(payload: Buffer): void {
    this.stats.binaryReceived++;
    if (this.queueLength >= QUEUE_LENGTH_MAX) {
      this.stats.droppedQueueFull++;
      return;
    }
    const size = this.optimalFrameSize;
    let offset = 0;
    if (this.bulk && this.leftoverLength > 0) {
      const need = size - this.leftoverLength;
      const take = Math.min(need, payload.length);
      payload.copy(this.leftover, this.leftoverLength, 0, take);
      if (take < need) {
        this.leftoverLength += take;
        return;
      }
      this.enqueueAudio(Buffer.from(this.leftover));
      offset = take;
      this.leftoverLength = 0;
    }
    if (!this.bulk && this.leftoverLength > 0) this.leftoverLength = 0;
    while (payload.length - offset >= size) {
      this.enqueueAudio(Buffer.from(payload.subarray(offset, offset + size)));
      offset += size;
    }
    const rest = payload.length - offset;
    if (rest > 0) {
      if (this.bulk) {
        payload.copy(this.leftover, 0, offset);
        this.leftoverLength = rest;
      } else {
        // Outside bulk mode an odd tail cannot make a frame and is dropped, as the driver documents.
        this.stats.droppedLeftover += rest;
      }
    }
  }

  private enqueueAudio(frame: Buffer): void {
    this.queue.push({ audio: frame });
    this.queueLength++;
    this.stats.framesQueued++;
    if (!this.queueFull && this.queueLength >= QUEUE_LENGTH_XOFF_LEVEL) {
      this.queueFull = true;
      this.sendEvent('MEDIA_XOFF');
    }
  }

  private onText(raw: string): void {
    if (raw.length === 0) return;
    if (raw.length > MAX_TEXT_MESSAGE_LEN) {
      this.opts.log.warn({ length: raw.length }, 'WebSocket TEXT message exceeds maximum length; ignored');
      return;
    }
    let command: string | undefined;
    let data: string | undefined;
    const text = raw.trim();
    if (this.opts.controlFormat === 'json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        this.sendError('Unable to parse JSON command');
        return;
      }
      const obj = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
      command = typeof obj.command === 'string' ? obj.command : undefined;
      data = typeof obj.correlation_id === 'string' ? obj.correlation_id : undefined;
    } else {
      const space = text.indexOf(' ');
      command = space < 0 ? text : text.slice(0, space);
      data = space < 0 ? undefined : text.slice(space + 1);
    }
    const name = command ?? '';
    this.stats.commands[name] = (this.stats.commands[name] ?? 0) + 1;
    switch (command) {
      case 'ANSWER':
        this.onAnswer?.();
        return;
      case 'HANGUP':
        this.finish('engine-hangup');
        return;
      case 'START_MEDIA_BUFFERING':
        this.bulk = true;
        return;
      case 'STOP_MEDIA_BUFFERING':
        this.bulk = false;
        if (this.leftoverLength > 0) this.enqueueAudio(Buffer.from(this.leftover.subarray(0, this.leftoverLength)));
        this.leftoverLength = 0;
        this.queue.push({ text: this.eventWithId('MEDIA_BUFFERING_COMPLETED', data) });
        return;
      case 'MARK_MEDIA':
        this.queue.push({ text: this.eventWithId('MEDIA_MARK_PROCESSED', data) });
        return;
      case 'FLUSH_MEDIA':
        this.queue.length = 0;
        this.queueLength = 0;
        this.bulk = false;
        this.leftoverLength = 0;
        return;
      case 'REPORT_QUEUE_DRAINED':
        this.reportDrained = true;
        return;
      case 'GET_STATUS':
        this.sendStatus();
        return;
      case 'PAUSE_MEDIA':
        this.paused = true;
        return;
      case 'CONTINUE_MEDIA':
        this.paused = false;
        return;
      default:
        this.opts.log.warn({ command: name.slice(0, 40) }, 'WebSocket command unknown');
    }
  }

  private eventWithId(event: string, id: string | undefined): string {
    if (this.opts.controlFormat === 'json') {
      return JSON.stringify({ event, channel_id: this.opts.channelId, correlation_id: id ?? '' });
    }
    return id ? `${event} ${id}` : event;
  }

  private sendEvent(event: string): void {
    this.sendText(this.opts.controlFormat === 'json' ? JSON.stringify({ event, channel_id: this.opts.channelId }) : event);
  }

  private sendStatus(): void {
    const s = {
      queue_length: this.queueLength, xon_level: QUEUE_LENGTH_XON_LEVEL, xoff_level: QUEUE_LENGTH_XOFF_LEVEL,
      queue_full: this.queueFull, bulk_media: this.bulk, media_paused: this.paused,
    };
    if (this.opts.controlFormat === 'json') {
      this.sendText(JSON.stringify({ event: 'STATUS', channel_id: this.opts.channelId, ...s }));
    } else {
      this.sendText(
        `STATUS channel_id:${this.opts.channelId} queue_length:${s.queue_length} xon_level:${s.xon_level} ` +
          `xoff_level:${s.xoff_level} queue_full:${s.queue_full} bulk_media:${s.bulk_media} media_paused:${s.media_paused}`,
      );
    }
  }

  private sendError(text: string): void {
    if (this.opts.controlFormat === 'json') {
      this.sendText(JSON.stringify({ event: 'ERROR', channel_id: this.opts.channelId, error_text: text }));
    } else {
      this.sendText(`ERROR channel_id:${this.opts.channelId} error_text:${text}`);
    }
  }

  private sendText(text: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }
}
