// One client connection: routes validated messages and binary audio frames to the streams it multiplexes
// (recognition, synthesis, chat), each addressed by a stream id 1..255 chosen by the client.
// Size: the protocol's server side for one socket; every message's handler shares the stream table, the send
// path and the connection's limits.
import type { WebSocket } from 'ws';
import { SentenceChunker, type Logger } from '@ai-agent/common';
import { AudioOutput } from './audio/output.ts';
import type { Engines } from './engines.ts';
import type { Counters } from './counters.ts';
import {
  PROTOCOL_VERSION,
  audioFrame,
  type ClientMessage,
  type ErrorCode,
  type ServerMessage,
} from './protocol.ts';
import { parseClientMessage } from './protocol-schema.ts';
import { AudioInput } from './stt/input.ts';
import { openByBandwidth } from './stt/bandwidth.ts';
import type { SttEvents, SttSession } from './stt/types.ts';
import type { SynthesisGate } from './tts/synthesis-gate.ts';

/** Largest binary frame sent to the client: 0.5 s of 16 kHz PCM, so one sentence never blocks the socket. */
const MAX_AUDIO_CHUNK = 16000;
/** Unsent bytes above which synthesis of this connection waits for the client to read (backpressure). */
const SEND_HIGH_WATER = 256 * 1024;

/** What a connection works within: its own bounds, and the server-wide ones it shares with the others. */
export interface ConnectionLimits {
  maxStreams: number;
  /**
   * Open connections that hold no recognition stream: the last free decoder is kept for them. When every open
   * connection already holds one (the engine spreading its calls over a few), there is nobody to keep it for.
   */
  connectionsWithoutStt: () => number;
  /** Server-wide bound on sentences in synthesis, shared by all connections. */
  ttsGate: SynthesisGate;
  /** Characters of text waiting for or in synthesis. */
  maxQueuedChars: number;
  /** Unsent bytes of a client that stopped reading, beyond which it is disconnected. */
  maxSendBuffer: number;
}

interface SttStream {
  kind: 'stt';
  input: AudioInput;
  session: SttSession;
}

interface TtsStream {
  kind: 'tts';
  splitter: SentenceChunker;
  output: AudioOutput;
  voice: string;
  abort: AbortController;
  work: Promise<void>;
}

interface ChatStream {
  kind: 'chat';
  abort: AbortController;
}

type Stream = SttStream | TtsStream | ChatStream;

/** Rejected messages logged per connection; later ones are only counted. */
const LOGGED_REJECTIONS = 20;

export class Connection {
  private readonly streams = new Map<number, Stream>();
  /** Characters of this connection's text waiting for or in synthesis. */
  private queuedChars = 0;
  private rejections = 0;
  lastActivity = performance.now();

  constructor(
    private readonly ws: WebSocket,
    private readonly engines: Engines,
    private readonly limits: ConnectionLimits,
    private readonly counters: Counters,
    private readonly log: Logger,
  ) {
    this.send({ type: 'hello', protocol: PROTOCOL_VERSION, capabilities: engines.capabilities });
    ws.on('message', (data, isBinary) => {
      this.lastActivity = performance.now();
      try {
        if (isBinary) this.onAudio(data as Buffer);
        else this.onText((data as Buffer).toString('utf8'));
      } catch (err) {
        // A bug in one handler must not take the server (and every other call) down.
        this.log.error({ err }, 'message handler failed');
      }
    });
    ws.on('close', () => this.closeAll());
    ws.on('error', (err) => this.log.warn({ err: err.message }, 'connection error'));
  }

  /** False when the client has stopped reading and is cut off: nothing more is queued for it. */
  private writable(): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount <= this.limits.maxSendBuffer) return true;
    this.counters.slowClients += 1;
    this.log.warn({ buffered: this.ws.bufferedAmount }, 'closing a connection that does not read what it asked for');
    this.ws.terminate();
    return false;
  }

  private send(msg: ServerMessage): void {
    if (this.writable()) this.ws.send(JSON.stringify(msg));
  }

  /** Sends audio; past the high-water mark, resolves only once the socket has taken it. */
  private sendAudio(frame: Buffer): Promise<void> | undefined {
    if (!this.writable()) return undefined;
    if (this.ws.bufferedAmount < SEND_HIGH_WATER) {
      this.ws.send(frame);
      return undefined;
    }
    return new Promise((resolve) => this.ws.send(frame, () => resolve()));
  }

  private fail(code: ErrorCode, message: string, id?: number): void {
    this.counters.rejected += 1;
    // A client flooding invalid messages must not flood the log: each is still answered and counted.
    this.rejections += 1;
    if (this.rejections <= LOGGED_REJECTIONS) this.log.warn({ code, id }, `rejected: ${message}`);
    if (this.rejections === LOGGED_REJECTIONS) this.log.warn('further rejections on this connection are counted, not logged');
    this.send({ type: 'error', ...(id !== undefined ? { id } : {}), code, message });
  }

  private onAudio(data: Buffer): void {
    const id = data[0];
    const stream = this.streams.get(id);
    if (!stream || stream.kind !== 'stt') return this.fail('unknown_stream', 'audio for a stream that is not an open recognition stream', id);
    const pcm = stream.input.convert(data.subarray(1));
    if (!pcm) return this.fail('bad_audio', 'audio length does not fit the stream encoding', id);
    stream.session.write(pcm);
  }

  private onText(text: string): void {
    const parsed = parseClientMessage(text);
    if (!parsed.ok) return this.fail(parsed.code, parsed.reason);
    const msg = parsed.message;
    if (msg.type === 'ping') return this.send({ type: 'pong' });
    const stream = this.streams.get(msg.id);
    switch (msg.type) {
      case 'stt.start':
      case 'tts.start':
      case 'chat':
        if (stream) return this.fail('stream_in_use', 'stream id is already in use', msg.id);
        if (this.streams.size >= this.limits.maxStreams) return this.fail('too_many_streams', 'too many open streams on this connection', msg.id);
        if (msg.type === 'stt.start') return this.startStt(msg);
        if (msg.type === 'tts.start') return this.startTts(msg);
        return this.startChat(msg);
      default:
        break;
    }
    const expected = msg.type.startsWith('stt.') ? 'stt' : msg.type.startsWith('tts.') ? 'tts' : 'chat';
    if (!stream || stream.kind !== expected) return this.fail('unknown_stream', `no open ${expected} stream with this id`, msg.id);
    if (stream.kind === 'stt') {
      if (msg.type === 'stt.grammar') stream.session.setGrammar(msg.grammar);
      else if (msg.type === 'stt.end') stream.session.end();
    } else if (stream.kind === 'tts') {
      if (msg.type === 'tts.text') this.ttsText(msg.id, stream, msg.text);
      else if (msg.type === 'tts.end') this.ttsEnd(msg.id, stream);
      else if (msg.type === 'tts.cancel') this.cancel(msg.id);
    } else if (msg.type === 'chat.cancel') {
      this.cancel(msg.id);
    }
  }

  /** This connection holds at least one recognition stream. */
  get holdsStt(): boolean {
    for (const s of this.streams.values()) if (s.kind === 'stt') return true;
    return false;
  }

  private startStt(msg: Extract<ClientMessage, { type: 'stt.start' }>): void {
    const engine = this.engines.stt;
    if (!engine) return this.fail('engine_unavailable', this.engines.sttUnavailable ?? 'no recognition engine', msg.id);
    const slots = this.engines.sttSlots;
    if (slots.active >= slots.max) return this.fail('busy', 'all recognition streams are in use', msg.id);
    // A connection that holds decoders may take the last free one only if no other connection is waiting
    // without any: one client cannot starve the others, and the engine's own connections do not starve each other.
    if (this.holdsStt && slots.active === slots.max - 1 && this.limits.connectionsWithoutStt() > 0) {
      return this.fail('busy', 'the last recognition stream is kept for another connection', msg.id);
    }
    slots.active += 1;
    const id = msg.id;
    const input = AudioInput.create(msg.encoding, msg.sampleRate);
    const options = { partials: msg.partials ?? true, grammar: msg.grammar };
    const events: SttEvents = {
      speechStart: () => this.send({ type: 'stt.speech_start', id }),
      partial: (text) => this.send({ type: 'stt.partial', id, text }),
      final: (text, grammar) => this.send({ type: 'stt.final', id, text, grammar }),
      error: (err) => {
        this.log.warn({ id, err: err.message }, 'recognition error');
        this.send({ type: 'error', id, code: 'engine_error', message: err.message });
      },
      closed: () => {
        if (this.streams.get(id)?.kind === 'stt') this.streams.delete(id);
        input.close();
        slots.active -= 1;
        this.send({ type: 'stt.closed', id });
      },
    };
    // 8 kHz is telephone audio by its rate; 16 kHz may still be telephone audio upsampled (Asterisk's slin16).
    const session = msg.sampleRate === 8000 ? engine.open({ ...options, narrowband: true }, events) : openByBandwidth(engine, options, events);
    this.streams.set(id, { kind: 'stt', input, session });
    this.send({ type: 'stt.ready', id });
  }

  private startTts(msg: Extract<ClientMessage, { type: 'tts.start' }>): void {
    const engine = this.engines.tts;
    if (!engine) return this.fail('engine_unavailable', this.engines.ttsUnavailable ?? 'no synthesis engine', msg.id);
    const voice = msg.voice ?? engine.defaultVoice;
    if (!engine.voices.includes(voice)) return this.fail('invalid_message', `unknown voice (available: ${engine.voices.join(', ')})`, msg.id);
    const stream: TtsStream = {
      kind: 'tts',
      // Whole sentences only: the engine already sends its first clause early where that helps.
      splitter: new SentenceChunker({ firstClauseMinWords: Infinity }),
      output: new AudioOutput(msg.encoding, msg.sampleRate),
      voice,
      abort: new AbortController(),
      work: Promise.resolve(),
    };
    this.streams.set(msg.id, stream);
    if (msg.text) this.ttsText(msg.id, stream, msg.text);
    if (msg.end) this.ttsEnd(msg.id, stream);
  }

  private ttsText(id: number, stream: TtsStream, text: string): void {
    for (const sentence of stream.splitter.push(text)) this.synthesize(id, stream, sentence);
  }

  private ttsEnd(id: number, stream: TtsStream): void {
    for (const rest of stream.splitter.flush()) this.synthesize(id, stream, rest);
    stream.work = stream.work.then(() => {
      if (stream.abort.signal.aborted) return;
      this.streams.delete(id);
      stream.output.close();
      this.send({ type: 'tts.done', id });
    });
  }

  /**
   * Sentences are synthesized in order, each as soon as the one before it has been sent and the server-wide
   * gate gives this connection its turn.
   */
  private synthesize(id: number, stream: TtsStream, sentence: string): void {
    if (this.queuedChars + sentence.length > this.limits.maxQueuedChars) {
      return this.fail('busy', 'too much text waiting for synthesis on this connection', id);
    }
    this.queuedChars += sentence.length;
    const engine = this.engines.tts!;
    const signal = stream.abort.signal;
    stream.work = stream.work.then(async () => {
      let release: (() => void) | undefined;
      try {
        if (signal.aborted) return;
        release = await this.limits.ttsGate.acquire(this, signal);
        const audio = await engine.synthesize(sentence, stream.voice, signal);
        release();
        if (signal.aborted) return;
        const bytes = stream.output.convert(audio);
        for (let at = 0; at < bytes.byteLength; at += MAX_AUDIO_CHUNK) {
          if (this.ws.readyState !== this.ws.OPEN) return;
          await this.sendAudio(audioFrame(id, bytes.subarray(at, at + MAX_AUDIO_CHUNK)));
        }
        const bytesPerSample = stream.output.encoding === 'mulaw' ? 1 : 2;
        this.send({ type: 'tts.sentence', id, text: sentence, samples: bytes.byteLength / bytesPerSample });
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn({ id, err: (err as Error).message }, 'synthesis failed');
        this.send({ type: 'error', id, code: 'engine_error', message: 'synthesis failed' });
      } finally {
        release?.();
        this.queuedChars -= sentence.length;
      }
    });
  }

  private startChat(msg: Extract<ClientMessage, { type: 'chat' }>): void {
    const id = msg.id;
    const abort = new AbortController();
    this.streams.set(id, { kind: 'chat', abort });
    void (async () => {
      try {
        for await (const ev of this.engines.responder.respond(msg.messages, msg.tools, abort.signal)) {
          if (abort.signal.aborted) break;
          if (ev.type === 'delta') {
            if (ev.text) this.send({ type: 'chat.delta', id, text: ev.text });
          } else if (ev.type === 'tool_call') {
            this.send({ type: 'chat.tool_call', id, name: ev.name, arguments: ev.arguments });
          } else {
            this.send({ type: 'chat.done', id, reason: ev.reason, ...(ev.expect ? { expect: ev.expect } : {}) });
          }
        }
      } catch (err) {
        if (!abort.signal.aborted) {
          this.log.warn({ id, err: (err as Error).message }, 'responder failed');
          this.send({ type: 'error', id, code: 'engine_error', message: 'responder failed' });
        }
      } finally {
        if (this.streams.get(id)?.kind === 'chat' && !abort.signal.aborted) this.streams.delete(id);
      }
    })();
  }

  /** Stops a synthesis or chat at once (barge-in) and confirms with its terminal message. */
  private cancel(id: number): void {
    const stream = this.streams.get(id);
    if (!stream || stream.kind === 'stt') return;
    stream.abort.abort();
    this.streams.delete(id);
    if (stream.kind === 'tts') {
      stream.output.close();
      this.send({ type: 'tts.done', id });
    } else {
      this.send({ type: 'chat.done', id, reason: 'cancelled' });
    }
  }

  private closeAll(): void {
    for (const [id, stream] of this.streams) {
      if (stream.kind === 'stt') {
        // abort() suppresses the closed event, so the slot is given back here.
        stream.session.abort();
        stream.input.close();
        this.engines.sttSlots.active -= 1;
      } else {
        stream.abort.abort();
        if (stream.kind === 'tts') stream.output.close();
      }
      this.streams.delete(id);
    }
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }
}
