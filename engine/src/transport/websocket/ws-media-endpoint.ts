import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { resolveBindHost, type Logger } from '@ai-agent/common';
import { sharedPacer, type Pacer } from '../../audio/pacer.ts';
import { countReason, type ReasonCounts } from '../counters.ts';
import { RateLimitedLog } from '../rate-limited-log.ts';
import { MAX_EVENT_BYTES, parseControlEvent } from './control-messages.ts';
import { mediaStartInfo, WsMediaStream, type MediaStartInfo, type WsMediaStreamOptions } from './ws-media-stream.ts';

/** chan_websocket's subprotocol. */
export const MEDIA_SUBPROTOCOL = 'media';
/**
 * Largest message either side accepts: Asterisk sends one frame per message (160–1920 bytes at 20 ms), so
 * 64 KiB leaves room for larger ptimes without letting a peer make us buffer megabytes per message.
 */
const MAX_MESSAGE_BYTES = 64 * 1024;
/**
 * A slow or silent client cannot hold a socket before its upgrade (slowloris): Node's defaults wait a minute for
 * a request head. An upgrade is a bare head, so seconds are plenty.
 */
const UPGRADE_TIMEOUTS = { headersTimeout: 5_000, requestTimeout: 10_000, connectionsCheckingInterval: 1_000 } as const;

type StreamDefaults = Partial<Pick<WsMediaStreamOptions, 'resamplerQuality' | 'jitterMinDelayMs' | 'jitterMaxDelayMs' | 'maxQueueSeconds' | 'maxMessagesPerTick' | 'maxSendBacklogMs'>>;

/** Waits for the first message, which must be MEDIA_START; rejects on anything else or timeout. */
function awaitMediaStart(ws: WebSocket, timeoutMs: number): Promise<MediaStartInfo> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, info?: MediaStartInfo): void => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      if (err) reject(err);
      else resolve(info!);
    };
    const onMessage = (data: RawData, isBinary: boolean): void => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (isBinary || buf.length > MAX_EVENT_BYTES) return done(new MediaProtocolError('media_before_start'));
      const text = buf.toString('utf8');
      const event = parseControlEvent(text);
      const info = event && mediaStartInfo(event, text.trimStart().startsWith('{'));
      if (!info) return done(new MediaProtocolError('bad_media_start'));
      // Hold further messages until the stream's handlers are attached (audio may follow in the same read).
      ws.pause();
      done(null, info);
    };
    const onClose = (): void => done(new MediaProtocolError('closed_before_start'));
    const timer = setTimeout(() => done(new MediaProtocolError('media_start_timeout')), timeoutMs);
    ws.on('message', onMessage);
    ws.on('close', onClose);
  });
}

/**
 * Closes a connection `awaitMediaStart` left paused: reading resumes first, or the peer's close reply would
 * never be read and the socket would linger until ws's 30 s close timeout.
 */
function closePaused(ws: WebSocket, code: number): void {
  ws.resume();
  ws.close(code);
}

export class MediaProtocolError extends Error {
  constructor(readonly reason: string) {
    super(`WebSocket media: ${reason}`);
  }
}

export interface MediaWsClientOptions extends StreamDefaults {
  /** `ws://<asterisk>:8088/media/<MEDIA_WEBSOCKET_CONNECTION_ID>` */
  url: string;
  log: Logger;
  pacer?: Pacer;
  timeoutMs?: number;
}

/**
 * Engine as client: connects to Asterisk's `/media/<connection_id>` (ExternalMedia with
 * connection_type=server). The connection id is the only credential, so the URL is never logged whole.
 */
export async function connectMediaWebSocket(options: MediaWsClientOptions): Promise<WsMediaStream> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const ws = new WebSocket(options.url, MEDIA_SUBPROTOCOL, { handshakeTimeout: timeoutMs, maxPayload: MAX_MESSAGE_BYTES });
  ws.on('error', () => {}); // reported through the promises below or the stream's own handler
  // Listen before 'open': Asterisk sends MEDIA_START right after the upgrade, often in the same read.
  const started = awaitMediaStart(ws, timeoutMs);
  started.catch(() => {});
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket media refused: HTTP ${res.statusCode}`)));
    });
    const info = await started;
    return new WsMediaStream(ws, info, {
      ...options,
      pacer: options.pacer ?? sharedPacer(),
      log: options.log.child({ transport: 'websocket' }),
    });
  } catch (err) {
    ws.terminate();
    throw err;
  }
}

export interface MediaWsServerOptions extends StreamDefaults {
  log: Logger;
  /** Bind address; default from MEDIA_WS_HOST via the bind policy (127.0.0.1). */
  host?: string;
  port: number;
  pacer?: Pacer;
  mediaStartTimeoutMs?: number;
  maxConnections?: number;
}

export interface MediaWsServerCounters {
  connections: number;
  active: number;
  rejected: ReasonCounts;
}

/**
 * Engine as server: Asterisk's chan_websocket in client mode (ExternalMedia connection_type=client with a
 * websocket_client.conf entry) connects here with subprotocol `media`. Connections are matched by the channel
 * id in MEDIA_START to a call that `expect()`ed it (ids are random UUIDs the engine chose); any other is refused.
 */
export class MediaWsServer {
  readonly counters: MediaWsServerCounters = { connections: 0, active: 0, rejected: {} };
  readonly host: string;
  private readonly options: MediaWsServerOptions;
  private readonly pacer: Pacer;
  private wss: WebSocketServer | null = null;
  private http: Server | null = null;
  private readonly expected = new Map<string, { resolve: (s: WsMediaStream) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly streams = new Set<WsMediaStream>();
  private readonly warnings: RateLimitedLog;

  constructor(options: MediaWsServerOptions) {
    this.options = options;
    this.host = options.host ?? resolveBindHost('media_ws', process.env, options.log);
    this.pacer = options.pacer ?? sharedPacer();
    this.warnings = new RateLimitedLog(options.log);
  }

  async listen(): Promise<{ host: string; port: number }> {
    // Our own HTTP server, for its timeouts; anything but an upgrade gets the answer ws would give.
    const http = createServer(UPGRADE_TIMEOUTS, (_req, res) => void res.writeHead(426, { 'content-type': 'text/plain' }).end('Upgrade Required'));
    http.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
      const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      const reason = timeout ? 'request_timeout' : 'malformed_request';
      countReason(this.counters.rejected, reason);
      this.warnings.warn(reason, { remote: socket.remoteAddress }, 'media websocket request refused');
      if (socket.writable) socket.end(`HTTP/1.1 ${timeout ? '408 Request Timeout' : '400 Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
    });
    this.http = http;
    const wss = new WebSocketServer({
      server: http,
      maxPayload: MAX_MESSAGE_BYTES,
      handleProtocols: (protocols) => (protocols.has(MEDIA_SUBPROTOCOL) ? MEDIA_SUBPROTOCOL : false),
      verifyClient: (_info: { req: IncomingMessage }, done: (ok: boolean, code?: number) => void) => {
        if (this.counters.active >= (this.options.maxConnections ?? 2000)) {
          countReason(this.counters.rejected, 'too_many_connections');
          done(false, 503);
        } else done(true);
      },
    });
    this.wss = wss;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.options.port, this.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    wss.on('error', (err) => this.options.log.error({ err }, 'media websocket listener error'));
    wss.on('connection', (ws) => void this.accept(ws));
    const port = this.port;
    this.options.log.info({ host: this.host, port }, 'media websocket listening');
    return { host: this.host, port };
  }

  get port(): number {
    const addr = this.wss?.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  /** Resolves with the stream once Asterisk connects for `channelId` (MEDIA_START's channel_id). */
  expect(channelId: string, timeoutMs = 10_000): Promise<WsMediaStream> {
    if (this.expected.has(channelId)) return Promise.reject(new Error(`channel ${channelId} is already expected`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.expected.delete(channelId);
        reject(new Error(`no WebSocket media connection for ${channelId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.expected.set(channelId, { resolve, reject, timer });
    });
  }

  async close(): Promise<void> {
    for (const e of this.expected.values()) {
      clearTimeout(e.timer);
      e.reject(new Error('media websocket server closed'));
    }
    this.expected.clear();
    for (const s of [...this.streams]) s.close('server closed');
    const wss = this.wss;
    if (!wss) return;
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    // ws leaves a server it was given open.
    const http = this.http;
    if (http) await new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
  }

  private async accept(ws: WebSocket): Promise<void> {
    this.counters.connections++;
    this.counters.active++;
    ws.on('error', (err) => this.warnings.warn('socket_error', { err: err.message }, 'media websocket error'));
    ws.once('close', () => this.counters.active--);
    let info: MediaStartInfo;
    try {
      info = await awaitMediaStart(ws, this.options.mediaStartTimeoutMs ?? 5000);
    } catch (err) {
      const reason = err instanceof MediaProtocolError ? err.reason : 'error';
      countReason(this.counters.rejected, reason);
      this.warnings.warn(reason, {}, 'media websocket connection refused');
      ws.terminate();
      return;
    }
    const expectation = this.expected.get(info.channelId);
    if (!expectation) {
      countReason(this.counters.rejected, 'unknown_channel');
      this.warnings.warn('unknown_channel', {}, 'media websocket for a channel nobody expects');
      closePaused(ws, 1008);
      return;
    }
    let stream: WsMediaStream;
    try {
      stream = new WsMediaStream(ws, info, {
        ...this.options,
        pacer: this.pacer,
        log: this.options.log.child({ callId: info.channelId, transport: 'websocket' }),
      });
    } catch (err) {
      countReason(this.counters.rejected, 'unsupported_format');
      this.warnings.warn('unsupported_format', { format: info.format }, (err as Error).message);
      closePaused(ws, 1003);
      return;
    }
    this.streams.add(stream);
    stream.once('close', () => this.streams.delete(stream));
    clearTimeout(expectation.timer);
    this.expected.delete(info.channelId);
    expectation.resolve(stream);
  }
}
