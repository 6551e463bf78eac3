// A typed client for the local AI server, used by the engine's provider adapters. One WebSocket carries
// any number of recognition, synthesis and chat streams; every long operation takes an AbortSignal.
// Size: one class per stream kind over one socket, all speaking the same protocol; kept together so the
// protocol's client side can be read in one place.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import {
  audioFrame,
  type AudioEncoding,
  type Capabilities,
  type ChatMessage,
  type ClientMessage,
  type Expectation,
  type Grammar,
  type ServerMessage,
  type ToolSpec,
} from './protocol.ts';
import { AsyncQueue } from '@ai-agent/common/async-queue';

export interface ConnectOptions {
  /** Bearer token (LOCAL_WS_AUTH_TOKEN); needed when the server has one configured. */
  token?: string;
  signal?: AbortSignal;
  /**
   * Interval of the protocol's ping (0: none). A ping keeps the server from closing the connection as idle,
   * and a ping still unanswered at the next one means the server is gone without a close: the connection is
   * then closed. The default is a quarter of the server's default idle timeout.
   */
  keepAliveMs?: number;
  /** How long the hello after connecting, and a stream's ready after opening it, may take. */
  timeoutMs?: number;
}

const DEFAULT_KEEP_ALIVE_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * Largest message the server sends is an audio frame of 16 kB; anything far larger is a broken or hostile
 * server, and the connection is closed (1009) rather than buffered (the ws default is 100 MiB).
 */
const MAX_SERVER_MESSAGE_BYTES = 1024 * 1024;

export type ChatEvent =
  | { type: 'delta'; text: string }
  | { type: 'tool_call'; name: string; arguments: Record<string, unknown> }
  | { type: 'done'; reason: 'stop' | 'tool_call' | 'cancelled'; expect?: Expectation };

export interface SttStreamOptions {
  encoding: AudioEncoding;
  sampleRate: 8000 | 16000;
  grammar?: Grammar;
  partials?: boolean;
}

export interface SynthesisOptions {
  sampleRate: number;
  encoding: AudioEncoding;
  voice?: string;
}

export class LocalAiError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'LocalAiError';
  }
}

type Handler = (msg: ServerMessage | Buffer) => void;

interface SttStreamEvents {
  speech_start: [];
  partial: [text: string];
  final: [text: string, grammar: boolean];
  error: [err: LocalAiError];
  closed: [];
}

/** A recognition stream: write caller audio, listen for partial/final. */
export class SttStream extends EventEmitter<SttStreamEvents> {
  private finished = false;
  readonly closed: Promise<void>;

  constructor(
    private readonly client: LocalAiClient,
    readonly id: number,
  ) {
    super();
    this.closed = new Promise((resolve) => this.once('closed', resolve));
  }

  /** One chunk of audio in the stream's encoding (e.g. a 20 ms µ-law frame). */
  write(audio: Uint8Array): void {
    if (!this.finished) this.client.sendBinary(audioFrame(this.id, audio));
  }

  /** The next utterance is recognised against this grammar (null: open vocabulary again). */
  setGrammar(grammar: Grammar): void {
    if (!this.finished) this.client.send({ type: 'stt.grammar', id: this.id, grammar });
  }

  /** Flushes the last utterance as a final and resolves when the stream is closed. */
  async end(): Promise<void> {
    if (!this.finished) {
      this.finished = true;
      this.client.send({ type: 'stt.end', id: this.id });
    }
    await this.closed;
  }
}

export class LocalAiClient {
  private readonly handlers = new Map<number, Handler>();
  private nextId = 1;
  private closeError: LocalAiError | undefined;
  /** Nothing has come from the server since the last ping. */
  private unanswered = false;
  /** The socket holds this turn's writes (see sendBinary). */
  private corked = false;
  /** Resolves when the connection has closed, whoever closed it; every open stream has failed by then. */
  readonly closed: Promise<void>;

  private constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket | null,
    readonly capabilities: Capabilities,
    keepAliveMs: number,
    private readonly timeoutMs: number,
  ) {
    const keepAlive = keepAliveMs > 0 ? setInterval(() => this.ping(), keepAliveMs).unref() : undefined;
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
    ws.on('message', (data, isBinary) => {
      this.unanswered = false;
      if (isBinary) {
        const buf = data as Buffer;
        this.handlers.get(buf[0])?.(buf);
        return;
      }
      let msg: ServerMessage;
      try {
        msg = JSON.parse((data as Buffer).toString('utf8')) as ServerMessage;
      } catch {
        return;
      }
      if ('id' in msg && msg.id !== undefined) this.handlers.get(msg.id)?.(msg);
    });
    ws.on('close', (code) => {
      clearInterval(keepAlive);
      this.closeError = new LocalAiError('closed', `connection closed (${code})`);
      for (const handler of [...this.handlers.values()]) handler(Buffer.alloc(0));
    });
    ws.on('error', () => {});
  }

  private ping(): void {
    if (this.unanswered) {
      this.ws.terminate();
      return;
    }
    this.unanswered = true;
    this.send({ type: 'ping' });
  }

  static connect(url: string, options: ConnectOptions = {}): Promise<LocalAiClient> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const ws = new WebSocket(url, { headers, perMessageDeflate: false, maxPayload: MAX_SERVER_MESSAGE_BYTES, handshakeTimeout: timeoutMs });
      let socket: Socket | null = null;
      ws.once('upgrade', (res) => {
        socket = res.socket;
      });
      const onAbort = (): void => ws.terminate();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const noHello = setTimeout(() => {
        fail(new LocalAiError('timeout', `no hello from the server within ${timeoutMs} ms`));
        ws.terminate();
      }, timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(noHello);
        options.signal?.removeEventListener('abort', onAbort);
        reject(err);
      };
      ws.once('unexpected-response', (_req, res) => {
        fail(new LocalAiError('refused', `server refused the connection (HTTP ${res.statusCode})`));
        ws.terminate();
      });
      ws.once('error', fail);
      ws.once('close', () => fail(new LocalAiError('closed', 'connection closed before hello')));
      ws.once('message', (data) => {
        clearTimeout(noHello);
        options.signal?.removeEventListener('abort', onAbort);
        ws.removeAllListeners();
        let hello: ServerMessage | undefined;
        try {
          hello = JSON.parse(String(data)) as ServerMessage;
        } catch {
          // handled below
        }
        if (hello?.type !== 'hello') {
          ws.terminate();
          return reject(new LocalAiError('protocol', 'server did not say hello'));
        }
        resolve(new LocalAiClient(ws, socket, hello.capabilities, options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS, timeoutMs));
      });
    });
  }

  /** @internal used by streams */
  send(msg: ClientMessage): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /**
   * @internal used by streams. Audio written in one turn of the event loop (every call's 20 ms on a media
   * tick) leaves in one socket write instead of one system call per frame.
   */
  sendBinary(frame: Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.socket && !this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.ws.send(frame);
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket?.uncork();
  };

  private allocate(handler: Handler): number {
    if (this.closeError) throw this.closeError;
    for (let i = 0; i < 255; i++) {
      const id = ((this.nextId + i - 1) % 255) + 1;
      if (!this.handlers.has(id)) {
        this.nextId = (id % 255) + 1;
        this.handlers.set(id, handler);
        return id;
      }
    }
    throw new LocalAiError('too_many_streams', 'no free stream id on this connection');
  }

  private release(id: number): void {
    this.handlers.delete(id);
  }

  async openStt(options: SttStreamOptions): Promise<SttStream> {
    let stream!: SttStream;
    let ready!: (v: void) => void;
    let failed!: (e: Error) => void;
    const started = new Promise<void>((res, rej) => ((ready = res), (failed = rej)));
    const id = this.allocate((msg) => {
      if (Buffer.isBuffer(msg)) {
        // connection closed: results still owed (a final after end()) are lost
        if (msg.length === 0) {
          failed(this.closeError!);
          this.release(id);
          if (stream.listenerCount('error') > 0) stream.emit('error', this.closeError!);
          stream.emit('closed');
        }
        return;
      }
      switch (msg.type) {
        case 'stt.ready':
          ready();
          break;
        case 'stt.speech_start':
          stream.emit('speech_start');
          break;
        case 'stt.partial':
          stream.emit('partial', msg.text);
          break;
        case 'stt.final':
          stream.emit('final', msg.text, msg.grammar);
          break;
        case 'stt.closed':
          this.release(id);
          stream.emit('closed');
          break;
        case 'error': {
          const err = new LocalAiError(msg.code, msg.message);
          failed(err);
          if (stream.listenerCount('error') > 0) stream.emit('error', err);
          if (msg.code !== 'engine_error') {
            this.release(id);
            stream.emit('closed');
          }
          break;
        }
        default:
          break;
      }
    });
    stream = new SttStream(this, id);
    this.send({ type: 'stt.start', id, ...options });
    const timer = setTimeout(() => {
      failed(new LocalAiError('timeout', `recognition stream not ready within ${this.timeoutMs} ms`));
      // The id stays taken until the server confirms the end, so a late answer cannot reach a newer stream.
      this.handlers.set(id, (msg) => {
        const over = Buffer.isBuffer(msg) ? msg.length === 0 : msg.type === 'stt.closed' || (msg.type === 'error' && msg.code !== 'engine_error');
        if (over) this.release(id);
      });
      this.send({ type: 'stt.end', id });
    }, this.timeoutMs);
    try {
      await started;
    } finally {
      clearTimeout(timer);
    }
    return stream;
  }

  /**
   * Synthesizes text as it arrives: push() text deltas, end() after the last; audio comes out sentence by
   * sentence in the requested rate and encoding. Aborting stops synthesis at once.
   */
  openTts(options: SynthesisOptions, signal?: AbortSignal): {
    push(text: string): void;
    end(): void;
    audio: AsyncIterable<Uint8Array>;
  } {
    const audio = new AsyncQueue<Uint8Array>();
    const id = this.allocate((msg) => {
      if (Buffer.isBuffer(msg)) {
        if (msg.length === 0) {
          this.release(id);
          audio.end(this.closeError);
        } else {
          audio.push(msg.subarray(1));
        }
        return;
      }
      if (msg.type === 'tts.done') {
        this.release(id);
        audio.end();
      } else if (msg.type === 'error' && msg.code !== 'engine_error') {
        this.release(id);
        audio.end(new LocalAiError(msg.code, msg.message));
      }
    });
    const onAbort = (): void => {
      this.send({ type: 'tts.cancel', id });
      this.release(id);
      audio.end(signal!.reason);
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    this.send({ type: 'tts.start', id, encoding: options.encoding, sampleRate: options.sampleRate, ...(options.voice ? { voice: options.voice } : {}) });
    return {
      push: (text) => {
        if (!audio.done) this.send({ type: 'tts.text', id, text });
      },
      end: () => {
        if (!audio.done) this.send({ type: 'tts.end', id });
      },
      audio: (async function* () {
        try {
          yield* audio;
        } finally {
          signal?.removeEventListener('abort', onAbort);
        }
      })(),
    };
  }

  /** Synthesizes a whole text; yields audio chunks as each sentence is ready. */
  synthesize(text: string, options: SynthesisOptions, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    const tts = this.openTts(options, signal);
    tts.push(text);
    tts.end();
    return tts.audio;
  }

  /** Chat-style request: streams text deltas, tool calls, then done. */
  chat(messages: ChatMessage[], tools?: ToolSpec[], signal?: AbortSignal): AsyncIterable<ChatEvent> {
    const events = new AsyncQueue<ChatEvent>();
    const id = this.allocate((msg) => {
      if (Buffer.isBuffer(msg)) {
        this.release(id);
        events.end(this.closeError);
        return;
      }
      if (msg.type === 'chat.delta') events.push({ type: 'delta', text: msg.text });
      else if (msg.type === 'chat.tool_call') events.push({ type: 'tool_call', name: msg.name, arguments: msg.arguments });
      else if (msg.type === 'chat.done') {
        this.release(id);
        events.push({ type: 'done', reason: msg.reason, ...(msg.expect ? { expect: msg.expect } : {}) });
        events.end();
      } else if (msg.type === 'error') {
        this.release(id);
        events.end(new LocalAiError(msg.code, msg.message));
      }
    });
    const onAbort = (): void => {
      this.send({ type: 'chat.cancel', id });
      this.release(id);
      events.end(signal!.reason);
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    this.send({ type: 'chat', id, messages, ...(tools ? { tools } : {}) });
    return (async function* () {
      try {
        yield* events;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    })();
  }

  close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close(1000);
    return this.closed;
  }
}
