import { EventEmitter } from 'node:events';
import { createServer, type BlockList, type Server, type Socket } from 'node:net';
import { resolveBindHost, type Logger } from '@ai-agent/common';
import type { WireFormat } from '../../audio/codec.ts';
import { sharedPacer, type Pacer } from '../../audio/pacer.ts';
import { countReason, type ReasonCounts } from '../counters.ts';
import { RateLimitedLog } from '../rate-limited-log.ts';
import { AudioSocketStream, checkAudioSocketFormat, type AudioSocketStreamOptions } from './audiosocket-stream.ts';
import { FrameParser, KIND_UUID, uuidFromBytes } from './audiosocket-frame.ts';

export interface AudioSocketServerOptions {
  log: Logger;
  /** Bind address; default from AUDIOSOCKET_HOST via the bind policy (127.0.0.1). */
  host?: string;
  port: number;
  pacer?: Pacer;
  /** Format of connections nobody announced with `expect()`. */
  defaultFormat?: WireFormat;
  /** A connection must send its UUID frame within this time. */
  uuidTimeoutMs?: number;
  maxConnections?: number;
  stream?: Partial<Pick<AudioSocketStreamOptions, 'resamplerQuality' | 'jitterMinDelayMs' | 'jitterMaxDelayMs' | 'maxQueueSeconds' | 'maxSendBacklogMs' | 'maxFramesPerTick'>>;
}

export interface AudioSocketServerCounters {
  connections: number;
  active: number;
  rejected: ReasonCounts;
}

interface Expectation {
  format: WireFormat;
  resolve: (stream: AudioSocketStream) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Where a dialplan connection goes instead of this process: a function that takes it over (the socket paused,
 * `rest` the bytes read after its UUID frame), or null to keep it here.
 */
export type ConnectionHandoff = (uuid: string) => ((socket: Socket, rest: Buffer) => void) | null;

export interface AudioSocketServerEvents {
  /**
   * A connection whose UUID nobody `expect()`ed (dialplan AudioSocket() straight to the engine), from a source
   * `acceptDialplanCalls` allows. Without that, such connections are refused as `unknown_uuid`.
   */
  call: [stream: AudioSocketStream];
}

/**
 * The AudioSocket TCP listener. Connections are matched to calls by the UUID Asterisk sends first;
 * `expect(uuid)` returns a promise of that call's stream. Framing errors close only their own connection.
 */
export class AudioSocketServer extends EventEmitter<AudioSocketServerEvents> {
  readonly counters: AudioSocketServerCounters = { connections: 0, active: 0, rejected: {} };
  private readonly options: AudioSocketServerOptions;
  private readonly pacer: Pacer;
  private readonly server: Server;
  private readonly expected = new Map<string, Expectation>();
  private readonly sockets = new Set<Socket>();
  private readonly streams = new Set<AudioSocketStream>();
  private readonly warnings: RateLimitedLog;
  /** Sources whose unannounced connections become calls; null: every unannounced connection is refused. */
  private dialplanSources: BlockList | null = null;
  private handoff: ConnectionHandoff | null = null;
  /** Detaches a connection's handlers (a handed-off connection is read by another process). */
  private readonly release = new WeakMap<Socket, () => void>();
  readonly host: string;

  constructor(options: AudioSocketServerOptions) {
    super();
    this.options = options;
    this.host = options.host ?? resolveBindHost('audiosocket', process.env, options.log);
    this.pacer = options.pacer ?? sharedPacer();
    this.warnings = new RateLimitedLog(options.log);
    if (options.defaultFormat) checkAudioSocketFormat(options.defaultFormat);
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => options.log.error({ err }, 'audiosocket listener error'));
  }

  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : this.options.port;
    this.options.log.info({ host: this.host, port }, 'audiosocket listening');
    return { host: this.host, port };
  }

  get port(): number {
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  /**
   * Resolves with the stream once Asterisk connects with `uuid`. Call it before creating the channel:
   * with ExternalMedia, Asterisk connects inside the HTTP request. Throws at once for ulaw/alaw.
   */
  expect(uuid: string, format: WireFormat = this.options.defaultFormat ?? 'slin', timeoutMs = 10_000): Promise<AudioSocketStream> {
    checkAudioSocketFormat(format);
    const key = uuid.toLowerCase();
    if (this.expected.has(key)) return Promise.reject(new Error(`AudioSocket UUID ${key} is already expected`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.expected.delete(key);
        reject(new Error(`no AudioSocket connection for ${key} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.expected.set(key, { format, resolve, reject, timer });
    });
  }

  /** From now on, connections with an unannounced UUID from `sources` are emitted as `call`s. */
  acceptDialplanCalls(sources: BlockList): void {
    this.dialplanSources = sources;
  }

  /** Dialplan connections (after the source check) are offered to `handoff` before they become calls here. */
  handOffDialplanCalls(handoff: ConnectionHandoff): void {
    this.handoff = handoff;
  }

  /**
   * A dialplan connection another engine process accepted, checked and read the UUID of: a `call` here, with
   * `rest` (what that process read after the UUID) as its first bytes.
   */
  adopt(socket: Socket, uuid: string, rest: Buffer): void {
    // Counted as a connection where it was accepted: the processes' counters add up to one.
    if (!this.track(socket, false)) return;
    const stream = this.createStream(socket, uuid);
    const parser = this.read(socket, stream);
    this.emit('call', stream);
    parser.push(rest);
    socket.resume();
  }

  async close(): Promise<void> {
    for (const e of this.expected.values()) {
      clearTimeout(e.timer);
      e.reject(new Error('AudioSocket server closed'));
    }
    this.expected.clear();
    for (const s of [...this.streams]) s.close('server closed');
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private refuse(socket: Socket, reason: string, fields: Record<string, unknown> = {}): void {
    countReason(this.counters.rejected, reason);
    this.warnings.warn(reason, fields, 'audiosocket connection closed');
    socket.destroy();
  }

  /** Holds a connection (counted if it was accepted here); false (and closed) past the connection limit. */
  private track(socket: Socket, acceptedHere = true): boolean {
    if (acceptedHere) this.counters.connections++;
    if (this.sockets.size >= (this.options.maxConnections ?? 2000)) {
      this.refuse(socket, 'too_many_connections');
      return false;
    }
    this.sockets.add(socket);
    this.counters.active = this.sockets.size;
    return true;
  }

  private accept(socket: Socket): void {
    if (this.track(socket)) this.read(socket, null);
  }

  /** Parses the connection's frames: its UUID first (unless `known` already has its stream), then the stream's. */
  private read(socket: Socket, known: AudioSocketStream | null): FrameParser {
    let stream = known;
    const uuidTimer = stream ? undefined : setTimeout(() => this.refuse(socket, 'uuid_timeout'), this.options.uuidTimeoutMs ?? 5000);
    const parser = new FrameParser({
      frame: (kind, payload) => {
        if (stream) {
          stream.handleFrame(kind, payload);
          return;
        }
        clearTimeout(uuidTimer);
        if (kind !== KIND_UUID || payload.length !== 16) {
          parser.stop();
          this.refuse(socket, 'uuid_not_first', { kind, bytes: payload.length });
          return;
        }
        stream = this.open(socket, uuidFromBytes(payload), parser);
        if (!stream) parser.stop();
      },
      invalid: (reason, kind, length) => {
        clearTimeout(uuidTimer);
        if (stream) {
          countReason(stream.counters.rejected, reason);
          stream.close(`protocol error: ${reason}`);
        }
        this.refuse(socket, reason, { kind, length });
      },
    });
    const onData = (chunk: Buffer): void => parser.push(chunk);
    const onError = (err: Error): void => this.warnings.warn('socket_error', { err: err.message }, 'audiosocket socket error');
    const onClose = (): void => {
      clearTimeout(uuidTimer);
      parser.stop();
      this.forget(socket);
      stream?.close('connection closed');
    };
    socket.on('data', onData).on('error', onError).on('close', onClose);
    // The error handler stays: the socket may still fail here before it has left.
    this.release.set(socket, () => socket.off('data', onData).off('close', onClose));
    return parser;
  }

  private forget(socket: Socket): void {
    this.sockets.delete(socket);
    this.counters.active = this.sockets.size;
  }

  private open(socket: Socket, uuid: string, parser: FrameParser): AudioSocketStream | null {
    const expectation = this.expected.get(uuid);
    if (!expectation) {
      const sources = this.dialplanSources;
      if (!sources) {
        this.refuse(socket, 'unknown_uuid');
        return null;
      }
      if (!isAllowed(sources, socket.remoteAddress)) {
        this.refuse(socket, 'source_not_allowed', { source: socket.remoteAddress });
        return null;
      }
      const takeOver = this.handoff?.(uuid);
      if (takeOver) {
        socket.pause();
        const rest = parser.takeRest();
        this.release.get(socket)?.();
        this.forget(socket);
        takeOver(socket, rest);
        return null;
      }
    }
    const stream = this.createStream(socket, uuid, expectation?.format);
    if (expectation) {
      clearTimeout(expectation.timer);
      this.expected.delete(uuid);
      expectation.resolve(stream);
    } else {
      this.emit('call', stream);
    }
    return stream;
  }

  /** A call's stream: in the format its announcer asked for, else the listener's default. */
  private createStream(socket: Socket, uuid: string, format: WireFormat = this.options.defaultFormat ?? 'slin'): AudioSocketStream {
    const stream = new AudioSocketStream(socket, uuid, {
      ...this.options.stream,
      id: uuid,
      format,
      pacer: this.pacer,
      log: this.options.log.child({ callId: uuid, transport: 'audiosocket' }),
    });
    this.streams.add(stream);
    stream.once('close', () => this.streams.delete(stream));
    return stream;
  }
}

/** An IPv4 peer on a dual-stack listener shows as ::ffff:a.b.c.d; it is checked as the IPv4 address. */
function isAllowed(sources: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return sources.check(mapped[1]!, 'ipv4');
  return sources.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
}
