import type { WebSocket, RawData } from 'ws';
import { codecFor, isWireFormat } from '../../audio/codec.ts';
import { FRAME_MS } from '../../call/index.ts';
import { PacedMediaStream, type PacedStreamOptions } from '../paced-media-stream.ts';
import { formatCommand, MAX_EVENT_BYTES, parseControlEvent, type ControlEvent, type ControlFormat } from './control-messages.ts';

export interface WsMediaStreamOptions extends Omit<PacedStreamOptions, 'codec' | 'transport' | 'idlePolicy' | 'id'> {
  /** Overrides the call id (default: MEDIA_START's channel_id). */
  id?: string;
  /** Binary messages accepted per 20 ms before the rest are dropped (flood guard). */
  maxMessagesPerTick?: number;
  /**
   * Audio (ms) the connection may hold unsent beyond what the kernel took; while it holds more, each tick's
   * frame is dropped and counted (the peer has stopped reading). Default 2000.
   */
  maxSendBacklogMs?: number;
}

const BINARY = { binary: true } as const;

/** What MEDIA_START told us. */
export interface MediaStartInfo {
  connectionId: string;
  channel: string;
  channelId: string;
  format: string;
  optimalFrameSize: number;
  ptime: number;
  controlFormat: ControlFormat;
  fields: Record<string, string>;
}

export function mediaStartInfo(event: ControlEvent, json: boolean): MediaStartInfo | null {
  const f = event.fields;
  if (event.event !== 'MEDIA_START' || !f.format || !f.channel_id) return null;
  return {
    connectionId: f.connection_id ?? '',
    channel: f.channel ?? '',
    channelId: f.channel_id,
    format: f.format,
    optimalFrameSize: Number(f.optimal_frame_size ?? 0),
    ptime: Number(f.ptime ?? 20),
    controlFormat: json ? 'json' : 'plain-text',
    fields: f,
  };
}

let markCounter = 0;

/**
 * Media over Asterisk's chan_websocket, in either direction of connection. Audio is sent one frame of
 * exactly `optimal_frame_size` per pacer tick (Asterisk drops partial frames outside bulk mode), so its
 * queue stays near one frame and FLUSH_MEDIA plus our own flush silence the caller at once. XOFF pauses
 * sending (the queue waits here), XON resumes. Marks become MARK_MEDIA and are reported when Asterisk's
 * MEDIA_MARK_PROCESSED says the caller has heard up to them.
 */
export class WsMediaStream extends PacedMediaStream {
  readonly info: MediaStartInfo;
  private readonly ws: WebSocket;
  private readonly maxMessagesPerTick: number;
  private readonly maxSendBacklogBytes: number;
  /** The next frame is copied here; replaced whenever the connection keeps it (see `sendFrame`). */
  private sendBuffer: Buffer;
  /** Marks sent to Asterisk and not yet reported: wire id → caller's id. */
  private readonly remoteMarks = new Map<string, string>();
  private messagesThisTick = 0;
  private seq = 0;
  private timestamp = 0;

  constructor(ws: WebSocket, info: MediaStartInfo, options: WsMediaStreamOptions) {
    if (!isWireFormat(info.format)) throw new Error(`unsupported WebSocket media format ${info.format}`);
    const codec = codecFor(info.format, 'le');
    super({ ...options, id: options.id ?? info.channelId, transport: 'websocket', codec, idlePolicy: 'none' });
    this.info = info;
    this.ws = ws;
    this.maxMessagesPerTick = options.maxMessagesPerTick ?? 8;
    const frameBytes = this.outBytes.length;
    this.sendBuffer = Buffer.alloc(frameBytes);
    this.maxSendBacklogBytes = Math.ceil((options.maxSendBacklogMs ?? 2000) / FRAME_MS) * frameBytes;
    this.counters.outboundBackpressureFrames = 0;
    if (info.ptime !== FRAME_MS || (info.optimalFrameSize > 0 && info.optimalFrameSize !== frameBytes)) {
      this.log.warn({ ptime: info.ptime, optimalFrameSize: info.optimalFrameSize, frameBytes }, 'WebSocket media frame size differs from 20 ms frames');
    }
    ws.on('message', this.onMessage);
    ws.on('close', () => this.close('connection closed'));
    ws.on('error', (err) => this.fail(err));
    ws.resume();
    this.startPacing();
  }

  /** Asks Asterisk for its queue status (answered with a STATUS event, logged at debug). */
  requestStatus(): void {
    this.command('GET_STATUS');
  }

  private readonly onMessage = (data: RawData, isBinary: boolean): void => {
    if (this.closed) return;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isBinary) {
      if (++this.messagesThisTick > this.maxMessagesPerTick) {
        // Over budget: drop, and stop reading until the next tick so TCP pushes the flood back to the sender.
        this.reject('rate_limited');
        if (!this.ws.isPaused) this.ws.pause();
        return;
      }
      if (this.codec.bytesPerSample === 2 && buf.length % 2 !== 0) {
        this.reject('bad_audio_length', { bytes: buf.length });
        return;
      }
      this.receivePayload(buf, this.seq, this.timestamp);
      this.seq = (this.seq + 1) & 0xffff;
      this.timestamp += buf.length / this.codec.bytesPerSample;
      return;
    }
    if (buf.length > MAX_EVENT_BYTES) {
      this.counters.eventsIn++;
      this.reject('oversize_event', { bytes: buf.length });
      return;
    }
    this.counters.eventsIn++;
    const event = parseControlEvent(buf.toString('utf8'));
    if (!event) {
      this.reject('bad_event');
      return;
    }
    this.handleEvent(event);
  };

  private handleEvent(event: ControlEvent): void {
    switch (event.event) {
      case 'MEDIA_XOFF':
        this.outboundPaused = true;
        return;
      case 'MEDIA_XON':
        this.outboundPaused = false;
        return;
      case 'MEDIA_MARK_PROCESSED': {
        const id = this.remoteMarks.get(event.argument ?? '');
        if (id === undefined) return;
        this.remoteMarks.delete(event.argument ?? '');
        this.emit('mark', id, true);
        return;
      }
      case 'DTMF_END': {
        const digit = event.fields.digit;
        if (digit && /^[0-9*#A-D]$/.test(digit)) this.emitDtmf(digit);
        else this.reject('bad_dtmf');
        return;
      }
      case 'ERROR':
        this.reject('peer_error');
        this.log.warn({ callId: this.id, error: event.fields.error_text }, 'Asterisk reported a WebSocket media error');
        return;
      case 'MEDIA_START':
        this.reject('repeated_media_start');
        return;
      case 'STATUS':
      case 'QUEUE_DRAINED':
      case 'MEDIA_BUFFERING_COMPLETED':
        this.log.debug({ callId: this.id, event: event.event, fields: event.fields }, 'websocket media event');
        return;
      default:
        this.reject('unknown_event', { event: event.event });
    }
  }

  override receiveTick(): void {
    this.messagesThisTick = 0;
    if (this.ws.isPaused) this.ws.resume();
    super.receiveTick();
  }

  protected sendFrame(payload: Uint8Array): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount >= this.maxSendBacklogBytes) {
      // Dropping the newest frame bounds both memory and the delay the caller hears once the peer reads again.
      this.counters.outboundBackpressureFrames!++;
      this.warnings.warn('send_backlog', { callId: this.id, bufferedBytes: this.ws.bufferedAmount }, 'WebSocket media peer is not reading; outbound audio dropped');
      return;
    }
    // ws does not copy an unmasked (server-side) frame: the socket writes the caller's bytes, and a write the
    // kernel did not take whole waits in the socket still pointing at them. So the frame goes out from a
    // buffer of ours, which is left to the socket when it is kept (bufferedAmount > 0) and replaced. While the
    // peer reads, every write is taken at once and one buffer serves the whole call.
    const buf = this.sendBuffer;
    buf.set(payload);
    this.counters.packetsOut++;
    this.counters.bytesOut += buf.length;
    this.ws.send(buf, BINARY);
    if (this.ws.bufferedAmount > 0) this.sendBuffer = Buffer.allocUnsafe(buf.length);
  }

  protected override markPassed(id: string): void {
    // The mark rides in Asterisk's queue right behind the audio before it and is reported when played.
    // A short generated id goes on the wire: Asterisk caps text messages at 128 bytes.
    const remoteId = `m${++markCounter}`;
    this.remoteMarks.set(remoteId, id);
    this.command('MARK_MEDIA', remoteId);
  }

  protected override onFlush(): void {
    this.command('FLUSH_MEDIA');
    // FLUSH_MEDIA also drops the marks queued in Asterisk: they will never be reported.
    this.dropRemoteMarks();
  }

  private dropRemoteMarks(): void {
    const ids = [...this.remoteMarks.values()];
    this.remoteMarks.clear();
    for (const id of ids) this.emit('mark', id, false);
  }

  protected closeTransport(): void {
    this.dropRemoteMarks();
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(1000);
  }

  private command(name: string, correlationId?: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(formatCommand(this.info.controlFormat, name, correlationId));
  }
}
