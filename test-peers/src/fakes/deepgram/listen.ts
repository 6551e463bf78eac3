// One Deepgram live transcription session (/v1/listen): audio in, scripted Results / SpeechStarted /
// UtteranceEnd / Metadata out, clocked by the audio received; KeepAlive, Finalize and CloseStream.
import { createHash, randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { listen } from '@deepgram/sdk';
import { bytesPerSample, decodeToPcm16, EnergyVad, parseWav, type Encoding } from '../audio.ts';
import { AudioTimeline } from '../audio-timeline.ts';
import { dropConnection } from '../fake-server.ts';
import type { StatusFault } from '../script.ts';

export interface ListenUtterance {
  /** Audio position (ms since the stream started) where the speech begins. */
  atMs: number;
  text: string;
  /** Default: 250 ms per word, at least 300 ms. */
  durationMs?: number;
  confidence?: number;
}

/** Mid-session failures, at an audio position. `close` uses Deepgram's close codes (e.g. 1011 `NET-0000`). */
export type ListenFault =
  | { kind: 'drop' | 'stall'; atMs: number }
  | { kind: 'close'; atMs: number; code: number; reason: string };

export interface ListenScript {
  reject?: StatusFault;
  utterances?: ListenUtterance[];
  /**
   * Transcribe what is heard: each stretch of speech found in the audio (an energy VAD) is recognised as the
   * next of these texts, at its real position, ending after `endpointing` ms of quiet.
   */
  heard?: string[];
  fault?: ListenFault;
}

export interface ListenRequest {
  query: Record<string, string>;
}

type ListenV1Results = listen.ListenV1Results;
type ListenMessage = ListenV1Results | listen.ListenV1Metadata | listen.ListenV1UtteranceEnd | listen.ListenV1SpeechStarted;

interface AudioFormat {
  encoding: Encoding;
  rate: number;
  channels: number;
}

const ENCODINGS = new Set<Encoding>(['linear16', 'mulaw', 'alaw']);

/** Validates the query like the real handshake does; returns an error message or the audio format. */
export function listenFormat(query: Record<string, string>): AudioFormat | undefined | string {
  const channels = Number(query.channels ?? '1');
  if (!Number.isInteger(channels) || channels < 1) return `Invalid channels: ${query.channels}`;
  if (query.encoding === undefined) return undefined;
  if (!ENCODINGS.has(query.encoding as Encoding)) return `encoding '${query.encoding}' is not supported by this fake; use linear16, mulaw or alaw.`;
  const rate = Number(query.sample_rate);
  if (!query.sample_rate || !Number.isInteger(rate) || rate <= 0) return 'sample_rate is required when encoding is set.';
  return { encoding: query.encoding as Encoding, rate, channels };
}

const MODEL_INFO = { name: '2-general-nova', version: '2024-01-26.8851', arch: 'nova-3' };

/** What a test sees of a live listen connection. */
export interface ListenSessionHandle {
  readonly query: Record<string, string>;
  /** Control messages (KeepAlive, Finalize, CloseStream, anything else) in arrival order. */
  readonly received: Array<{ type: string } & Record<string, unknown>>;
  readonly sent: ListenMessage[];
  audioBytes: number;
  /** The audio bytes as received, when the fake was started with `keepAudio`. */
  readonly audio: Buffer[];
  /** Audio received so far, in ms (per the stream's encoding and rate). */
  readonly audioMs: number;
  closed: boolean;
  send(message: ListenMessage): void;
  drop(): void;
  close(code: number, reason: string): void;
}

export class ListenSession {
  readonly handle: ListenSessionHandle;
  readonly #ws: WebSocket;
  readonly #query: Record<string, string>;
  readonly #timeline = new AudioTimeline();
  readonly #requestId = randomUUID();
  readonly #sha = createHash('sha256');
  readonly #idle: NodeJS.Timeout;
  #format: AudioFormat | undefined;
  #stalled = false;
  /** `heard` mode: texts still to recognise, the VAD, and the utterance in progress (its key in #open). */
  readonly #heard: string[];
  #vad: EnergyVad | undefined;
  #speech: { key: number; lastSpeechMs: number; interimSent: boolean } | undefined;
  #heardCount = 0;
  /** Utterances whose speech has started but whose final result is not sent yet, by index. */
  readonly #open = new Map<number, ListenUtterance>();

  readonly #keepAudio: boolean;

  constructor(ws: WebSocket, query: Record<string, string>, format: AudioFormat | undefined, script: ListenScript, idleTimeoutMs: number, keepAudio = false) {
    this.#ws = ws;
    this.#query = query;
    this.#format = format;
    const received: ListenSessionHandle['received'] = [];
    const sent: ListenMessage[] = [];
    const self = this;
    this.handle = {
      query,
      received,
      sent,
      audioBytes: 0,
      audio: [],
      get audioMs() {
        return self.#timeline.nowMs;
      },
      closed: false,
      send: (m) => this.#send(m),
      drop: () => dropConnection(ws),
      close: (code, reason) => this.#close(code, reason),
    };
    this.#keepAudio = keepAudio;
    this.#heard = [...(script.heard ?? [])];
    (script.utterances ?? []).forEach((u, i) => this.#schedule(u, i));
    if (script.fault) this.#scheduleFault(script.fault);
    // Deepgram closes a stream that sends nothing (neither audio nor KeepAlive) for ~10 s.
    this.#idle = setTimeout(() => this.#close(1011, 'NET-0001'), idleTimeoutMs);
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.on('close', () => {
      clearTimeout(this.#idle);
      this.handle.closed = true;
    });
    ws.on('error', () => undefined);
  }

  #flag(name: string): boolean {
    return this.#query[name] === 'true';
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    this.#idle.refresh();
    if (!isBinary) return this.#onControl(data.toString('utf8'));
    // An empty binary frame is the legacy way to close a stream.
    if (data.length === 0) return this.#closeStream();
    this.handle.audioBytes += data.length;
    if (this.#keepAudio) this.handle.audio.push(Buffer.from(data));
    this.#sha.update(data);
    let audio = data;
    if (!this.#format) {
      // No encoding in the query: the stream must carry its own header (WAV here), as Deepgram detects containers.
      try {
        const parsed = parseWav(data);
        this.#format = { encoding: parsed.encoding, rate: parsed.rate, channels: parsed.channels };
        audio = parsed.data;
      } catch {
        return this.#close(1008, 'DATA-0000');
      }
    }
    const f = this.#format;
    const bytesPerMs = (f.rate * bytesPerSample(f.encoding) * f.channels) / 1000;
    const startMs = this.#timeline.nowMs;
    this.#timeline.advance(startMs + audio.length / bytesPerMs);
    if (this.#heard.length > 0 || this.#speech) this.#listen(audio, f);
  }

  /** `heard` mode: speech found in the audio becomes the next scripted text, where it really is. */
  #listen(audio: Buffer, f: AudioFormat): void {
    this.#vad ??= new EnergyVad(f.rate);
    const pcm = f.encoding === 'linear16' ? audio : decodeToPcm16(audio, f.encoding);
    const endpointing = this.#query.endpointing === 'false' ? Infinity : Number(this.#query.endpointing ?? 10);
    this.#vad.feed(pcm, (endMs, isSpeech) => {
      const current = this.#speech;
      if (isSpeech && !current && this.#heard.length > 0) {
        const key = 1000 + this.#heardCount++;
        this.#open.set(key, { atMs: endMs - 20, text: this.#heard.shift()! });
        this.#speech = { key, lastSpeechMs: endMs, interimSent: false };
        if (this.#flag('vad_events')) this.#send({ type: 'SpeechStarted', channel: [0], timestamp: (endMs - 20) / 1000 });
        return;
      }
      if (!current) return;
      const u = this.#open.get(current.key);
      if (!u) {
        this.#speech = undefined; // flushed by a Finalize
        return;
      }
      if (isSpeech) current.lastSpeechMs = endMs;
      if (isSpeech && !current.interimSent && endMs - u.atMs >= 300 && this.#flag('interim_results')) {
        current.interimSent = true;
        this.#send(this.#results(u, 1, endMs, { isFinal: false, speechFinal: false }));
      }
      if (!isSpeech && endMs - current.lastSpeechMs >= endpointing) {
        this.#open.delete(current.key);
        this.#speech = undefined;
        const done = { ...u, durationMs: current.lastSpeechMs - u.atMs };
        this.#send(this.#results(done, done.text.split(/\s+/).filter(Boolean).length, current.lastSpeechMs, { isFinal: true, speechFinal: true }));
      }
    });
  }

  #onControl(text: string): void {
    let message: { type?: unknown } & Record<string, unknown>;
    try {
      message = JSON.parse(text) as typeof message;
      if (!message || typeof message !== 'object') throw new Error('not an object');
    } catch {
      this.handle.received.push({ type: '<invalid json>' });
      return;
    }
    this.handle.received.push({ ...message, type: String(message.type) });
    if (message.type === 'Finalize') this.#finalize();
    else if (message.type === 'CloseStream') this.#closeStream();
  }

  #send(message: ListenMessage): void {
    if (this.#stalled || this.#ws.readyState !== this.#ws.OPEN) return;
    this.handle.sent.push(message);
    this.#ws.send(JSON.stringify(message));
  }

  #close(code: number, reason: string): void {
    clearTimeout(this.#idle);
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.close(code, reason);
  }

  #results(u: ListenUtterance, wordCount: number, endMs: number, flags: { isFinal: boolean; speechFinal: boolean; fromFinalize?: boolean }): ListenV1Results {
    const words = u.text.split(/\s+/).filter(Boolean);
    const duration = u.durationMs ?? Math.max(300, words.length * 250);
    const per = duration / Math.max(1, words.length);
    const shown = words.slice(0, wordCount);
    const seconds = (ms: number): number => Math.round(ms) / 1000;
    return {
      type: 'Results',
      channel_index: [0, 1],
      duration: seconds(endMs - u.atMs),
      start: seconds(u.atMs),
      is_final: flags.isFinal,
      speech_final: flags.speechFinal,
      ...(flags.fromFinalize ? { from_finalize: true } : {}),
      channel: {
        alternatives: [
          {
            transcript: shown.join(' '),
            confidence: u.confidence ?? 0.99,
            words: shown.map((w, i) => ({
              word: w.toLowerCase().replace(/[^\p{L}\p{N}']/gu, ''),
              start: seconds(u.atMs + i * per),
              end: seconds(u.atMs + (i + 1) * per),
              confidence: u.confidence ?? 0.99,
              punctuated_word: w,
            })),
          },
        ],
      },
      metadata: { request_id: this.#requestId, model_info: MODEL_INFO, model_uuid: '1ed36bac-f71c-4f3f-a31f-02fd6525c489' },
    };
  }

  #schedule(u: ListenUtterance, index: number): void {
    const words = u.text.split(/\s+/).filter(Boolean);
    const duration = u.durationMs ?? Math.max(300, words.length * 250);
    const end = u.atMs + duration;
    const endpointing = this.#query.endpointing === 'false' ? undefined : Number(this.#query.endpointing ?? 10);
    this.#timeline.at(u.atMs, index, () => {
      this.#open.set(index, u);
      if (this.#flag('vad_events')) this.#send({ type: 'SpeechStarted', channel: [0], timestamp: u.atMs / 1000 });
    });
    if (this.#flag('interim_results')) {
      for (let k = 1; k < words.length; k++) {
        const at = u.atMs + (duration * k) / words.length;
        this.#timeline.at(at, index, () => this.#send(this.#results(u, k, at, { isFinal: false, speechFinal: false })));
      }
    }
    this.#timeline.at(end + (endpointing ?? 0), index, () => {
      this.#open.delete(index);
      this.#send(this.#results(u, words.length, end, { isFinal: true, speechFinal: endpointing !== undefined }));
    });
    const utteranceEndMs = Number(this.#query.utterance_end_ms);
    if (utteranceEndMs > 0) {
      // Not tagged with the utterance: a Finalize flushes the transcript but the silence still ends the utterance.
      this.#timeline.at(end + utteranceEndMs, -1, () => this.#send({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: end / 1000 }));
    }
  }

  #scheduleFault(fault: ListenFault): void {
    this.#timeline.at(fault.atMs, -2, () => {
      if (fault.kind === 'drop') dropConnection(this.#ws);
      else if (fault.kind === 'close') this.#close(fault.code, fault.reason);
      else this.#stalled = true;
    });
  }

  /** Flushes speech in progress as final results now; the rest of its schedule is dropped. */
  #flushOpen(fromFinalize: boolean): void {
    const now = this.#timeline.nowMs;
    for (const [index, u] of this.#open) {
      this.#timeline.cancel((tag) => tag === index);
      const words = u.text.split(/\s+/).filter(Boolean);
      this.#send(this.#results(u, words.length, now, { isFinal: true, speechFinal: false, fromFinalize }));
    }
    // With no speech pending a Finalize gets no answer: Deepgram documents the from_finalize result as not
    // guaranteed when it holds no significant audio.
    this.#open.clear();
  }

  #finalize(): void {
    this.#flushOpen(true);
  }

  #closeStream(): void {
    if (this.#stalled) return;
    this.#flushOpen(false);
    this.#timeline.clear();
    this.#send({
      type: 'Metadata',
      transaction_key: 'deprecated',
      request_id: this.#requestId,
      sha256: this.#sha.digest('hex'),
      created: new Date().toISOString(),
      duration: this.#timeline.nowMs / 1000,
      channels: this.#format?.channels ?? 1,
    });
    this.#close(1000, '');
  }
}
